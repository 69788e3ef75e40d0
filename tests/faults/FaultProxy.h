#pragma once

// A TCP relay on loopback between the supervisor and its OpAMP server, which misbehaves on
// request as networks and servers do: it can hold new connections open without reading or
// answering (a server that accepts but never answers), stop relaying on the connections
// that are open without closing them (a half-open connection: a peer or NAT that vanished),
// and relay new connections to another port (the server moved, or was fixed). It relays
// bytes only, so TLS passes through it unchanged.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

namespace opampsup::faults {

class FaultProxy {
  public:
    explicit FaultProxy(std::uint16_t upstreamPort);
    ~FaultProxy();
    FaultProxy(const FaultProxy&) = delete;
    FaultProxy& operator=(const FaultProxy&) = delete;

    std::uint16_t port() const;
    // `serverEndpoint` (a dev server's OpAMP URL) with the proxy's port instead.
    std::string via(const std::string& serverEndpoint) const;

    // New connections go to this port from now on.
    void setUpstream(std::uint16_t port);
    // The next `count` connections are accepted and then held: nothing is read, relayed or
    // answered, and they stay open until the peer gives up or the proxy ends.
    void holdNext(int count);
    // Every connection relayed now stops relaying in both directions and stays open;
    // later connections are relayed as usual. Returns how many were black-holed.
    int blackHoleOpenConnections();

    int accepted() const { return accepted_; }
    int held() const { return held_; }
    // Relayed connections whose peer has not closed them yet.
    int openRelays() const;

  private:
    struct Relay {
        Poco::Net::StreamSocket client;
        Poco::Net::StreamSocket upstream;
        std::atomic<bool> blackHoled{false};
        std::atomic<bool> open{true};
    };

    void acceptLoop();
    void relay(const std::shared_ptr<Relay>& r);

    Poco::Net::ServerSocket listener_;
    std::atomic<std::uint16_t> upstreamPort_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> holdLeft_{0};
    std::atomic<int> accepted_{0};
    std::atomic<int> held_{0};
    mutable std::mutex mutex_;
    std::vector<std::shared_ptr<Relay>> relays_;
    std::vector<Poco::Net::StreamSocket> heldSockets_;
    std::vector<std::thread> threads_;
    std::thread acceptor_;
};

}  // namespace opampsup::faults
