#pragma once

// A stand-in for systemd's side of the notify protocol: a datagram socket the code under
// test finds through $NOTIFY_SOCKET, and the messages it sent, in order.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace opampsup::testing {

class NotifySocket {
  public:
    // `abstract`: a name in Linux's abstract namespace ("@..."), as systemd uses lately.
    NotifySocket(const std::filesystem::path& dir, bool abstract = false);
    ~NotifySocket();
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    // What NOTIFY_SOCKET must say.
    const std::string& address() const { return address_; }

    // The next message that satisfies `match`, skipping others (they stay in received()).
    std::optional<std::string> waitFor(const std::function<bool(const std::string&)>& match,
                                       std::chrono::milliseconds timeout);
    const std::vector<std::string>& received() const { return received_; }

  private:
    int fd_ = -1;
    std::string address_;
    std::filesystem::path path_;
    std::vector<std::string> received_;
    std::size_t seen_ = 0;  // received_[seen_..] not yet examined by waitFor
};

}  // namespace opampsup::testing
