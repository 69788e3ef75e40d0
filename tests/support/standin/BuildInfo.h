#pragma once

// What the stand-in says about itself: the command name, a description and a version, as
// a collector distribution's BuildInfo.

#include <string>
#include <string_view>

namespace opampsup::standin {

inline constexpr std::string_view kCommand = "otelcol-standin";
inline constexpr std::string_view kDescription =
    "OpenTelemetry Collector stand-in for the opampsupervisor-cpp tests";
// The collector release whose behaviour the stand-in follows (its CLI, error texts and
// feature gates, service.AllowNoPipelines included). Component modules carry it too.
inline constexpr std::string_view kDefaultVersion = "0.130.0";
// Tests of upgrades need two binaries that report different versions: this environment
// variable overrides the version, as a different build would.
inline constexpr const char* kVersionEnv = "OTELCOL_STANDIN_VERSION";

std::string version();

}  // namespace opampsup::standin
