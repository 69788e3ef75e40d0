#include "platform/peer.h"

#include <vector>

// winsock2.h must come before anything that pulls in windows.h.
// clang-format off
#include <winsock2.h>
#include <ws2tcpip.h>
#include <iphlpapi.h>
// clang-format on

namespace opampsup::platform {

// The IPv4 TCP table lists each connection with its owning process.
std::optional<bool> loopbackPeerIsProcess(const LoopbackConnection& connection, long pid) {
    ULONG size = 0;
    if (GetExtendedTcpTable(nullptr, &size, FALSE, AF_INET, TCP_TABLE_OWNER_PID_CONNECTIONS, 0) !=
        ERROR_INSUFFICIENT_BUFFER) {
        return std::nullopt;
    }
    std::vector<unsigned char> buffer(size);
    auto* table = reinterpret_cast<MIB_TCPTABLE_OWNER_PID*>(buffer.data());
    if (GetExtendedTcpTable(table, &size, FALSE, AF_INET, TCP_TABLE_OWNER_PID_CONNECTIONS, 0) !=
        NO_ERROR) {
        return std::nullopt;
    }
    for (DWORD i = 0; i < table->dwNumEntries; ++i) {
        const MIB_TCPROW_OWNER_PID& row = table->table[i];
        auto localPort = ntohs(static_cast<u_short>(row.dwLocalPort));
        auto remotePort = ntohs(static_cast<u_short>(row.dwRemotePort));
        if (localPort == connection.peerPort && remotePort == connection.serverPort) {
            return static_cast<long>(row.dwOwningPid) == pid;
        }
    }
    return std::nullopt;
}

}  // namespace opampsup::platform
