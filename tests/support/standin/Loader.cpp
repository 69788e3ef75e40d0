#include "Loader.h"

#include <map>

#include "ConfigResolver.h"
#include "Validation.h"

namespace opampsup::standin {

namespace {

YAML::Node sortedCopy(const YAML::Node& node) {
    if (node.IsMap()) {
        std::map<std::string, YAML::Node> sorted;
        for (const auto& entry : node) {
            sorted.emplace(entry.first.Scalar(), entry.second);
        }
        YAML::Node out(YAML::NodeType::Map);
        for (const auto& [key, value] : sorted) {
            out[key] = sortedCopy(value);
        }
        return out;
    }
    if (node.IsSequence()) {
        YAML::Node out(YAML::NodeType::Sequence);
        for (const auto& item : node) {
            out.push_back(sortedCopy(item));
        }
        return out;
    }
    return YAML::Clone(node);
}

// The collector (v0.105 and later) marshals configopaque values as "[REDACTED]" in the
// effective config its opamp extension reports. In the stand-in's components those are
// the values of every `headers` map (the opamp extension's and the HTTP clients').
void redactOpaqueValues(YAML::Node node) {
    if (node.IsSequence()) {
        for (YAML::Node item : node) {
            redactOpaqueValues(item);
        }
        return;
    }
    if (!node.IsMap()) {
        return;
    }
    for (auto entry : node) {
        YAML::Node value = entry.second;
        if (entry.first.Scalar() == "headers" && value.IsMap()) {
            for (auto header : value) {
                header.second = "[REDACTED]";
            }
        } else {
            redactOpaqueValues(value);
        }
    }
}

}  // namespace

LoadedConfig loadConfig(const CliRequest& request, const FeatureGates& gates, LoadMode mode) {
    ResolvedConfig resolved;
    try {
        resolved = resolveConfig(request.configUris, request.sets);
    } catch (const ConfigError& e) {
        throw LoadError("failed to get config: cannot resolve the configuration: " +
                        std::string(e.what()));
    } catch (const YAML::Exception& e) {
        throw LoadError("failed to get config: cannot resolve the configuration: " +
                        std::string(e.what()));
    }
    LoadedConfig loaded;
    loaded.unsetEnvVars = resolved.warnings;
    try {
        loaded.config = unmarshalConfig(resolved.root);
    } catch (const ConfigError& e) {
        throw LoadError("failed to get config: " + std::string(e.what()));
    } catch (const YAML::Exception& e) {
        // A shape the decoder did not foresee: still a config error, not a crash.
        throw LoadError("failed to get config: cannot unmarshal the configuration: " +
                        std::string(e.what()));
    }
    std::vector<std::string> problems = validateConfig(loaded.config, gates);
    if (!problems.empty()) {
        std::string text = mode == LoadMode::Run ? "invalid configuration: " : "";
        for (std::size_t i = 0; i < problems.size(); ++i) {
            text += (i == 0 ? "" : "\n") + problems[i];
        }
        throw LoadError(text);
    }
    if (auto problem = checkPipelineGraph(loaded.config)) {
        throw LoadError(*problem);
    }
    return loaded;
}

std::string effectiveConfigYaml(const CollectorConfig& config) {
    YAML::Node copy = sortedCopy(config.root);
    redactOpaqueValues(copy);
    YAML::Emitter out;
    out.SetNullFormat(YAML::LowerNull);  // "null", as Go's YAML encoder writes it
    out << copy;
    return std::string(out.c_str()) + "\n";
}

}  // namespace opampsup::standin
