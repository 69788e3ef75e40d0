#pragma once

// The whole way from --config URIs to a checked config, as the collector's start (and its
// `validate` dry run) goes: resolve, decode, validate, build the pipeline graph. A failure
// carries the complete text the collector prints after "Error: ".

#include <stdexcept>
#include <string>
#include <vector>

#include "Cli.h"
#include "ConfigModel.h"
#include "FeatureGates.h"

namespace opampsup::standin {

class LoadError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct LoadedConfig {
    CollectorConfig config;
    std::vector<std::string> unsetEnvVars;  // referenced but not set: logged as warnings
};

enum class LoadMode {
    Run,     // validation errors read "invalid configuration: ..."
    DryRun,  // `validate` prints them bare
};

// Throws LoadError.
LoadedConfig loadConfig(const CliRequest& request, const FeatureGates& gates, LoadMode mode);

// The config as YAML with sorted keys, as the opamp extension reports it.
std::string effectiveConfigYaml(const CollectorConfig& config);

}  // namespace opampsup::standin
