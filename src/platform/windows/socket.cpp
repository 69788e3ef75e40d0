#include "platform/socket.h"

#include <winsock2.h>

namespace opampsup::platform {

void shutdownSocket(std::intptr_t nativeHandle) noexcept {
    ::shutdown(static_cast<SOCKET>(nativeHandle), SD_BOTH);
}

}  // namespace opampsup::platform
