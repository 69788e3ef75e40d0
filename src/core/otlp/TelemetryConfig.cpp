#include "core/otlp/TelemetryConfig.h"

#include <stdexcept>

#include <Poco/URI.h>
#include <yaml-cpp/yaml.h>

namespace opampsup::otlp {

namespace {

[[noreturn]] void refuse(const std::string& key, const std::string& why) {
    throw std::runtime_error(key + ": " + why);
}

std::string scalar(const YAML::Node& node, const std::string& key) {
    if (!node.IsScalar()) {
        refuse(key, "expected a value");
    }
    return node.Scalar();
}

long long number(const YAML::Node& node, const std::string& key, long long min) {
    try {
        long long value = node.as<long long>();
        if (value < min) {
            refuse(key, "must be at least " + std::to_string(min));
        }
        return value;
    } catch (const YAML::Exception&) {
        refuse(key, "expected a whole number");
    }
}

// The one key of a map such as {batch: {...}} or {otlp: {...}}.
std::pair<std::string, YAML::Node> onlyEntry(const YAML::Node& node, const std::string& key) {
    if (!node.IsMap() || node.size() != 1 || !node.begin()->first.IsScalar()) {
        refuse(key, "expected a map with one key");
    }
    auto it = node.begin();
    return {it->first.Scalar(), it->second};
}

// "a=1,b=2" (headers_list, attributes_list).
std::vector<std::pair<std::string, std::string>> pairsList(const std::string& text,
                                                           const std::string& key) {
    std::vector<std::pair<std::string, std::string>> out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find(',', start);
        std::string item = text.substr(start, end == std::string::npos ? end : end - start);
        start = end == std::string::npos ? text.size() : end + 1;
        if (item.find_first_not_of(' ') == std::string::npos) {
            continue;
        }
        std::size_t equals = item.find('=');
        if (equals == std::string::npos) {
            refuse(key, "\"" + item + "\" is not name=value");
        }
        auto trim = [](std::string s) {
            s.erase(0, s.find_first_not_of(' '));
            s.erase(s.find_last_not_of(' ') + 1);
            return s;
        };
        out.emplace_back(trim(item.substr(0, equals)), trim(item.substr(equals + 1)));
    }
    return out;
}

// [{name: a, value: b}, ...]
std::vector<std::pair<std::string, std::string>> namedValues(const YAML::Node& node,
                                                             const std::string& key) {
    if (!node.IsSequence()) {
        refuse(key, "expected a list of {name, value}");
    }
    std::vector<std::pair<std::string, std::string>> out;
    for (std::size_t i = 0; i < node.size(); ++i) {
        const std::string at = key + "[" + std::to_string(i) + "]";
        if (!node[i].IsMap() || !node[i]["name"]) {
            refuse(at, "expected {name, value}");
        }
        out.emplace_back(scalar(node[i]["name"], at + ".name"),
                         node[i]["value"] ? scalar(node[i]["value"], at + ".value") : "");
    }
    return out;
}

OtlpTarget readOtlpExporter(const YAML::Node& node, const std::string& key,
                            const std::string& signalPath, const opamp::EnvLookup& env) {
    if (!node.IsMap()) {
        refuse(key, "expected a map");
    }
    OtlpTarget target;
    const std::string protocol =
        node["protocol"] ? scalar(node["protocol"], key + ".protocol") : "http/protobuf";
    if (protocol != "http/protobuf") {
        refuse(key + ".protocol", "\"" + protocol + "\" is not supported; use http/protobuf");
    }
    if (!node["endpoint"]) {
        refuse(key + ".endpoint", "is required");
    }
    std::string endpoint = scalar(node["endpoint"], key + ".endpoint");
    Poco::URI uri;
    try {
        uri = Poco::URI(endpoint);
    } catch (const std::exception& e) {
        refuse(key + ".endpoint", "\"" + endpoint + "\" is not a URL");
    }
    if ((uri.getScheme() != "http" && uri.getScheme() != "https") || uri.getHost().empty()) {
        refuse(key + ".endpoint", "\"" + endpoint + "\" is not an http:// or https:// URL");
    }
    if (uri.getPath().empty() || uri.getPath() == "/") {
        uri.setPath(signalPath);
    }
    target.url = uri.toString();
    if (node["headers"]) {
        for (auto& [name, value] : namedValues(node["headers"], key + ".headers")) {
            target.headers[name].push_back(value);
        }
    }
    if (node["headers_list"]) {
        for (auto& [name, value] : pairsList(scalar(node["headers_list"], key + ".headers_list"),
                                             key + ".headers_list")) {
            target.headers[name].push_back(value);
        }
    }
    if (node["compression"]) {
        const std::string compression = scalar(node["compression"], key + ".compression");
        if (compression != "gzip" && compression != "none") {
            refuse(key + ".compression", "\"" + compression + "\" is not gzip or none");
        }
        target.gzip = compression == "gzip";
    }
    if (node["timeout"]) {
        target.timeout = std::chrono::milliseconds(number(node["timeout"], key + ".timeout", 1));
    }
    auto file = [&](const char* name, std::string& out) {
        if (node[name]) {
            if (!target.tls) {
                target.tls = config::TlsClientSettings{};
            }
            out = scalar(node[name], key + "." + name);
        }
    };
    config::TlsClientSettings tls;
    file("certificate", tls.caFile);
    file("client_certificate", tls.certFile);
    file("client_key", tls.keyFile);
    if (target.tls) {
        target.tls = tls;
    }
    target.proxy = opamp::chooseProxy(target.url, std::nullopt, env);
    return target;
}

// A YAML list kept verbatim; empty when absent or null.
YAML::Node listAt(const std::string& yaml, const std::string& key) {
    YAML::Node list = yaml.empty() ? YAML::Node() : YAML::Load(yaml);
    if (list.IsNull()) {
        return YAML::Node(YAML::NodeType::Sequence);
    }
    if (!list.IsSequence()) {
        refuse(key, "expected a list");
    }
    return list;
}

// Log record and span processors share their shape: batch or simple, with one exporter.
std::vector<ProcessorSettings> readProcessors(const std::string& yaml, const std::string& base,
                                              const std::string& signalPath,
                                              const opamp::EnvLookup& env) {
    std::vector<ProcessorSettings> out;
    YAML::Node list = listAt(yaml, base);
    for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string at = base + "[" + std::to_string(i) + "]";
        auto [kind, processor] = onlyEntry(list[i], at);
        const std::string key = at + "." + kind;
        if (kind != "batch" && kind != "simple") {
            refuse(at, "\"" + kind + "\" is not a processor (batch or simple)");
        }
        if (!processor.IsMap() && !processor.IsNull()) {
            refuse(key, "expected a map");
        }
        ProcessorSettings settings;
        if (kind == "simple") {
            settings.batch.scheduleDelay = std::chrono::milliseconds(0);
            settings.batch.maxExportBatchSize = 1;
        } else {
            if (processor["schedule_delay"]) {
                settings.batch.scheduleDelay = std::chrono::milliseconds(
                    number(processor["schedule_delay"], key + ".schedule_delay", 0));
            }
            if (processor["max_queue_size"]) {
                settings.batch.maxQueueSize = static_cast<std::size_t>(
                    number(processor["max_queue_size"], key + ".max_queue_size", 1));
            }
            if (processor["max_export_batch_size"]) {
                settings.batch.maxExportBatchSize = static_cast<std::size_t>(
                    number(processor["max_export_batch_size"], key + ".max_export_batch_size", 1));
            }
        }
        if (!processor["exporter"]) {
            refuse(key + ".exporter", "is required");
        }
        auto [exporterKind, exporter] = onlyEntry(processor["exporter"], key + ".exporter");
        if (exporterKind != "otlp") {
            refuse(key + ".exporter",
                   "\"" + exporterKind + "\" is not supported; use otlp (over http/protobuf)");
        }
        settings.target = readOtlpExporter(exporter, key + ".exporter.otlp", signalPath, env);
        out.push_back(std::move(settings));
    }
    return out;
}

}  // namespace

std::vector<ProcessorSettings> readLogProcessors(const config::TelemetrySettings& telemetry,
                                                 const opamp::EnvLookup& env) {
    return readProcessors(telemetry.logs.processorsYaml, "telemetry.logs.processors", "/v1/logs",
                          env);
}

std::vector<ProcessorSettings> readSpanProcessors(const config::TelemetrySettings& telemetry,
                                                  const opamp::EnvLookup& env) {
    if (telemetry.traces.level == "none") {
        return {};
    }
    return readProcessors(telemetry.traces.processorsYaml, "telemetry.traces.processors",
                          "/v1/traces", env);
}

std::vector<ReaderSettings> readMetricReaders(const config::TelemetrySettings& telemetry,
                                              const opamp::EnvLookup& env) {
    std::vector<ReaderSettings> out;
    if (telemetry.metrics.level == "none") {
        return out;
    }
    const std::string base = "telemetry.metrics.readers";
    YAML::Node list = listAt(telemetry.metrics.readersYaml, base);
    for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string at = base + "[" + std::to_string(i) + "]";
        auto [kind, reader] = onlyEntry(list[i], at);
        const std::string key = at + "." + kind;
        if (kind != "periodic") {
            refuse(at, "\"" + kind +
                           "\" readers are not supported; use periodic (pushing over "
                           "OTLP)");
        }
        if (!reader.IsMap() && !reader.IsNull()) {
            refuse(key, "expected a map");
        }
        ReaderSettings settings;
        if (reader["interval"]) {
            settings.interval =
                std::chrono::milliseconds(number(reader["interval"], key + ".interval", 1));
        }
        if (!reader["exporter"]) {
            refuse(key + ".exporter", "is required");
        }
        auto [exporterKind, exporter] = onlyEntry(reader["exporter"], key + ".exporter");
        if (exporterKind != "otlp") {
            refuse(key + ".exporter",
                   "\"" + exporterKind + "\" is not supported; use otlp (over http/protobuf)");
        }
        settings.target = readOtlpExporter(exporter, key + ".exporter.otlp", "/v1/metrics", env);
        out.push_back(std::move(settings));
    }
    return out;
}

ResourceSettings readResource(const config::TelemetrySettings& telemetry) {
    ResourceSettings out;
    const std::string base = "telemetry.resource";
    YAML::Node resource =
        telemetry.resourceYaml.empty() ? YAML::Node() : YAML::Load(telemetry.resourceYaml);
    auto set = [&out](const std::string& name, const std::string& value) {
        for (auto& [k, v] : out.attributes) {
            if (k == name) {
                v = value;
                return;
            }
        }
        out.attributes.emplace_back(name, value);
    };
    if (resource.IsMap()) {
        for (const auto& entry : resource) {
            const std::string name = entry.first.as<std::string>();
            if (name == "attributes") {
                for (auto& [k, v] : namedValues(entry.second, base + ".attributes")) {
                    set(k, v);
                }
            } else if (name == "attributes_list") {
                for (auto& [k, v] : pairsList(scalar(entry.second, base + ".attributes_list"),
                                              base + ".attributes_list")) {
                    set(k, v);
                }
            } else if (name == "schema_url") {
                out.schemaUrl = scalar(entry.second, base + ".schema_url");
            } else if (name == "detection/development" || name == "detectors") {
                // Resource detection is not done here: the supervisor's own attributes only.
                out.ignored.push_back(base + "." + name);
            } else if (entry.second.IsScalar()) {
                set(name, entry.second.Scalar());  // the legacy inline form: key: value
            } else if (!entry.second.IsNull()) {
                refuse(base + "." + name, "expected a value");
            }
        }
    } else if (!resource.IsNull()) {
        refuse(base, "expected a map");
    }
    bool named = false;
    for (const auto& [k, v] : out.attributes) {
        named = named || k == "service.name";
    }
    if (!named) {
        out.attributes.insert(out.attributes.begin(), {"service.name", "opamp-supervisor"});
    }
    return out;
}

void checkTelemetry(const config::TelemetrySettings& telemetry, const opamp::EnvLookup& env) {
    readLogProcessors(telemetry, env);
    readMetricReaders(telemetry, env);
    readSpanProcessors(telemetry, env);
    readResource(telemetry);
}

}  // namespace opampsup::otlp
