#pragma once

// The collector's checks of a decoded config, with its texts: the config's own Validate()
// (references between sections), each component's Validate(), the service's pipeline
// rules, and the pipeline graph build (signals a component does not support, connectors
// used on one side only).

#include <optional>
#include <string>
#include <vector>

#include "ConfigModel.h"
#include "FeatureGates.h"

namespace opampsup::standin {

// Every problem, in the order the collector reports them (it joins them with "\n").
std::vector<std::string> validateConfig(const CollectorConfig& cfg, const FeatureGates& gates);

// The graph build's first problem, as "failed to build pipelines: ...".
std::optional<std::string> checkPipelineGraph(const CollectorConfig& cfg);

}  // namespace opampsup::standin
