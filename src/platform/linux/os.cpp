#include "platform/os.h"

namespace opampsup::platform {

std::string_view osType() {
    return "linux";
}

bool supportsHupReload() {
    return true;
}

}  // namespace opampsup::platform
