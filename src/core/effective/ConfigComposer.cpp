#include "core/effective/ConfigComposer.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "core/config/SupervisorConfig.h"
#include "core/effective/YamlMerge.h"

namespace opampsup::effective {
namespace {

std::string quoted(const std::string& text) {
    YAML::Emitter out;
    out << YAML::DoubleQuoted << text;
    return out.c_str();
}

// YAML aliases can make a document refer to itself, or stand for billions of values. The
// merge and the reference substitution walk the document, and would not end: such a document
// is refused here, with the limits remote_config_restrictions applies to remote files.
constexpr int kMaxDepth = 100;
constexpr std::size_t kMaxValues = 1000000;

bool withinLimits(const YAML::Node& node, int depth, std::size_t& values) {
    if (depth > kMaxDepth || ++values > kMaxValues) {
        return false;
    }
    if (node.IsMap()) {
        for (const auto& entry : node) {
            if (!withinLimits(entry.first, depth + 1, values) ||
                !withinLimits(entry.second, depth + 1, values)) {
                return false;
            }
        }
    } else if (node.IsSequence()) {
        for (const auto& item : node) {
            if (!withinLimits(item, depth + 1, values)) {
                return false;
            }
        }
    }
    return true;
}

// Parses one piece of YAML; an empty document is an empty map.
std::optional<YAML::Node> parse(const std::string& text, std::string& error) {
    try {
        YAML::Node node = YAML::Load(text);
        if (!node.IsDefined() || node.IsNull()) {
            return YAML::Node(YAML::NodeType::Map);
        }
        if (!node.IsMap()) {
            error = "the top level is not a map";
            return std::nullopt;
        }
        std::size_t values = 0;
        if (!withinLimits(node, 0, values)) {
            error = "it nests deeper than " + std::to_string(kMaxDepth) +
                    " levels or expands to more than " + std::to_string(kMaxValues) +
                    " values (a YAML alias that refers to itself?)";
            return std::nullopt;
        }
        return node;
    } catch (const YAML::Exception& e) {
        error = "line " + std::to_string(e.mark.line + 1) + ", column " +
                std::to_string(e.mark.column + 1) + ": " + e.msg;
        return std::nullopt;
    }
}

std::optional<std::string> readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Remote files in name order, the unnamed ("") file last, as the Go supervisor merges them.
std::vector<std::pair<std::string, std::string>> remoteInOrder(
    const std::map<std::string, std::string>& files) {
    std::vector<std::pair<std::string, std::string>> ordered(files.begin(), files.end());
    std::stable_partition(ordered.begin(), ordered.end(),
                          [](const auto& file) { return !file.first.empty(); });
    return ordered;
}

// A remote config that lists resource attributes means exactly those: what the local side
// set is cleared first (as upstream does), keeping the schema URL and the detectors.
bool declaresResourceAttributes(const std::map<std::string, std::string>& files) {
    for (const auto& [name, body] : files) {
        try {
            YAML::Node node = YAML::Load(body);
            if (node.IsMap() && node["service"]["telemetry"]["resource"]["attributes"]) {
                return true;
            }
        } catch (const YAML::Exception&) {
            // reported when the file is merged
        }
    }
    return false;
}

void clearResourceAttributes(YAML::Node& config) {
    if (!config["service"].IsMap() || !config["service"]["telemetry"].IsMap()) {
        return;
    }
    YAML::Node old = config["service"]["telemetry"]["resource"];
    if (!old.IsMap()) {
        return;
    }
    YAML::Node kept(YAML::NodeType::Map);
    for (const char* key : {"schema_url", "detectors"}) {
        if (old[key]) {
            kept[key] = cloneNode(old[key]);
        }
    }
    if (kept.size() == 0) {
        config["service"]["telemetry"].remove("resource");
    } else {
        config["service"]["telemetry"]["resource"] = kept;
    }
}

// The map at `parent[key]`. Anything else there (a scalar, a list) is replaced by an empty
// map, as merging a map over it would: yaml-cpp throws when a scalar is subscripted.
YAML::Node mapAt(YAML::Node& parent, const char* key) {
    if (!parent[key].IsMap()) {
        parent[key] = YAML::Node(YAML::NodeType::Map);
    }
    return parent[key];
}

// A remote config may set resource attributes but must not change who the collector says
// it is: service.instance.id is put back, in whichever form the config uses (the
// `attributes` list, or the older inline map).
void assertInstanceId(YAML::Node& config, const std::string& uid) {
    YAML::Node service = mapAt(config, "service");
    YAML::Node telemetry = mapAt(service, "telemetry");
    YAML::Node resource = mapAt(telemetry, "resource");
    if (resource.IsMap() && !resource["attributes"].IsDefined() && resource.size() > 0) {
        resource["service.instance.id"] = uid;
        return;
    }
    YAML::Node attributes = resource["attributes"];
    if (!attributes.IsSequence()) {
        attributes = YAML::Node(YAML::NodeType::Sequence);
    }
    for (auto attribute : attributes) {
        if (attribute.IsMap() && attribute["name"].IsScalar() &&
            attribute["name"].Scalar() == "service.instance.id") {
            attribute["value"] = uid;
            config["service"]["telemetry"]["resource"]["attributes"] = attributes;
            return;
        }
    }
    YAML::Node entry(YAML::NodeType::Map);
    entry["name"] = "service.instance.id";
    entry["value"] = uid;
    attributes.push_back(entry);
    config["service"]["telemetry"]["resource"]["attributes"] = attributes;
}

}  // namespace

std::string opampExtensionYaml(const OpampExtensionSettings& s) {
    std::ostringstream out;
    out << "extensions:\n"
        << "  opamp:\n"
        << "    instance_uid: " << quoted(s.instanceUid) << "\n"
        << "    server:\n"
        << "      ws:\n"
        << "        endpoint: " << quoted(s.endpoint) << "\n"
        << "        tls:\n"
        << "          insecure: true\n";
    if (!s.authorization.empty()) {
        out << "        headers:\n"
            << "          Authorization: " << quoted(s.authorization) << "\n";
    }
    out << "    ppid: " << s.supervisorPid << "\n"
        << "    ppid_poll_interval: " << s.ppidPollInterval << "\n"
        << "    capabilities:\n"
        << "      reports_available_components: "
        << (s.reportsAvailableComponents ? "true" : "false") << "\n";
    if (s.includeResourceAttributes) {
        out << "    agent_description:\n"
            << "      include_resource_attributes: true\n";
    }
    out << "service:\n"
        << "  extensions: [opamp]\n"
        << "  telemetry:\n"
        << "    resource:\n"
        << "      attributes:\n"
        << "        - name: service.instance.id\n"
        << "          value: " << quoted(s.instanceUid) << "\n";
    return out.str();
}

std::string extraTelemetryYaml(const std::vector<std::pair<std::string, std::string>>& resource) {
    std::vector<std::pair<std::string, std::string>> sorted = resource;
    std::sort(sorted.begin(), sorted.end());
    std::ostringstream out;
    out << "service:\n"
        << "  telemetry:\n"
        << "    logs:\n"
        << "      encoding: json\n"
        << "      error_output_paths: [\"stderr\"]\n"
        << "      output_paths: [\"stdout\"]\n";
    if (!sorted.empty()) {
        out << "    resource:\n"
            << "      attributes:\n";
        for (const auto& [name, value] : sorted) {
            out << "        - name: " << quoted(name) << "\n"
                << "          value: " << quoted(value) << "\n";
        }
    }
    return out.str();
}

std::string nopPipelineYaml() {
    return "receivers:\n"
           "  nop: {}\n"
           "exporters:\n"
           "  nop: {}\n"
           "service:\n"
           "  pipelines:\n"
           "    traces/nop:\n"
           "      receivers: [nop]\n"
           "      exporters: [nop]\n";
}

std::vector<std::string> withSpecialEntries(std::vector<std::string> files) {
    auto has = [&](const char* token) {
        return std::find(files.begin(), files.end(), token) != files.end();
    };
    if (!has(config::kOwnTelemetryConfigToken)) {
        files.insert(files.begin(), config::kOwnTelemetryConfigToken);
    }
    if (!has(config::kOpampExtensionConfigToken)) {
        files.emplace_back(config::kOpampExtensionConfigToken);
    }
    if (!has(config::kRemoteConfigToken)) {
        files.emplace_back(config::kRemoteConfigToken);
    }
    return files;
}

ComposeResult composeEffectiveConfig(const ComposeInput& input) {
    ComposeResult result;
    YAML::Node merged(YAML::NodeType::Map);
    auto mergeText = [&](const std::string& text, const std::string& what) -> bool {
        std::string error;
        std::optional<YAML::Node> node = parse(text, error);
        if (!node) {
            result.error = what + " is not valid YAML: " + error;
            return false;
        }
        merged = mergeConfigs(merged, *node);
        return true;
    };

    bool remoteEmpty = !input.remoteConfig || input.remoteConfig->empty();
    if (input.acceptsRemoteConfig && remoteEmpty && input.needsNopPipeline) {
        mergeText(nopPipelineYaml(), "the nop pipeline");
    }
    for (const std::string& entry : withSpecialEntries(input.configFiles)) {
        if (entry == config::kOwnTelemetryConfigToken) {
            if (!input.ownTelemetryYaml.empty() &&
                !mergeText(input.ownTelemetryYaml, "the own telemetry section")) {
                return result;
            }
            if (!input.resourceAttributes.empty() &&
                !mergeText(extraTelemetryYaml(input.resourceAttributes),
                           "the extra telemetry section")) {
                return result;
            }
        } else if (entry == config::kOpampExtensionConfigToken) {
            if (!mergeText(input.opampExtensionYaml, "the opamp extension section")) {
                return result;
            }
        } else if (entry == config::kRemoteConfigToken) {
            if (!input.remoteConfig) {
                continue;
            }
            if (declaresResourceAttributes(*input.remoteConfig)) {
                clearResourceAttributes(merged);
            }
            for (const auto& [name, body] : remoteInOrder(*input.remoteConfig)) {
                std::string label =
                    name.empty() ? "the remote config" : "remote config file \"" + name + "\"";
                if (!mergeText(body, label)) {
                    return result;
                }
            }
            if (!remoteEmpty && !input.instanceUid.empty()) {
                assertInstanceId(merged, input.instanceUid);
            }
        } else {
            std::optional<std::string> text = readFile(entry);
            std::string error;
            std::optional<YAML::Node> node = text ? parse(*text, error) : std::nullopt;
            if (!text) {
                result.warnings.push_back("cannot read " + entry + "; it is left out");
            } else if (!node) {
                result.warnings.push_back(entry + " is not valid YAML (" + error +
                                          "); it is left out");
            } else {
                merged = mergeConfigs(merged, *node);
            }
        }
    }
    static const OtherConnections kNone;
    if (auto error =
            (input.otherConnections ? *input.otherConnections : kNone).substitute(merged)) {
        result.error = "an other connection reference at " + *error;
        return result;
    }
    YAML::Emitter out;
    out << merged;
    result.yaml.reserve(out.size() + 1);  // one copy of a config that may be megabytes
    result.yaml.append(out.c_str(), out.size());
    result.yaml.push_back('\n');
    return result;
}

}  // namespace opampsup::effective
