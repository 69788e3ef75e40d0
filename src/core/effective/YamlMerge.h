#pragma once

// Merging collector configs the way the collector's confmap does when it is given several
// --config files: maps merge key by key, the later value wins, lists are replaced whole.
// Two exceptions, as in the Go supervisor: `service.extensions` lists are concatenated
// (earlier entries first) without duplicates, so the injected opamp extension survives a
// file that lists its own extensions; and `service.telemetry.resource.attributes` lists
// merge by attribute `name` (a later entry replaces an earlier one in place, new names
// are appended), so the supervisor's attributes and a file's attributes add up.

#include <yaml-cpp/yaml.h>

namespace opampsup::effective {

// Returns a new node; neither argument is modified.
YAML::Node mergeConfigs(const YAML::Node& base, const YAML::Node& overlay);

// A deep copy (yaml-cpp nodes otherwise share storage).
YAML::Node cloneNode(const YAML::Node& node);

}  // namespace opampsup::effective
