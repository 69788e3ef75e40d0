#pragma once

// Who is on the other end of a loopback TCP connection. The local OpAMP server uses this
// to accept only the collector it started: any local process can connect to a loopback
// port, but only the collector's own socket belongs to the collector's process.

#include <cstdint>
#include <optional>
#include <string>

namespace opampsup::platform {

struct LoopbackConnection {
    std::uint16_t peerPort = 0;    // the connecting side's port
    std::uint16_t serverPort = 0;  // the port we listen on
};

// True when process `pid` holds the connecting socket of `connection`, false when another
// process does, nullopt when this OS offers no way to tell (the caller then relies on its
// other checks).
std::optional<bool> loopbackPeerIsProcess(const LoopbackConnection& connection, long pid);

}  // namespace opampsup::platform
