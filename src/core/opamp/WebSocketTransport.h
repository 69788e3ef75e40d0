#pragma once

// One WebSocket connection to an OpAMP server, run by one I/O thread that does all reads
// and writes on the socket (TLS sessions must not be used from two threads at once).
// The client decides when to connect and reconnect.

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/opamp/HttpSession.h"
#include "core/opamp/Transport.h"

namespace opampsup::opamp {

class WebSocketTransport : public Transport {
  public:
    WebSocketTransport(Settings settings, Callbacks callbacks, telemetry::Logger logger);
    ~WebSocketTransport() override;
    WebSocketTransport(const WebSocketTransport&) = delete;
    WebSocketTransport& operator=(const WebSocketTransport&) = delete;

    // Starts one connection attempt on a new I/O thread. Call again only after
    // `disconnected` was reported.
    void connect() override;

    // Queues one serialized AgentToServer; false when there is no open connection.
    bool send(std::string payload) override;

    // Sends `lastPayload` (the AgentDisconnect message) if connected, closes the
    // connection cleanly and waits for the I/O thread. No callback runs after it returns.
    void close(std::optional<std::string> lastPayload = std::nullopt) override;

    bool isConnected() const override { return connected_; }
    bool needsPolling() const override { return false; }
    void setInstanceUid(const Uuid&) override {}

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
    InFlight inFlight_;
};

}  // namespace opampsup::opamp
