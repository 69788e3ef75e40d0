#pragma once

// The supervisor's own telemetry over OTLP/HTTP, as the `telemetry` section asks: its log
// records (logs.processors), its metrics (metrics.readers) and its spans
// (traces.processors), each with the `telemetry.resource` attributes. Everything starts
// with the object and is flushed, within a bounded grace, when it goes.

#include <memory>
#include <vector>

#include "core/config/SupervisorConfig.h"
#include "core/otlp/LogExporter.h"
#include "core/otlp/MetricExporter.h"
#include "core/telemetry/Logger.h"
#include "core/telemetry/OwnMetrics.h"
#include "core/telemetry/Tracing.h"

namespace opampsup::otlp {

class OtlpTracer;

class OwnTelemetry {
  public:
    // Throws std::runtime_error naming the key of anything it cannot export.
    OwnTelemetry(const config::TelemetrySettings& settings, const telemetry::Logger& logger,
                 std::shared_ptr<const telemetry::OwnMetrics> metrics);
    ~OwnTelemetry();
    OwnTelemetry(const OwnTelemetry&) = delete;
    OwnTelemetry& operator=(const OwnTelemetry&) = delete;

    // Null when no span processor is configured.
    std::shared_ptr<telemetry::Tracer> tracer() const;

  private:
    telemetry::Logger logger_;
    std::unique_ptr<OwnLogExport> logs_;
    std::vector<std::unique_ptr<MetricExporter>> metricExporters_;
    std::shared_ptr<OtlpTracer> tracer_;
};

}  // namespace opampsup::otlp
