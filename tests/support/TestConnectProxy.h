#pragma once

// An HTTP CONNECT proxy on loopback for tests: records each CONNECT request's target and
// headers, then relays bytes both ways; or refuses with a status.

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Net/ServerSocket.h>

#include "support/Waiter.h"

namespace opampsup::testing {

class TestConnectProxy {
  public:
    TestConnectProxy();
    ~TestConnectProxy();

    std::string url() const;  // http://127.0.0.1:<port>
    std::uint16_t port() const;
    void refuseWith(int status);

    // One per CONNECT: its headers, plus "target" = the request target (host:port).
    Waiter<std::map<std::string, std::string>>& requests() { return requests_; }

  private:
    void acceptLoop();
    void serve(Poco::Net::StreamSocket client);

    Poco::Net::ServerSocket listener_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> refuseStatus_{0};
    std::thread acceptor_;
    std::mutex mutex_;
    std::vector<std::thread> connections_;
    Waiter<std::map<std::string, std::string>> requests_;
};

}  // namespace opampsup::testing
