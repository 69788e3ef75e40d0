#pragma once

// The AgentCapabilities bits the supervisor advertises, computed from its config exactly as
// the Go supervisor does.

#include <cstdint>

#include "core/config/SupervisorConfig.h"

namespace opampsup::opamp {

// ReportsStatus is always set. accepts_remote_config also sets ReportsRemoteConfig and
// accepts_packages also sets ReportsPackageStatuses; the deprecated reports_remote_config
// has no effect.
std::uint64_t agentCapabilities(const config::Capabilities& capabilities);

}  // namespace opampsup::opamp
