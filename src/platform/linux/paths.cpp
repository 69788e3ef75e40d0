#include "platform/paths.h"

namespace opampsup::platform {

std::filesystem::path defaultStorageDirectory() {
    return "/var/lib/otelcol/supervisor";
}

std::string defaultAgentBinaryName() {
    return "otelcol-contrib";
}

}  // namespace opampsup::platform
