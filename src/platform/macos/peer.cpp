#include "platform/peer.h"

namespace opampsup::platform {

// macOS reports a peer's PID only for Unix-domain sockets (LOCAL_PEERPID); for loopback TCP
// the local server relies on the instance UID and the per-launch secret.
std::optional<bool> loopbackPeerIsProcess(const LoopbackConnection&, long) {
    return std::nullopt;
}

}  // namespace opampsup::platform
