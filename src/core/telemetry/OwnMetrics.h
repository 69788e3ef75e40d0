#pragma once

// What the supervisor counts of its own work, for telemetry.metrics: written on the loop
// thread, read by the metric exporter's thread, hence atomics (each value stands alone; no
// snapshot needs two of them to agree).

#include <atomic>
#include <cstdint>

namespace opampsup::telemetry {

struct OwnMetrics {
    std::atomic<bool> collectorHealthy{false};
    std::atomic<std::uint64_t> collectorStarts{0};  // after the bootstrap
    std::atomic<std::uint64_t> configsApplied{0};
    std::atomic<std::uint64_t> configsFailed{0};
    std::atomic<bool> opampConnected{false};
    std::atomic<std::uint64_t> opampConnects{0};
    std::atomic<std::uint64_t> messagesSent{0};
    std::atomic<std::uint64_t> messagesReceived{0};
    std::atomic<std::uint64_t> packagesInstalled{0};
    std::atomic<std::uint64_t> packagesFailed{0};
};

}  // namespace opampsup::telemetry
