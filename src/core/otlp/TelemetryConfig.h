#pragma once

// Reads the parts of the `telemetry` section that configure OTLP export of the supervisor's
// own telemetry, in the declarative configuration format (otelconf) the Go supervisor reads:
//
//   telemetry:
//     logs:
//       processors:
//         - batch:                       # or simple
//             schedule_delay: 1000       # ms
//             exporter:
//               otlp:
//                 protocol: http/protobuf
//                 endpoint: https://backend:4318    # "/v1/logs" is added to a bare origin
//                 headers: [{name: api-key, value: ...}]
//                 compression: gzip      # or none
//     resource:
//       attributes: [{name: deployment.environment, value: prod}]
//
// Only OTLP over HTTP with protobuf is exported; anything else is refused at start with the
// key that asks for it.

#include <chrono>
#include <string>
#include <vector>

#include "core/config/SupervisorConfig.h"
#include "core/opamp/Proxy.h"
#include "core/otlp/ExportSettings.h"
#include "core/otlp/OtlpSender.h"

namespace opampsup::otlp {

// A log record or span processor: batch (or simple: batches of one) with an otlp exporter.
struct ProcessorSettings {
    OtlpTarget target;
    BatchSettings batch;
};

// A periodic metric reader with an otlp exporter.
struct ReaderSettings {
    OtlpTarget target;
    std::chrono::milliseconds interval{std::chrono::seconds(60)};
};

// Each throws std::runtime_error naming the key (telemetry.logs.processors[0].batch...).
// A `level: none` (metrics, traces) means none at all.
std::vector<ProcessorSettings> readLogProcessors(const config::TelemetrySettings& telemetry,
                                                 const opamp::EnvLookup& env);
std::vector<ProcessorSettings> readSpanProcessors(const config::TelemetrySettings& telemetry,
                                                  const opamp::EnvLookup& env);
std::vector<ReaderSettings> readMetricReaders(const config::TelemetrySettings& telemetry,
                                              const opamp::EnvLookup& env);

// Throws std::runtime_error naming the key.
ResourceSettings readResource(const config::TelemetrySettings& telemetry);

// Reads all of the above, for `validate` and every other command that loads a config: a
// telemetry section this supervisor cannot export is refused before it runs as a service.
void checkTelemetry(const config::TelemetrySettings& telemetry, const opamp::EnvLookup& env);

}  // namespace opampsup::otlp
