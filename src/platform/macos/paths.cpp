#include "platform/paths.h"

namespace opampsup::platform {

// Same as Linux, as the Go supervisor does on every POSIX system.
std::filesystem::path defaultStorageDirectory() {
    return "/var/lib/otelcol/supervisor";
}

std::string defaultAgentBinaryName() {
    return "otelcol-contrib";
}

}  // namespace opampsup::platform
