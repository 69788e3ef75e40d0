#include "platform/os.h"

namespace opampsup::platform {

std::string_view osType() {
    return "windows";
}

bool supportsHupReload() {
    return false;
}

void returnLargeBuffersToTheOs() {
    // The process heap gives large blocks (VirtualAlloc'd) back to the OS by itself.
}

}  // namespace opampsup::platform
