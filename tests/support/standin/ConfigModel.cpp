#include "ConfigModel.h"

#include <regex>
#include <set>

#include "ConfigDecode.h"
#include "ConfigResolver.h"

namespace opampsup::standin {

namespace {

// The value of `key` in `map`; a null node when either is missing (yaml-cpp's operator[]
// on a const node returns an invalid node that throws when inspected).
YAML::Node at(const YAML::Node& map, const std::string& key) {
    if (!map.IsDefined() || !map.IsMap()) {
        return YAML::Node();
    }
    for (const auto& entry : map) {
        if (entry.first.Scalar() == key) {
            return entry.second;
        }
    }
    return YAML::Node();
}

std::string goQuote(const std::string& s) {
    return "\"" + s + "\"";
}

// Map entries sorted by key, so the first error of a section does not depend on the order
// the file lists them in (the collector walks a Go map, whose order is random anyway).
std::vector<std::pair<std::string, YAML::Node>> sortedEntries(const YAML::Node& map) {
    std::map<std::string, YAML::Node> sorted;
    for (const auto& entry : map) {
        sorted.emplace(entry.first.Scalar(), entry.second);
    }
    return {sorted.begin(), sorted.end()};
}

std::optional<std::vector<std::string>> stringList(const YAML::Node& node, const std::string& path,
                                                   std::vector<std::string>& errors) {
    if (!node.IsDefined() || node.IsNull()) {
        return std::vector<std::string>{};
    }
    if (!node.IsSequence()) {
        errors.push_back("'" + path + "' source data must be an array or slice, got " +
                         (node.IsMap() ? "map" : "string"));
        return std::nullopt;
    }
    std::vector<std::string> out;
    for (std::size_t i = 0; i < node.size(); ++i) {
        if (!node[i].IsScalar()) {
            errors.push_back("'" + path + "[" + std::to_string(i) + "]' expected type 'string', " +
                             "got unconvertible type '" + goTypeName(node[i]) + "'");
            return std::nullopt;
        }
        out.push_back(node[i].Scalar());
    }
    return out;
}

// Decodes the settings of the component types whose behaviour the stand-in implements.
void decodeTyped(Kind kind, const std::string& type, const std::string& id, const YAML::Node& node,
                 CollectorConfig& cfg) {
    if (kind == Kind::Receiver && type == "standin") {
        cfg.standinReceivers[id] = StandinReceiverSettings::decode(node);
    } else if (kind == Kind::Exporter && type == "file") {
        cfg.fileExporters[id] = FileExporterSettings::decode(node);
    } else if (kind == Kind::Extension && type == "opamp") {
        cfg.opampExtensions[id] = OpampExtensionSettings::decode(node);
    } else if (node.IsDefined() && !node.IsNull() && !node.IsMap()) {
        throw DecodeError("'' expected a map, got '" + goTypeName(node) + "'");
    }
}

void decodeSection(Kind kind, const YAML::Node& node, CollectorConfig& cfg,
                   std::vector<std::string>& errors) {
    const std::string section(sectionName(kind));
    if (!node.IsDefined() || node.IsNull()) {
        return;
    }
    if (!node.IsMap()) {
        errors.push_back("'" + section + "' expected a map, got '" + goTypeName(node) + "'");
        return;
    }
    auto& out = cfg.components[static_cast<std::size_t>(kind)];
    // The collector stops a section at its first bad component.
    for (const auto& [key, value] : sortedEntries(node)) {
        ComponentId id;
        if (auto problem = parseComponentId(key, id)) {
            errors.push_back("'" + section + "' " + *problem);
            return;
        }
        if (kind == Kind::Exporter && id.type == "logging") {
            errors.push_back("'" + section +
                             "' the logging exporter has been deprecated, use the debug exporter "
                             "instead");
            return;
        }
        if (findType(kind, id.type) == nullptr) {
            std::string valid;
            for (const std::string& name : typeNames(kind)) {
                valid += (valid.empty() ? "" : " ") + name;
            }
            errors.push_back("'" + section + "' unknown type: " + goQuote(id.type) +
                             " for id: " + goQuote(key) + " (valid values: [" + valid + "])");
            return;
        }
        try {
            decodeTyped(kind, id.type, key, value, cfg);
        } catch (const DecodeError& e) {
            errors.push_back("'" + section + "' error reading configuration for " + goQuote(key) +
                             ": " + e.what());
            return;
        }
        out[key] = value;
    }
}

void decodeTelemetry(const YAML::Node& node, TelemetryConfig& t, std::vector<std::string>& errors) {
    MapDecoder d(node, "service.telemetry", errors);
    MapDecoder logs = d.child("logs");
    if (auto level = logs.string("level")) {
        static const std::set<std::string> kLevels{"debug",  "info",  "warn", "error",
                                                   "dpanic", "panic", "fatal"};
        if (kLevels.count(*level) == 0) {
            errors.push_back("'service.telemetry.logs.level' unrecognized level: " +
                             goQuote(*level));
        } else {
            t.logLevel = *level;
        }
    }
    t.logEncoding = logs.string("encoding").value_or(t.logEncoding);
    for (auto [key, target] : {std::pair{"output_paths", &t.outputPaths},
                               std::pair{"error_output_paths", &t.errorOutputPaths}}) {
        logs.accept(key);
        if (YAML::Node paths = at(at(node, "logs"), key); !paths.IsNull()) {
            if (auto list =
                    stringList(paths, std::string("service.telemetry.logs.") + key, errors)) {
                *target = *list;
            }
        }
    }
    for (const char* accepted : {"development", "disable_caller", "disable_stacktrace", "sampling",
                                 "initial_fields", "processors"}) {
        logs.accept(accepted);
    }
    logs.finish();
    // Metrics and traces configure exporters the stand-in does not run.
    d.accept("metrics");
    d.accept("traces");
    d.accept("resource");
    d.finish();
    const YAML::Node resource = at(node, "resource");
    if (resource.IsNull()) {
        return;
    }
    if (!resource.IsMap()) {
        errors.push_back("'service.telemetry.resource' expected a map, got '" +
                         goTypeName(resource) + "'");
        return;
    }
    for (const auto& entry : resource) {
        const std::string key = entry.first.Scalar();
        // The declarative form: attributes: [{name: ..., value: ...}].
        if (key == "attributes" && entry.second.IsSequence()) {
            for (const auto& attr : entry.second) {
                if (YAML::Node name = at(attr, "name"); name.IsScalar()) {
                    YAML::Node value = at(attr, "value");
                    t.resource.emplace_back(name.Scalar(), value.IsScalar()
                                                               ? std::optional(value.Scalar())
                                                               : std::nullopt);
                }
            }
            continue;
        }
        if (entry.second.IsNull()) {
            t.resource.emplace_back(key, std::nullopt);
        } else if (entry.second.IsScalar()) {
            t.resource.emplace_back(key, entry.second.Scalar());
        }
    }
}

void decodePipelines(const YAML::Node& node, CollectorConfig& cfg,
                     std::vector<std::string>& errors) {
    if (!node.IsDefined() || node.IsNull()) {
        return;
    }
    if (!node.IsMap()) {
        errors.push_back("'service.pipelines' expected a map, got '" + goTypeName(node) + "'");
        return;
    }
    for (const auto& [key, value] : sortedEntries(node)) {
        ComponentId id;
        if (auto problem = parseComponentId(key, id)) {
            errors.push_back("'service.pipelines' " + *problem);
            continue;
        }
        const std::string path = "service.pipelines[" + key + "]";
        MapDecoder d(value, path, errors);
        PipelineConfig p;
        p.id = key;
        p.signal = id.type;
        for (auto [name, target] :
             {std::pair{"receivers", &p.receivers}, std::pair{"processors", &p.processors},
              std::pair{"exporters", &p.exporters}}) {
            d.accept(name);
            if (auto list = stringList(at(value, name), path + "." + name, errors)) {
                *target = *list;
            }
        }
        d.finish();
        cfg.pipelines[key] = p;
    }
}

void decodeService(const YAML::Node& node, CollectorConfig& cfg, std::vector<std::string>& errors) {
    MapDecoder d(node, "service", errors);
    d.accept("extensions");
    d.accept("pipelines");
    d.accept("telemetry");
    d.finish();
    if (auto list = stringList(at(node, "extensions"), "service.extensions", errors)) {
        cfg.serviceExtensions = *list;
    }
    decodePipelines(at(node, "pipelines"), cfg, errors);
    decodeTelemetry(at(node, "telemetry"), cfg.telemetry, errors);
}

}  // namespace

std::optional<std::string> parseComponentId(std::string_view text, ComponentId& out) {
    static const std::regex kType("[a-zA-Z][0-9a-zA-Z_]{0,62}");
    static const std::regex kName("[^\\s\\x00-\\x1f]{1,1024}");
    std::string s(text);
    const std::string where = "in " + goQuote(s) + " id: ";
    if (s.empty()) {
        return std::string("id must not be empty");
    }
    auto slash = s.find('/');
    out.type = s.substr(0, slash);
    out.name = slash == std::string::npos ? "" : s.substr(slash + 1);
    if (out.type.empty()) {
        return where + "the part before / should not be empty";
    }
    if (slash != std::string::npos && out.name.empty()) {
        return where + "the part after / should not be empty";
    }
    if (!std::regex_match(out.type, kType)) {
        return where + "invalid character(s) in type " + goQuote(out.type);
    }
    if (!out.name.empty() && !std::regex_match(out.name, kName)) {
        return where + "invalid character(s) in name " + goQuote(out.name);
    }
    return std::nullopt;
}

CollectorConfig unmarshalConfig(const YAML::Node& root) {
    std::vector<std::string> errors;
    CollectorConfig cfg;
    cfg.root = root;
    // The collector's Config struct, in its field order.
    for (Kind kind :
         {Kind::Receiver, Kind::Exporter, Kind::Processor, Kind::Connector, Kind::Extension}) {
        decodeSection(kind, at(root, std::string(sectionName(kind))), cfg, errors);
    }
    decodeService(at(root, "service"), cfg, errors);
    MapDecoder top(root, "", errors);
    for (Kind kind : kAllKinds) {
        top.accept(std::string(sectionName(kind)));
    }
    top.accept("service");
    top.finish();
    if (!errors.empty()) {
        std::string text =
            "cannot unmarshal the configuration: decoding failed due to the "
            "following error(s):\n";
        for (const std::string& e : errors) {
            text += "\n" + e;
        }
        throw ConfigError(text);
    }
    return cfg;
}

}  // namespace opampsup::standin
