#include "support/NotifySocket.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace opampsup::testing {

NotifySocket::NotifySocket(const std::filesystem::path& dir, bool abstract) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        throw std::system_error(errno, std::generic_category(), "socket");
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::string name;
    if (abstract) {
        name = "opampsup-test-notify-" + std::to_string(::getpid()) + "-" +
               std::to_string(reinterpret_cast<std::uintptr_t>(this));
        address_ = "@" + name;
        std::memcpy(address.sun_path + 1, name.data(), name.size());
        name.insert(name.begin(), '\0');
    } else {
        path_ = dir / "notify.sock";
        name = path_.string();
        address_ = name;
        if (name.size() >= sizeof(address.sun_path)) {
            throw std::runtime_error("notify socket path too long: " + name);
        }
        std::memcpy(address.sun_path, name.data(), name.size());
    }
    auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
        int error = errno;
        ::close(fd_);
        throw std::system_error(error, std::generic_category(), "bind " + address_);
    }
}

NotifySocket::~NotifySocket() {
    ::close(fd_);
    if (!path_.empty()) {
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
    }
}

std::optional<std::string> NotifySocket::waitFor(
    const std::function<bool(const std::string&)>& match, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        for (; seen_ < received_.size(); ++seen_) {
            if (match(received_[seen_])) {
                return received_[seen_++];
            }
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return std::nullopt;
        }
        pollfd ready{fd_, POLLIN, 0};
        if (::poll(&ready, 1, static_cast<int>(left.count())) <= 0) {
            continue;
        }
        char buffer[4096];
        ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
        if (n > 0) {
            received_.emplace_back(buffer, static_cast<std::size_t>(n));
        }
    }
}

}  // namespace opampsup::testing
