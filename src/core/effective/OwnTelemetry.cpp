#include "core/effective/OwnTelemetry.h"

#include <google/protobuf/util/message_differencer.h>
#include <yaml-cpp/yaml.h>

namespace opampsup::effective {
namespace pb = ::opamp::proto;

namespace {

// One OTLP exporter in the collector's declarative telemetry config (otelconf): headers
// are a list of name/value pairs, TLS material is given as file paths.
YAML::Node otlpExporter(const pb::TelemetryConnectionSettings& s, const std::string& signal,
                        const std::function<std::filesystem::path(std::string_view)>& pathOf,
                        OwnTelemetrySection& out) {
    YAML::Node otlp(YAML::NodeType::Map);
    otlp["protocol"] = "http/protobuf";
    otlp["endpoint"] = s.destination_endpoint();
    if (s.headers().headers_size() > 0) {
        YAML::Node headers(YAML::NodeType::Sequence);
        for (const pb::Header& h : s.headers().headers()) {
            YAML::Node pair(YAML::NodeType::Map);
            pair["name"] = h.key();
            pair["value"] = h.value();
            headers.push_back(pair);
        }
        otlp["headers"] = headers;
    }
    auto file = [&](const std::string& kind, const std::string& pem) {
        std::string name = "own_telemetry_" + signal + "_" + kind + ".pem";
        out.files.emplace_back(name, pem);
        return pathOf(name).string();
    };
    // Not certificate.ca_cert: that CA signed the client certificate and is not the
    // destination's.
    const std::string& ca = s.tls().ca_pem_contents();
    if (!ca.empty()) {
        otlp["certificate"] = file("ca", ca);
    }
    if (!s.certificate().cert().empty() && !s.certificate().private_key().empty()) {
        otlp["client_certificate"] = file("cert", s.certificate().cert());
        otlp["client_key"] = file("key", s.certificate().private_key());
    } else if (!s.certificate().cert().empty() || !s.certificate().private_key().empty()) {
        out.notes.push_back("own_" + signal +
                            ": a client certificate needs both cert and private_key; ignored");
    }
    if (s.tls().insecure_skip_verify() || !s.tls().min_version().empty() ||
        !s.tls().max_version().empty() || s.tls().cipher_suites_size() > 0) {
        out.notes.push_back(
            "own_" + signal +
            ": the collector's telemetry exporter has no setting for "
            "insecure_skip_verify, TLS versions or cipher suites; they are ignored");
    }
    if (!s.proxy().url().empty()) {
        out.notes.push_back("own_" + signal +
                            ": the collector's telemetry exporter takes its proxy from "
                            "HTTPS_PROXY (agent.env), not from the offer; ignored");
    }
    return otlp;
}

// A one-element list: [{<wrapper>: {exporter: {otlp: ...}}}], the shape of both metric
// readers ("periodic") and log and span processors ("batch").
YAML::Node oneExporterList(const char* wrapper, YAML::Node exporter) {
    YAML::Node item(YAML::NodeType::Map);
    item[wrapper]["exporter"]["otlp"] = exporter;
    YAML::Node list(YAML::NodeType::Sequence);
    list.push_back(item);
    return list;
}

bool sameMessage(const google::protobuf::Message& a, const google::protobuf::Message& b) {
    return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

}  // namespace

OwnTelemetrySection renderOwnTelemetry(
    const pb::ConnectionSettingsOffers& offers, const OwnTelemetrySignals& signals,
    const std::function<std::filesystem::path(std::string_view)>& pathOf) {
    OwnTelemetrySection out;
    YAML::Node telemetry(YAML::NodeType::Map);
    // An empty endpoint means: no telemetry of that kind (the section is left out).
    if (signals.metrics && offers.has_own_metrics() &&
        !offers.own_metrics().destination_endpoint().empty()) {
        telemetry["metrics"]["readers"] =
            oneExporterList("periodic", otlpExporter(offers.own_metrics(), "metrics", pathOf, out));
    }
    if (signals.logs && offers.has_own_logs() &&
        !offers.own_logs().destination_endpoint().empty()) {
        telemetry["logs"]["processors"] =
            oneExporterList("batch", otlpExporter(offers.own_logs(), "logs", pathOf, out));
    }
    if (signals.traces && offers.has_own_traces() &&
        !offers.own_traces().destination_endpoint().empty()) {
        telemetry["traces"]["processors"] =
            oneExporterList("batch", otlpExporter(offers.own_traces(), "traces", pathOf, out));
    }
    if (telemetry.size() == 0) {
        return out;
    }
    YAML::Node root(YAML::NodeType::Map);
    root["service"]["telemetry"] = telemetry;
    YAML::Emitter emitter;
    emitter << root;
    out.yaml = std::string(emitter.c_str()) + "\n";
    return out;
}

bool mergeOwnTelemetryOffer(pb::ConnectionSettingsOffers& kept,
                            const pb::ConnectionSettingsOffers& offer) {
    bool changed = false;
    auto take = [&](bool offered, const pb::TelemetryConnectionSettings& from, bool had,
                    const std::function<pb::TelemetryConnectionSettings*()>& to) {
        if (offered && (!had || !sameMessage(from, *to()))) {
            *to() = from;
            changed = true;
        }
    };
    take(offer.has_own_metrics(), offer.own_metrics(), kept.has_own_metrics(),
         [&] { return kept.mutable_own_metrics(); });
    take(offer.has_own_logs(), offer.own_logs(), kept.has_own_logs(),
         [&] { return kept.mutable_own_logs(); });
    take(offer.has_own_traces(), offer.own_traces(), kept.has_own_traces(),
         [&] { return kept.mutable_own_traces(); });
    return changed;
}

}  // namespace opampsup::effective
