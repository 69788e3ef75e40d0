#include "platform/socket.h"

#include <sys/socket.h>

namespace opampsup::platform {

void shutdownSocket(std::intptr_t nativeHandle) noexcept {
    ::shutdown(static_cast<int>(nativeHandle), SHUT_RDWR);
}

}  // namespace opampsup::platform
