#pragma once

// The collector config decoded from the resolved YAML map: the components of each kind by
// ID, the service's extensions, pipelines and telemetry, and the typed settings of the
// components the stand-in implements. Decoding errors carry the collector's texts.

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "ComponentSettings.h"
#include "Components.h"

namespace opampsup::standin {

// A component ID: "type" or "type/name".
struct ComponentId {
    std::string type;
    std::string name;

    std::string str() const { return name.empty() ? type : type + "/" + name; }
};

// The component ID's rules; the error is the collector's text.
std::optional<std::string> parseComponentId(std::string_view text, ComponentId& out);

struct PipelineConfig {
    std::string id;      // "traces" or "traces/name"
    std::string signal;  // the part before "/"
    std::vector<std::string> receivers;
    std::vector<std::string> processors;
    std::vector<std::string> exporters;
};

struct TelemetryConfig {
    std::string logLevel = "info";
    std::string logEncoding = "console";
    std::vector<std::string> outputPaths{"stderr"};
    std::vector<std::string> errorOutputPaths{"stderr"};
    // service.telemetry.resource, as written; a null value removes a default attribute.
    std::vector<std::pair<std::string, std::optional<std::string>>> resource;
};

struct CollectorConfig {
    YAML::Node root;  // the resolved map, reported as the effective config
    // Component configs by kind (Kind's order) and ID string.
    std::array<std::map<std::string, YAML::Node>, 5> components;
    std::vector<std::string> serviceExtensions;
    std::map<std::string, PipelineConfig> pipelines;
    TelemetryConfig telemetry;

    std::map<std::string, StandinReceiverSettings> standinReceivers;
    std::map<std::string, FileExporterSettings> fileExporters;
    std::map<std::string, OpampExtensionSettings> opampExtensions;

    const std::map<std::string, YAML::Node>& of(Kind kind) const {
        return components[static_cast<std::size_t>(kind)];
    }
    // The type part of a configured ID ("file" for "file/a").
    static std::string typeOf(const std::string& id) { return id.substr(0, id.find('/')); }
};

// Throws ConfigError ("cannot unmarshal the configuration: ...").
CollectorConfig unmarshalConfig(const YAML::Node& root);

}  // namespace opampsup::standin
