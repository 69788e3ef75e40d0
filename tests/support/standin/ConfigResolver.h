#pragma once

// Turns the --config URIs (and --set values) into one YAML map, as the collector's confmap
// resolver does: each source is read and parsed, "a::b" keys are nested, the maps are
// merged in order (a later map merges into an earlier one key by key; any other value,
// lists included, replaces), then ${env:NAME} references are expanded.

#include <stdexcept>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace opampsup::standin {

// A failure of config loading; what() is the collector's text below "failed to get config: ".
class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct ResolvedConfig {
    YAML::Node root;                    // a map
    std::vector<std::string> warnings;  // logged once the logger exists
};

// Throws ConfigError.
ResolvedConfig resolveConfig(const std::vector<std::string>& uris,
                             const std::vector<std::string>& sets);

// The merge alone (exposed for the tests of the merge rules): `over` wins.
YAML::Node mergeConfig(const YAML::Node& base, const YAML::Node& over);

// Go's name for the type a YAML value decodes to ("string", "[]interface {}", ...), which
// the collector's errors quote.
std::string goTypeName(const YAML::Node& node);

}  // namespace opampsup::standin
