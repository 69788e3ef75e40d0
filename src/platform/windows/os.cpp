#include "platform/os.h"

namespace opampsup::platform {

std::string_view osType() {
    return "windows";
}

bool supportsHupReload() {
    return false;
}

}  // namespace opampsup::platform
