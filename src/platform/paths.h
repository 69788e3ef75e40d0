#pragma once

// Default locations on the host OS. One implementation per OS, chosen by CMake.

#include <filesystem>
#include <string>

namespace opampsup::platform {

// Where the supervisor keeps its state when `storage.directory` is not set:
// /var/lib/otelcol/supervisor on Linux and macOS, %ProgramData%\Otelcol\Supervisor on Windows.
std::filesystem::path defaultStorageDirectory();

// The file name of the collector binary inside a package archive (`agent.package.agent_binary`).
std::string defaultAgentBinaryName();

}  // namespace opampsup::platform
