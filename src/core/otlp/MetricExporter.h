#pragma once

// Exports the supervisor's own metrics (telemetry::OwnMetrics) over OTLP/HTTP every
// interval of a periodic reader, as cumulative sums and gauges:
//
//   opampsupervisor.collector.healthy     gauge, 1 or 0
//   opampsupervisor.collector.restarts    sum: starts of the collector after the first
//   opampsupervisor.config.applies        sum by outcome (applied, failed)
//   opampsupervisor.opamp.connected       gauge, 1 or 0
//   opampsupervisor.opamp.reconnects      sum: connections after the first
//   opampsupervisor.opamp.messages        sum by direction (sent, received)
//   opampsupervisor.package.installs      sum by outcome (installed, failed)

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/otlp/ExportSettings.h"
#include "core/otlp/OtlpSender.h"
#include "core/telemetry/OwnMetrics.h"

namespace opampsup::otlp {

class MetricExporter {
  public:
    MetricExporter(std::unique_ptr<OtlpSender> sender, ResourceSettings resource,
                   std::shared_ptr<const telemetry::OwnMetrics> metrics,
                   std::chrono::milliseconds interval);
    ~MetricExporter();
    MetricExporter(const MetricExporter&) = delete;
    MetricExporter& operator=(const MetricExporter&) = delete;

    // Exports once more (the final values), then gives the sender `grace` to deliver.
    void shutdown(std::chrono::milliseconds grace);
    const OtlpSender& sender() const { return *sender_; }

    // The request for the current values; exposed for tests.
    std::string request() const;

  private:
    void run();

    std::unique_ptr<OtlpSender> sender_;
    ResourceSettings resource_;
    std::shared_ptr<const telemetry::OwnMetrics> metrics_;
    std::chrono::milliseconds interval_;
    std::chrono::system_clock::time_point started_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace opampsup::otlp
