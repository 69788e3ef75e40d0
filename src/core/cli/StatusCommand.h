#pragma once

// `opampsupervisor status --config FILE [--json]`: asks the supervisor that runs with that
// config for its status (the loopback endpoint whose address it keeps in
// <storage>/status_endpoint) and prints it for a person, or as the JSON itself.

#include <ostream>

#include "core/config/SupervisorConfig.h"

namespace opampsup::cli {

inline constexpr int kExitNotRunning = 3;  // as LSB init scripts' status

int showStatus(const config::SupervisorConfig& config, bool json, std::ostream& out,
               std::ostream& err);

}  // namespace opampsup::cli
