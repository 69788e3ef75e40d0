#pragma once

// The collector's own telemetry as the server offers it (ConnectionSettingsOffers own_metrics,
// own_logs, own_traces), rendered into the `$OWN_TELEMETRY_CONFIG` section: an OTLP
// http/protobuf exporter per signal under service.telemetry, as the Go supervisor renders
// it, plus what it leaves out: the CA and client certificate, written to files the
// collector reads.

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "opamp.pb.h"

namespace opampsup::effective {

struct OwnTelemetrySignals {
    bool metrics = false;  // capabilities.reports_own_metrics
    bool logs = false;
    bool traces = false;
};

struct OwnTelemetrySection {
    std::string yaml;  // empty when no signal has an endpoint
    // PEM files the section refers to, by storage file name; the caller writes them.
    std::vector<std::pair<std::string, std::string>> files;
    // Offered settings the collector's config cannot express, for the log.
    std::vector<std::string> notes;
};

// `pathOf` turns a storage file name into the path the collector will read.
OwnTelemetrySection renderOwnTelemetry(
    const ::opamp::proto::ConnectionSettingsOffers& offers, const OwnTelemetrySignals& signals,
    const std::function<std::filesystem::path(std::string_view)>& pathOf);

// Folds the own-telemetry parts of a new offer into the ones kept: a signal the offer sets
// replaces the kept one; a signal it leaves out stays as it was. True when anything changed.
bool mergeOwnTelemetryOffer(::opamp::proto::ConnectionSettingsOffers& kept,
                            const ::opamp::proto::ConnectionSettingsOffers& offer);

}  // namespace opampsup::effective
