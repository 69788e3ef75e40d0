#pragma once

// The `file` exporter at run time. Instead of OTLP JSON it writes one line per batch it
// receives, naming where the batch came from, so tests can prove data flows:
//   {"receiver":"standin","pipeline":"traces","seq":3}
// Like the real exporter it opens its file at start, truncating it unless `append` is set.

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "ComponentSettings.h"

namespace opampsup::standin {

class FileExporter {
  public:
    FileExporter(std::string id, FileExporterSettings settings);
    ~FileExporter();
    FileExporter(const FileExporter&) = delete;
    FileExporter& operator=(const FileExporter&) = delete;

    // The error when the file cannot be opened, in Go's words.
    std::optional<std::string> start();
    void write(const std::string& receiver, const std::string& pipeline, std::uint64_t seq);
    void shutdown();

  private:
    std::string id_;
    FileExporterSettings settings_;
    std::FILE* file_ = nullptr;
};

}  // namespace opampsup::standin
