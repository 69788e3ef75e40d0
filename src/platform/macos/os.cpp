#include "platform/os.h"

namespace opampsup::platform {

std::string_view osType() {
    return "darwin";
}

bool supportsHupReload() {
    return true;
}

void returnLargeBuffersToTheOs() {
    // The system allocator returns large regions to the OS by itself.
}

}  // namespace opampsup::platform
