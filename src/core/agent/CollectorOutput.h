#pragma once

// Where the collector's stdout and stderr go. Either into <storage>/agent.log, truncated at
// each start and capped in size (a last line says when output is being dropped), or, with
// agent.passthrough_logs, into the supervisor's own log under the logger "collector"
// (stdout lines at info, stderr lines at error). Either way the last lines are kept in
// memory for crash reports (agent.collector_crash_log_snippet_kib) and for the
// "never connected" bootstrap error.
//
// Thread-safe: the process backend delivers lines from its reader threads.

#include <cstddef>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/telemetry/Logger.h"

namespace opampsup::agent {

class CollectorOutput {
  public:
    enum class Stream { Stdout, Stderr };

    struct Options {
        std::optional<std::filesystem::path> logFile;  // none: passthrough
        std::size_t maxFileBytes = 64U * 1024U * 1024U;
        std::size_t tailBytes = 16U * 1024U;  // kept for reports
    };

    CollectorOutput(Options options, telemetry::Logger collectorLogger);

    // A new run of the collector: the log file is truncated, the tail cleared. Throws
    // std::runtime_error naming the file when it cannot be opened.
    void restart();
    void line(Stream stream, std::string_view text);

    // The last `maxBytes` of output (whole lines), oldest first.
    std::string tail(std::size_t maxBytes) const;
    std::size_t droppedLines() const;

  private:
    Options options_;
    telemetry::Logger logger_;
    mutable std::mutex mutex_;
    std::ofstream file_;
    std::size_t written_ = 0;
    std::size_t dropped_ = 0;
    std::deque<std::string> tail_;
    std::size_t tailSize_ = 0;
};

}  // namespace opampsup::agent
