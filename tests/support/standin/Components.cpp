#include "Components.h"

#include <algorithm>
#include <map>

#include <openssl/evp.h>

#include "BuildInfo.h"

namespace opampsup::standin {

namespace pb = ::opamp::proto;

namespace {

constexpr std::string_view kCore = "go.opentelemetry.io/collector/";
constexpr std::string_view kContrib = "github.com/open-telemetry/opentelemetry-collector-contrib/";
constexpr std::string_view kUndefined = "Undefined";

std::string module(std::string_view repo, std::string_view path) {
    return std::string(repo) + std::string(path) + " v0.130.0";
}

// Stabilities for traces, metrics and logs; an empty one means unsupported.
ComponentType pipelineType(Kind kind, std::string type, std::string mod, std::string_view traces,
                           std::string_view metrics, std::string_view logs) {
    auto level = [](std::string_view s) { return std::string(s.empty() ? kUndefined : s); };
    // Sorted by key, as the collector's YAML output is.
    return {kind,
            std::move(type),
            std::move(mod),
            {{"logs", level(logs)}, {"metrics", level(metrics)}, {"traces", level(traces)}}};
}

// A connector that passes each signal on as the same signal (the forward connector).
ComponentType sameSignalConnector(std::string type, std::string mod, std::string_view level) {
    ComponentType t{Kind::Connector, std::move(type), std::move(mod), {}};
    for (std::string_view from : {"logs", "metrics", "traces"}) {
        for (std::string_view to : {"logs", "metrics", "traces"}) {
            t.stability.emplace_back(std::string(from) + "-to-" + std::string(to),
                                     std::string(from == to ? level : kUndefined));
        }
    }
    return t;
}

ComponentType extensionType(std::string type, std::string mod, std::string_view level) {
    return {Kind::Extension, std::move(type), std::move(mod), {{"extension", std::string(level)}}};
}

std::vector<ComponentType> buildCatalog() {
    using K = Kind;
    std::vector<ComponentType> c;
    c.push_back(pipelineType(K::Receiver, "otlp", module(kCore, "receiver/otlpreceiver"), "Stable",
                             "Stable", "Stable"));
    c.push_back(pipelineType(K::Receiver, "nop", module(kCore, "receiver/nopreceiver"), "Beta",
                             "Beta", "Beta"));
    c.push_back(pipelineType(K::Receiver, "filelog", module(kContrib, "receiver/filelogreceiver"),
                             "", "", "Beta"));
    c.push_back(pipelineType(K::Receiver, "hostmetrics",
                             module(kContrib, "receiver/hostmetricsreceiver"), "", "Beta", ""));
    c.push_back(pipelineType(K::Receiver, "prometheus",
                             module(kContrib, "receiver/prometheusreceiver"), "", "Beta", ""));
    // Ours: produces data and misbehaves on request (see Behaviours.h).
    c.push_back(pipelineType(K::Receiver, "standin",
                             "github.com/opampsupervisor-cpp/tests/support/standin v0.1.0",
                             "Development", "Development", "Development"));
    c.push_back(pipelineType(K::Processor, "batch", module(kCore, "processor/batchprocessor"),
                             "Beta", "Beta", "Beta"));
    c.push_back(pipelineType(K::Processor, "memory_limiter",
                             module(kCore, "processor/memorylimiterprocessor"), "Beta", "Beta",
                             "Beta"));
    c.push_back(pipelineType(K::Processor, "resource",
                             module(kContrib, "processor/resourceprocessor"), "Beta", "Beta",
                             "Beta"));
    c.push_back(pipelineType(K::Processor, "attributes",
                             module(kContrib, "processor/attributesprocessor"), "Beta", "Beta",
                             "Beta"));
    c.push_back(pipelineType(K::Processor, "filter", module(kContrib, "processor/filterprocessor"),
                             "Alpha", "Alpha", "Alpha"));
    c.push_back(pipelineType(K::Processor, "transform",
                             module(kContrib, "processor/transformprocessor"), "Beta", "Beta",
                             "Beta"));
    c.push_back(pipelineType(K::Exporter, "otlp", module(kCore, "exporter/otlpexporter"), "Stable",
                             "Stable", "Stable"));
    c.push_back(pipelineType(K::Exporter, "otlphttp", module(kCore, "exporter/otlphttpexporter"),
                             "Stable", "Stable", "Stable"));
    c.push_back(pipelineType(K::Exporter, "nop", module(kCore, "exporter/nopexporter"), "Beta",
                             "Beta", "Beta"));
    c.push_back(pipelineType(K::Exporter, "debug", module(kCore, "exporter/debugexporter"),
                             "Development", "Development", "Development"));
    c.push_back(pipelineType(K::Exporter, "file", module(kContrib, "exporter/fileexporter"),
                             "Alpha", "Alpha", "Alpha"));
    c.push_back(
        sameSignalConnector("forward", module(kCore, "connector/forwardconnector"), "Beta"));
    c.push_back(extensionType("opamp", module(kContrib, "extension/opampextension"), "Alpha"));
    c.push_back(
        extensionType("health_check", module(kContrib, "extension/healthcheckextension"), "Beta"));
    c.push_back(extensionType("pprof", module(kContrib, "extension/pprofextension"), "Beta"));
    c.push_back(extensionType("zpages", module(kCore, "extension/zpagesextension"), "Beta"));
    c.push_back(
        extensionType("file_storage", module(kContrib, "extension/storage/filestorage"), "Beta"));
    return c;
}

// The list of one kind, sorted by type, as the collector's factories maps are walked.
std::vector<const ComponentType*> sortedOfKind(Kind kind) {
    std::vector<const ComponentType*> out;
    for (const ComponentType& t : catalog()) {
        if (t.kind == kind) {
            out.push_back(&t);
        }
    }
    std::sort(out.begin(), out.end(),
              [](const ComponentType* a, const ComponentType* b) { return a->type < b->type; });
    return out;
}

std::string sha256(const std::string& data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<const char*>(digest), length);
}

}  // namespace

std::string_view kindName(Kind kind) {
    switch (kind) {
        case Kind::Receiver:
            return "receiver";
        case Kind::Processor:
            return "processor";
        case Kind::Exporter:
            return "exporter";
        case Kind::Connector:
            return "connector";
        case Kind::Extension:
            return "extension";
    }
    return "unknown";
}

std::string_view sectionName(Kind kind) {
    switch (kind) {
        case Kind::Receiver:
            return "receivers";
        case Kind::Processor:
            return "processors";
        case Kind::Exporter:
            return "exporters";
        case Kind::Connector:
            return "connectors";
        case Kind::Extension:
            return "extensions";
    }
    return "unknown";
}

std::string_view signalName(Signal signal) {
    switch (signal) {
        case Signal::Traces:
            return "traces";
        case Signal::Metrics:
            return "metrics";
        case Signal::Logs:
            return "logs";
    }
    return "unknown";
}

std::optional<Signal> parseSignal(std::string_view name) {
    for (Signal s : kAllSignals) {
        if (signalName(s) == name) {
            return s;
        }
    }
    return std::nullopt;
}

bool ComponentType::supports(Signal signal) const {
    for (const auto& [key, level] : stability) {
        if (key == signalName(signal)) {
            return level != kUndefined;
        }
    }
    return false;
}

bool ComponentType::connects(Signal from, Signal to) const {
    std::string key = std::string(signalName(from)) + "-to-" + std::string(signalName(to));
    for (const auto& [k, level] : stability) {
        if (k == key) {
            return level != kUndefined;
        }
    }
    return false;
}

const std::vector<ComponentType>& catalog() {
    static const std::vector<ComponentType> kCatalog = buildCatalog();
    return kCatalog;
}

const ComponentType* findType(Kind kind, std::string_view type) {
    for (const ComponentType& t : catalog()) {
        if (t.kind == kind && t.type == type) {
            return &t;
        }
    }
    return nullptr;
}

std::vector<std::string> typeNames(Kind kind) {
    std::vector<std::string> names;
    for (const ComponentType* t : sortedOfKind(kind)) {
        names.push_back(t->type);
    }
    return names;
}

std::string componentsYaml() {
    // The layout of yaml.v3's output (four-space indentation, sequences indented under their
    // key), which is what the collector prints.
    std::string out = "buildinfo:\n    command: " + std::string(kCommand) + "\n";
    out += "    description: " + std::string(kDescription) + "\n";
    out += "    version: " + version() + "\n";
    for (Kind kind :
         {Kind::Receiver, Kind::Processor, Kind::Exporter, Kind::Connector, Kind::Extension}) {
        out += std::string(sectionName(kind)) + ":\n";
        for (const ComponentType* t : sortedOfKind(kind)) {
            out += "    - name: " + t->type + "\n";
            out += "      module: " + t->module + "\n";
            out += "      stability:\n";
            for (const auto& [key, level] : t->stability) {
                out += "        " + key + ": " + level + "\n";
            }
        }
    }
    out += "providers:\n";
    for (std::string_view scheme : {"env", "file", "yaml"}) {
        out += "    - scheme: " + std::string(scheme) + "\n";
        out += "      module: go.opentelemetry.io/collector/confmap/provider/" +
               std::string(scheme) + "provider v1.36.0\n";
    }
    return out;
}

pb::AvailableComponents availableComponents() {
    pb::AvailableComponents result;
    // The opamp extension's hash: "<kind>:" then "<type>=<module>;" for each type, sorted,
    // kinds in this order.
    std::string text;
    for (Kind kind :
         {Kind::Receiver, Kind::Processor, Kind::Exporter, Kind::Extension, Kind::Connector}) {
        text += std::string(kindName(kind)) + ":";
        pb::ComponentDetails& group =
            (*result.mutable_components())[std::string(sectionName(kind))];
        for (const ComponentType* t : sortedOfKind(kind)) {
            text += t->type + "=" + t->module + ";";
            pb::KeyValue* kv = (*group.mutable_sub_component_map())[t->type].add_metadata();
            kv->set_key("code.namespace");
            kv->mutable_value()->set_string_value(t->module);
        }
    }
    result.set_hash(sha256(text));
    return result;
}

}  // namespace opampsup::standin
