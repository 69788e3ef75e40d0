#include "BuildInfo.h"

#include <cstdlib>

namespace opampsup::standin {

std::string version() {
    const char* override = std::getenv(kVersionEnv);
    if (override != nullptr && *override != '\0') {
        return override;
    }
    return std::string(kDefaultVersion);
}

}  // namespace opampsup::standin
