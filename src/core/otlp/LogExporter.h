#pragma once

// Exports the supervisor's own log records over OTLP/HTTP, as telemetry.logs.processors ask
// (a batch or simple processor with an otlp exporter). Records are taken on the logging
// thread into a bounded buffer (what does not fit is dropped and counted) and batched by a
// thread of the exporter's own into ExportLogsServiceRequests for the sender.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/otlp/Batcher.h"
#include "core/otlp/ExportSettings.h"
#include "core/otlp/OtlpSender.h"
#include "core/telemetry/Logger.h"

namespace opampsup::otlp {

class LogExporter {
  public:
    LogExporter(std::unique_ptr<OtlpSender> sender, ResourceSettings resource, BatchSettings batch);
    ~LogExporter();
    LogExporter(const LogExporter&) = delete;
    LogExporter& operator=(const LogExporter&) = delete;

    // Any thread; never blocks on the network.
    void add(const telemetry::LogRecord& record);
    // Exports what is buffered, then gives the sender `grace` to deliver it.
    void shutdown(std::chrono::milliseconds grace);
    std::uint64_t droppedRecords() const;
    const OtlpSender& sender() const { return *sender_; }

  private:
    std::string request(std::vector<telemetry::LogRecord> records) const;

    std::unique_ptr<OtlpSender> sender_;
    ResourceSettings resource_;
    std::mutex shutdownMutex_;
    bool stopped_ = false;
    // Last: its thread uses the members above.
    Batcher<telemetry::LogRecord> batcher_;
};

// The supervisor's log records exported through every configured processor, for as long
// as this lives: a tap on the logger fans each record out to the exporters.
class OwnLogExport {
  public:
    OwnLogExport(const telemetry::Logger& logger,
                 std::vector<std::unique_ptr<LogExporter>> exporters);
    // Removes the tap, exports what is buffered and gives the backends a moment for it.
    ~OwnLogExport();
    OwnLogExport(const OwnLogExport&) = delete;
    OwnLogExport& operator=(const OwnLogExport&) = delete;

    // Records dropped by every exporter (full buffers).
    std::uint64_t droppedRecords() const;

  private:
    telemetry::Logger logger_;
    // Shared with the tap: a record being logged on another thread as the tap is removed
    // still finds the exporters.
    std::shared_ptr<std::vector<std::unique_ptr<LogExporter>>> exporters_;
};

}  // namespace opampsup::otlp
