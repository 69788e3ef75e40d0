#pragma once

// Builds the collector's effective config (<storage>/effective.yaml) the way the Go
// supervisor does: agent.config_files in order, where the special entries stand for the
// supervisor's own sections ($OWN_TELEMETRY_CONFIG, inserted first when not listed;
// $OPAMP_EXTENSION_CONFIG then $REMOTE_CONFIG, appended when not listed), merged with the
// collector's rules (YamlMerge.h).

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/effective/OtherConnections.h"

namespace opampsup::effective {

// The opamp extension the supervisor injects, so the collector connects back to it.
struct OpampExtensionSettings {
    std::string instanceUid;    // canonical text
    std::string endpoint;       // ws://127.0.0.1:<port>/v1/opamp
    std::string authorization;  // the Authorization header carrying the launch secret
    long supervisorPid = 0;
    std::string ppidPollInterval = "5s";
    bool reportsAvailableComponents = true;
    bool includeResourceAttributes = false;
};

std::string opampExtensionYaml(const OpampExtensionSettings& settings);

// A pipeline that does nothing, for collectors that refuse a config without pipelines
// (those without the service.AllowNoPipelines feature gate).
std::string nopPipelineYaml();

// What the Go supervisor adds after the own-telemetry section: JSON logs on stdout/stderr
// (so the supervisor can read them) and the agent description's attributes, sorted by
// name, as the collector's resource attributes.
std::string extraTelemetryYaml(const std::vector<std::pair<std::string, std::string>>& resource);

struct ComposeInput {
    std::vector<std::string> configFiles;  // agent.config_files, tokens included
    std::string ownTelemetryYaml;          // may be empty
    // The agent description's attributes for extraTelemetryYaml; without them (the
    // bootstrap run) no extra telemetry section is added.
    std::vector<std::pair<std::string, std::string>> resourceAttributes;
    std::string opampExtensionYaml;
    // Remote config files by name; nullopt when the server has sent none.
    std::optional<std::map<std::string, std::string>> remoteConfig;
    bool acceptsRemoteConfig = false;
    // Merge the nop pipeline first when there is no remote config to run.
    bool needsNopPipeline = true;
    std::string instanceUid;  // re-asserted as service.instance.id after the remote config
    // Resolves ${opamp:other_connections...} references in the merged config; without it a
    // reference is an error.
    const OtherConnections* otherConnections = nullptr;
};

struct ComposeResult {
    std::string yaml;
    // Local files that could not be read or parsed: skipped, as the Go supervisor does,
    // and reported so the caller logs them.
    std::vector<std::string> warnings;
    // The remote config, or a special section, did not parse: nothing was composed.
    std::optional<std::string> error;
};

ComposeResult composeEffectiveConfig(const ComposeInput& input);

// The file list with the special entries added where the Go supervisor adds them.
std::vector<std::string> withSpecialEntries(std::vector<std::string> configFiles);

}  // namespace opampsup::effective
