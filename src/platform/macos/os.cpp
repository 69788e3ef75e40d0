#include "platform/os.h"

namespace opampsup::platform {

std::string_view osType() {
    return "darwin";
}

bool supportsHupReload() {
    return true;
}

}  // namespace opampsup::platform
