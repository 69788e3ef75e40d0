#pragma once

// One WebSocket connection to an OpAMP server, run by one I/O thread that does all reads
// and writes on the socket (TLS sessions must not be used from two threads at once).
// The client decides when to connect and reconnect; the transport reports what happened
// through callbacks, which run on the I/O thread and must only hand work over (post it to
// the event loop).

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/config/SupervisorConfig.h"
#include "core/telemetry/Logger.h"

namespace opampsup::opamp {

class WebSocketTransport {
  public:
    struct Settings {
        std::string endpoint;  // ws:// URL
        config::Headers headers;
        std::string userAgent;
        std::chrono::milliseconds connectTimeout{std::chrono::seconds(30)};
    };

    struct Disconnect {
        std::string reason;
        // The server said when to come back (Retry-After on a refused upgrade).
        std::optional<std::chrono::milliseconds> retryAfter;
        // The server refused for a reason retrying will not fix (4xx other than 408/429).
        bool permanent = false;
    };

    struct Callbacks {
        std::function<void()> connected;
        std::function<void(std::string payload)> message;  // a ServerToAgent's bytes
        std::function<void(Disconnect)> disconnected;      // failed to connect, or lost
    };

    WebSocketTransport(Settings settings, Callbacks callbacks, telemetry::Logger logger);
    ~WebSocketTransport();
    WebSocketTransport(const WebSocketTransport&) = delete;
    WebSocketTransport& operator=(const WebSocketTransport&) = delete;

    // Starts one connection attempt on a new I/O thread. Call again only after
    // `disconnected` was reported.
    void connect();

    // Queues one serialized AgentToServer; false when there is no open connection.
    bool send(std::string payload);

    // Sends `lastPayload` (the AgentDisconnect message) if connected, closes the
    // connection cleanly and waits for the I/O thread. No callback runs after it returns.
    void close(std::optional<std::string> lastPayload = std::nullopt);

    bool isConnected() const { return connected_; }

  private:
    class Wakeup;

    void run();
    void finish(Disconnect disconnect);

    Settings settings_;
    Callbacks callbacks_;
    telemetry::Logger logger_;

    std::thread thread_;
    std::atomic<bool> connected_{false};
    std::atomic<bool> closing_{false};

    // Shared with send() and close(); the I/O thread drains it.
    std::mutex mutex_;
    std::deque<std::string> outbox_;
    std::optional<std::string> lastPayload_;
    std::shared_ptr<Wakeup> wakeup_;
};

}  // namespace opampsup::opamp
