#pragma once

// Settings every OTLP exporter of the supervisor's own telemetry shares.

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace opampsup::otlp {

// The otelconf batch processor's settings (a simple processor: batches of one, no delay).
struct BatchSettings {
    std::chrono::milliseconds scheduleDelay{1000};
    std::size_t maxQueueSize = 2048;
    std::size_t maxExportBatchSize = 512;
};

// telemetry.resource: the attributes every record carries; service.name defaults to
// opamp-supervisor.
struct ResourceSettings {
    std::vector<std::pair<std::string, std::string>> attributes;
    std::string schemaUrl;
    std::vector<std::string> ignored;  // keys read but not acted on, for the start-up log
};

}  // namespace opampsup::otlp
