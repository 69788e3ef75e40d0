#pragma once

// Facts about the host OS that change what the supervisor config may ask for.

#include <filesystem>
#include <string_view>

namespace opampsup::platform {

// The OS name as OpenTelemetry's `os.type` semantic convention spells it: linux, darwin, windows.
std::string_view osType();

// Whether the collector can be told to reload its config with SIGHUP
// (`agent.use_hup_config_reload`). False on Windows, which has no such signal.
bool supportsHupReload();

// Makes the C library hand large freed buffers (a big remote config's copies) back to the
// OS at once. glibc otherwise raises its mmap threshold to the largest buffer freed so
// far, after which buffers of that size come from the heap and stay in the RSS.
void returnLargeBuffersToTheOs();

// The running program's own file, absolute (what a service definition must start).
std::filesystem::path currentExecutable();

}  // namespace opampsup::platform
