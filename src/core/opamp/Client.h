#pragma once

// The OpAMP client: keeps the agent's state (AgentState), connects over a transport,
// reconnects with jittered exponential backoff, sends heartbeats, and turns server
// messages into calls on Handlers. Everything here runs on the EventLoop thread; the
// transport's I/O thread only posts to it.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/opamp/AgentState.h"
#include "core/opamp/Backoff.h"
#include "core/opamp/ServerMessage.h"
#include "core/opamp/Transport.h"
#include "core/supervisor/EventLoop.h"
#include "core/telemetry/Logger.h"
#include "core/telemetry/OwnMetrics.h"

namespace opampsup::opamp {

class Client {
  public:
    struct Settings {
        std::string endpoint;
        config::Headers headers;
        std::string userAgent;
        std::optional<config::TlsClientSettings> tls;
        std::optional<ProxyRoute> proxy;
        std::shared_ptr<Authenticator> auth;  // server.auth; kept across connection offers
        // 0 disables heartbeats (over HTTP, polling then uses the 30 s default).
        std::chrono::seconds heartbeatInterval{30};
        Backoff::Options backoff;
        // Counts the messages sent and received, when set (telemetry.metrics).
        std::shared_ptr<telemetry::OwnMetrics> metrics;
    };

    // Called on the loop thread. Any may be left empty.
    struct Handlers {
        std::function<void(bool connected)> connectionChanged;
        std::function<void(const ::opamp::proto::AgentRemoteConfig&)> remoteConfig;
        std::function<void(const ::opamp::proto::ConnectionSettingsOffers&)> connectionSettings;
        std::function<void(const ::opamp::proto::PackagesAvailable&)> packagesAvailable;
        std::function<void()> restart;
        // Persist it: the server gave the agent a new identity.
        std::function<void(const Uuid&)> newInstanceUid;
        std::function<void(const ::opamp::proto::CustomMessage&)> customMessage;
        // The server told its capabilities (its first message on a connection, usually).
        std::function<void(std::uint64_t)> serverCapabilities;
    };

    Client(supervisor::EventLoop& loop, Settings settings, AgentState state, Handlers handlers,
           telemetry::Logger logger, Backoff::UnitRandom random);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    void start();
    // Sends AgentDisconnect when connected, closes, and stops reconnecting.
    void stop();

    // Change the state through this, then call flush() to send what changed.
    AgentState& state() { return state_; }
    void flush();
    // Queues a custom message for the server and sends it when connected. False (and a log
    // line) when too many are already waiting.
    bool sendCustomMessage(const ::opamp::proto::CustomMessage& message);

    void setHeartbeatInterval(std::chrono::seconds interval);
    bool connected() const { return confirmed_; }
    std::optional<std::uint64_t> serverCapabilities() const { return serverCapabilities_; }

  private:
    void connect();
    void onConnected();
    void onDisconnected(const Transport::Disconnect& disconnect);
    void onMessage(std::string payload);
    void handleServerError(const ServerError& error);
    void confirmConnection();
    // Closes the transport, tells the handler if the connection had been confirmed, and
    // reconnects after the delay.
    void dropConnection(std::chrono::milliseconds reconnectDelay);
    void scheduleReconnect(std::chrono::milliseconds delay);
    void send();
    void armHeartbeat();

    supervisor::EventLoop& loop_;
    Settings settings_;
    AgentState state_;
    Handlers handlers_;
    telemetry::Logger logger_;
    Backoff backoff_;
    std::unique_ptr<Transport> transport_;
    std::chrono::seconds sendInterval() const;

    // Tasks posted by the I/O thread check this, so none runs after the client is gone.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    bool running_ = false;
    bool connected_ = false;  // the transport is up: messages can be sent
    bool confirmed_ = false;  // the server has shown it is there (upgrade or an answer)
    std::optional<std::uint64_t> serverCapabilities_;
    std::optional<supervisor::EventLoop::TimerId> reconnectTimer_;
    std::optional<supervisor::EventLoop::TimerId> heartbeatTimer_;
};

}  // namespace opampsup::opamp
