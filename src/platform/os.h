#pragma once

// Facts about the host OS that change what the supervisor config may ask for.

#include <string_view>

namespace opampsup::platform {

// The OS name as OpenTelemetry's `os.type` semantic convention spells it: linux, darwin, windows.
std::string_view osType();

// Whether the collector can be told to reload its config with SIGHUP
// (`agent.use_hup_config_reload`). False on Windows, which has no such signal.
bool supportsHupReload();

}  // namespace opampsup::platform
