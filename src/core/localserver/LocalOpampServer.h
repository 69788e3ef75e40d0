#pragma once

// The OpAMP server the supervisor runs on loopback for its own collector: the collector's
// opamp extension connects here over WebSocket, and through it the supervisor learns the
// collector's description, health, effective config and available components, and
// exchanges custom messages with it.
//
// Only the collector the supervisor started may connect: one connection at a time (another
// gets HTTP 409), carrying the per-launch secret in its Authorization header (401
// otherwise), from the collector's own process where the OS can tell (403 otherwise), and
// speaking for the expected instance UID (the connection is closed otherwise). Garbage
// closes the connection with a reason; the server keeps running.
//
// Callbacks run on the server's I/O threads; the owner posts them to its event loop.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/opamp/Uuid.h"
#include "core/telemetry/Logger.h"
#include "opamp.pb.h"

namespace opampsup::net {
class HttpServer;
}  // namespace opampsup::net

namespace opampsup::localserver {

class LocalOpampServer {
  public:
    struct Callbacks {
        std::function<void()> connected;
        std::function<void(::opamp::proto::AgentToServer)> message;
        std::function<void(std::string reason)> disconnected;
        // A peer that was turned away, and why (for the log and health).
        std::function<void(std::string reason)> rejected;
    };

    // Who may connect: set before each launch of the collector.
    struct Expected {
        opamp::Uuid instanceUid;
        std::string secret;
        std::optional<long> pid;  // the collector's process, once started
    };

    // Custom messages for the collector wait here while it is not connected.
    static constexpr std::size_t kMaxQueuedCustomMessages = 32;

    // `port` 0 picks a free one.
    LocalOpampServer(std::uint16_t port, Callbacks callbacks, telemetry::Logger logger);
    ~LocalOpampServer();
    LocalOpampServer(const LocalOpampServer&) = delete;
    LocalOpampServer& operator=(const LocalOpampServer&) = delete;

    // Binds 127.0.0.1:port. Throws std::runtime_error naming the address on failure.
    void start();
    void stop();

    std::uint16_t port() const;
    std::string endpoint() const;  // ws://127.0.0.1:<port>/v1/opamp
    // The header the collector must send, as the injected extension config names it.
    static std::string authorizationHeader(const std::string& secret);

    void expect(Expected expected);
    // Updates the expected PID once the collector has started.
    void expectPid(long pid);

    bool isConnected() const;
    // Sends to the connected collector; false when none is connected.
    bool send(::opamp::proto::ServerToAgent message);
    // Delivered now, or when the collector connects; the oldest is dropped (and logged)
    // when kMaxQueuedCustomMessages are already waiting.
    void sendCustomMessage(const ::opamp::proto::CustomMessage& message);
    // Closes the current connection, if any.
    void disconnect();

  private:
    class Connection;
    class Handler;
    class Factory;

    std::optional<std::string> admit(const std::string& authorization, std::uint16_t peerPort,
                                     std::uint16_t serverPort);
    void serve(const std::shared_ptr<Connection>& connection);
    void release(const std::shared_ptr<Connection>& connection);

    std::uint16_t requestedPort_;
    Callbacks callbacks_;
    telemetry::Logger logger_;
    std::unique_ptr<net::HttpServer> server_;

    mutable std::mutex mutex_;
    Expected expected_;
    std::shared_ptr<Connection> current_;
    bool busy_ = false;  // admitted, upgrade in progress or connected
    std::deque<::opamp::proto::CustomMessage> customQueue_;
    bool stopping_ = false;
};

}  // namespace opampsup::localserver
