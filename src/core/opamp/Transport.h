#pragma once

// How the OpAMP client talks to the server: over WebSocket (ws://, wss://) or by HTTP
// polling (http://, https://). A transport runs its own I/O thread; its callbacks run on
// that thread and must only hand work over to the event loop.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/config/SupervisorConfig.h"
#include "core/opamp/Authenticator.h"
#include "core/opamp/Proxy.h"
#include "core/opamp/Uuid.h"
#include "core/telemetry/Logger.h"

namespace opampsup::opamp {

class Transport {
  public:
    struct Settings {
        std::string endpoint;
        config::Headers headers;
        std::string userAgent;
        std::chrono::milliseconds connectTimeout{std::chrono::seconds(30)};
        // WebSocket only: after this long without a frame from the server, send a ping; if
        // nothing arrives for as long again, the connection is dead (a half-open TCP
        // connection, a NAT that forgot us) and is reported lost. 0 disables.
        std::chrono::milliseconds keepaliveInterval{std::chrono::seconds(30)};
        // For wss:// and https://; the defaults (verify against the system CAs) otherwise.
        std::optional<config::TlsClientSettings> tls;
        // A CONNECT proxy to tunnel through (see Proxy.h for how it is chosen).
        std::optional<ProxyRoute> proxy;
        // Headers computed at each WebSocket (re)connect and HTTP request; told about 401.
        std::shared_ptr<Authenticator> auth;
    };

    struct Disconnect {
        std::string reason;
        // The server said when to come back (Retry-After).
        std::optional<std::chrono::milliseconds> retryAfter;
        // The server refused for a reason retrying soon will not fix (4xx other than
        // 408/429, 413 for a message too large).
        bool permanent = false;
    };

    struct Callbacks {
        std::function<void()> connected;
        std::function<void(std::string payload)> message;  // a ServerToAgent's bytes
        std::function<void(Disconnect)> disconnected;      // failed to connect, or lost
    };

    virtual ~Transport() = default;

    // Starts connecting. Call again only after `disconnected` was reported.
    virtual void connect() = 0;
    // Queues one serialized AgentToServer; false when not connected.
    virtual bool send(std::string payload) = 0;
    // Sends `lastPayload` when connected, closes, and waits for the I/O thread. No callback
    // runs after it returns.
    virtual void close(std::optional<std::string> lastPayload = std::nullopt) = 0;
    virtual bool isConnected() const = 0;
    // HTTP can only answer requests: the client must send (poll) periodically.
    virtual bool needsPolling() const = 0;
    // The UID some transports send in headers (HTTP's OpAMP-Instance-UID).
    virtual void setInstanceUid(const Uuid& uid) = 0;
};

// The transport for the endpoint's scheme. Throws std::invalid_argument for other schemes.
std::unique_ptr<Transport> makeTransport(Transport::Settings settings,
                                         Transport::Callbacks callbacks, telemetry::Logger logger);

}  // namespace opampsup::opamp
