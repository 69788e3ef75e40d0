#include "platform/peer.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace opampsup::platform {
namespace {

// The inode of the socket whose local port is `local` and remote port `remote`, from a
// /proc/net/tcp{,6} table ("sl local_address rem_address st ... uid timeout inode").
std::optional<std::string> findSocketInode(const std::string& table, std::uint16_t local,
                                           std::uint16_t remote) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string slot, localAddress, remoteAddress, state, queues, timer, retransmits, uid,
            timeout, inode;
        if (!(fields >> slot >> localAddress >> remoteAddress >> state >> queues >> timer >>
              retransmits >> uid >> timeout >> inode)) {
            continue;
        }
        auto port = [](const std::string& address) -> long {
            auto colon = address.rfind(':');
            return colon == std::string::npos ? -1
                                              : std::stol(address.substr(colon + 1), nullptr, 16);
        };
        if (port(localAddress) == local && port(remoteAddress) == remote) {
            return inode;
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<bool> loopbackPeerIsProcess(const LoopbackConnection& connection, long pid) {
    std::optional<std::string> inode;
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        inode = findSocketInode(table, connection.peerPort, connection.serverPort);
        if (inode) {
            break;
        }
    }
    if (!inode) {
        return std::nullopt;  // /proc not mounted, or the connection is already gone
    }
    const std::string wanted = "socket:[" + *inode + "]";
    std::error_code ec;
    std::filesystem::directory_iterator fds("/proc/" + std::to_string(pid) + "/fd", ec);
    if (ec) {
        return false;  // the process is gone (or not ours to inspect): not a match
    }
    for (const auto& fd : fds) {
        std::error_code linkError;
        if (std::filesystem::read_symlink(fd.path(), linkError).string() == wanted) {
            return true;
        }
    }
    return false;
}

}  // namespace opampsup::platform
