#pragma once

// Merging collector configs the way the collector's confmap does when it is given several
// --config files: maps merge key by key, the later value wins, lists are replaced whole.
// One exception, as in the Go supervisor: `service.extensions` lists are concatenated
// (earlier entries first) without duplicates, so the injected opamp extension survives a
// file that lists its own extensions.

#include <yaml-cpp/yaml.h>

namespace opampsup::effective {

// Returns a new node; neither argument is modified.
YAML::Node mergeConfigs(const YAML::Node& base, const YAML::Node& overlay);

// A deep copy (yaml-cpp nodes otherwise share storage).
YAML::Node cloneNode(const YAML::Node& node);

}  // namespace opampsup::effective
