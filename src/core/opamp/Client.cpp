#include "core/opamp/Client.h"

#include "core/opamp/ConnectionOffer.h"

namespace opampsup::opamp {

namespace pb = ::opamp::proto;

Client::Client(supervisor::EventLoop& loop, Settings settings, AgentState state, Handlers handlers,
               telemetry::Logger logger, Backoff::UnitRandom random)
    : loop_(loop),
      settings_(std::move(settings)),
      state_(std::move(state)),
      handlers_(std::move(handlers)),
      logger_(std::move(logger)),
      backoff_(settings_.backoff, std::move(random)) {
    std::weak_ptr<bool> alive = alive_;
    // Each callback hands its work to the loop; the weak token drops it if the client is
    // destroyed before the loop gets to it.
    auto onLoop = [this, alive](std::function<void()> work) {
        loop_.post([alive, work = std::move(work)] {
            if (alive.lock()) {
                work();
            }
        });
    };
    Transport::Callbacks callbacks;
    callbacks.connected = [onLoop, this] { onLoop([this] { onConnected(); }); };
    callbacks.message = [onLoop, this](std::string payload) {
        onLoop([this, payload = std::move(payload)]() mutable { onMessage(std::move(payload)); });
    };
    callbacks.disconnected = [onLoop, this](Transport::Disconnect d) {
        onLoop([this, d = std::move(d)] { onDisconnected(d); });
    };
    Transport::Settings transportSettings;
    transportSettings.endpoint = settings_.endpoint;
    transportSettings.headers = settings_.headers;
    transportSettings.userAgent = settings_.userAgent;
    transportSettings.tls = settings_.tls;
    transportSettings.proxy = settings_.proxy;
    transportSettings.auth = settings_.auth;
    transport_ = makeTransport(transportSettings, callbacks, logger_.named("transport"));
    transport_->setInstanceUid(state_.instanceUid());
}

Client::~Client() {
    *alive_ = false;
    alive_.reset();
    if (transport_) {
        transport_->close();
    }
}

void Client::start() {
    running_ = true;
    connect();
}

void Client::stop() {
    running_ = false;
    for (auto* timer : {&reconnectTimer_, &heartbeatTimer_}) {
        if (*timer) {
            loop_.cancel(**timer);
            timer->reset();
        }
    }
    if (connected_) {
        transport_->close(state_.disconnectMessage().SerializeAsString());
    } else {
        transport_->close();
    }
    connected_ = false;
    confirmed_ = false;
}

void Client::connect() {
    reconnectTimer_.reset();
    if (!running_) {
        return;
    }
    logger_.debug("Connecting to the OpAMP server", {{"endpoint", settings_.endpoint}});
    transport_->connect();
}

void Client::onConnected() {
    if (!running_) {
        return;
    }
    connected_ = true;
    confirmed_ = false;
    // The first message of a connection is a full status report.
    state_.markAllForSending();
    send();
    // A WebSocket upgrade proves the server is there. An HTTP "connection" proves nothing
    // until a request is answered: confirming earlier would reset the backoff on every
    // failed poll and retry a broken server in a tight loop.
    if (!transport_->needsPolling()) {
        confirmConnection();
    }
}

void Client::confirmConnection() {
    confirmed_ = true;
    backoff_.reset();
    logger_.info("Connected to the OpAMP server", {{"endpoint", settings_.endpoint}});
    if (handlers_.connectionChanged) {
        handlers_.connectionChanged(true);
    }
}

void Client::onDisconnected(const Transport::Disconnect& d) {
    bool wasConnected = confirmed_;
    connected_ = false;
    confirmed_ = false;
    if (heartbeatTimer_) {
        loop_.cancel(*heartbeatTimer_);
        heartbeatTimer_.reset();
    }
    if (!running_) {
        return;
    }
    std::chrono::milliseconds delay{0};
    if (d.permanent) {
        // Retrying soon cannot help; try again rarely in case the server side is fixed.
        delay = settings_.backoff.max;
        backoff_.next();
    } else if (d.retryAfter) {
        delay = backoff_.nextWithHint(*d.retryAfter);
    } else {
        delay = backoff_.next();
    }
    logger_.warn(wasConnected ? "Lost the connection to the OpAMP server"
                              : "Cannot connect to the OpAMP server",
                 {{"endpoint", settings_.endpoint},
                  {"reason", d.reason},
                  {"retry_in_ms", std::to_string(delay.count())}});
    if (wasConnected && handlers_.connectionChanged) {
        handlers_.connectionChanged(false);
    }
    scheduleReconnect(delay);
}

void Client::scheduleReconnect(std::chrono::milliseconds delay) {
    if (reconnectTimer_) {
        loop_.cancel(*reconnectTimer_);
    }
    reconnectTimer_ = loop_.postAfter(delay, [this, alive = std::weak_ptr<bool>(alive_)] {
        if (alive.lock()) {
            connect();
        }
    });
}

void Client::onMessage(std::string payload) {
    pb::ServerToAgent message;
    if (!message.ParseFromString(payload)) {
        logger_.error("Cannot decode a message from the OpAMP server; reconnecting",
                      {{"bytes", std::to_string(payload.size())}});
        dropConnection(backoff_.next());
        return;
    }
    if (settings_.metrics) {
        settings_.metrics->messagesReceived += 1;
    }
    // One copy of a large message at a time: the bytes go once parsed, and the parts the
    // handlers get move out of the message.
    std::string().swap(payload);
    ServerInstructions in = interpretServerMessage(std::move(message), state_.instanceUid());
    for (const std::string& problem : in.problems) {
        logger_.warn("Unexpected message from the OpAMP server", {{"problem", problem}});
    }
    // Any answer but an error shows the server is there (even one meant for another agent).
    if (!confirmed_ && !in.error) {
        confirmConnection();
    }
    if (in.ignored) {
        return;
    }
    if (in.serverCapabilities) {
        serverCapabilities_ = in.serverCapabilities;
        if (handlers_.serverCapabilities) {
            handlers_.serverCapabilities(*in.serverCapabilities);
        }
    }
    if (in.error) {
        handleServerError(*in.error);
        return;
    }
    if (in.reportFullState) {
        state_.markAllForSending();
    }
    if (in.reportAvailableComponents) {
        state_.sendFullComponentsNext();
    }
    if (in.newInstanceUid) {
        logger_.info("The OpAMP server assigned a new instance UID",
                     {{"instance_uid", in.newInstanceUid->toString()}});
        state_.setInstanceUid(*in.newInstanceUid);
        transport_->setInstanceUid(*in.newInstanceUid);
        if (handlers_.newInstanceUid) {
            handlers_.newInstanceUid(*in.newInstanceUid);
        }
    }
    if (in.restart && handlers_.restart) {
        handlers_.restart();
    }
    if (in.remoteConfig && handlers_.remoteConfig) {
        handlers_.remoteConfig(*in.remoteConfig);
    }
    if (in.connectionSettings) {
        // As opamp-go: an agent that reports heartbeats and accepts OpAMP connection settings
        // takes the offered interval (0 is ignored: the server cannot turn them off).
        const auto seconds = in.connectionSettings->opamp().heartbeat_interval_seconds();
        constexpr std::uint64_t kNeeded =
            ::opamp::proto::AgentCapabilities_ReportsHeartbeat |
            ::opamp::proto::AgentCapabilities_AcceptsOpAMPConnectionSettings;
        if (seconds > kMaxHeartbeatSeconds) {
            logger_.warn("Ignored an offered heartbeat interval of more than a day",
                         {{"seconds", std::to_string(seconds)}});
        } else if (seconds > 0 && (state_.capabilities() & kNeeded) == kNeeded) {
            logger_.info("The server set the heartbeat interval",
                         {{"seconds", std::to_string(seconds)}});
            setHeartbeatInterval(
                std::chrono::seconds(static_cast<std::chrono::seconds::rep>(seconds)));
        }
        if (handlers_.connectionSettings) {
            handlers_.connectionSettings(*in.connectionSettings);
        }
    }
    if (in.packagesAvailable && handlers_.packagesAvailable) {
        handlers_.packagesAvailable(*in.packagesAvailable);
    }
    if (in.customMessage && handlers_.customMessage) {
        handlers_.customMessage(*in.customMessage);
    }
    // Only what changed goes back; an answer to a message that changed nothing would start
    // a ping-pong between agent and server.
    flush();
}

void Client::handleServerError(const ServerError& error) {
    if (!error.retryable()) {
        logger_.error("The OpAMP server rejected a message; it is not sent again",
                      {{"error", error.message}});
        return;
    }
    auto hint = std::chrono::duration_cast<std::chrono::milliseconds>(
        error.retryAfter.value_or(std::chrono::nanoseconds{0}));
    std::chrono::milliseconds delay = backoff_.nextWithHint(hint);
    logger_.warn("The OpAMP server is unavailable; reconnecting later",
                 {{"error", error.message}, {"retry_in_ms", std::to_string(delay.count())}});
    dropConnection(delay);
}

void Client::dropConnection(std::chrono::milliseconds reconnectDelay) {
    transport_->close();
    bool wasConfirmed = confirmed_;
    connected_ = false;
    confirmed_ = false;
    if (heartbeatTimer_) {
        loop_.cancel(*heartbeatTimer_);
        heartbeatTimer_.reset();
    }
    if (wasConfirmed && handlers_.connectionChanged) {
        handlers_.connectionChanged(false);
    }
    scheduleReconnect(reconnectDelay);
}

void Client::flush() {
    // More than one message when several custom messages wait: each needs its own.
    while (connected_ && state_.hasPending()) {
        send();
    }
}

bool Client::sendCustomMessage(const ::opamp::proto::CustomMessage& message) {
    if (!state_.queueCustomMessage(message)) {
        logger_.warn("Dropped a custom message for the server: too many are waiting to be sent",
                     {{"capability", message.capability()}, {"type", message.type()}});
        return false;
    }
    flush();
    return true;
}

void Client::send() {
    if (transport_->send(state_.nextMessage().SerializeAsString()) && settings_.metrics) {
        settings_.metrics->messagesSent += 1;
    }
    armHeartbeat();
}

void Client::setHeartbeatInterval(std::chrono::seconds interval) {
    settings_.heartbeatInterval = interval;
    armHeartbeat();
}

std::chrono::seconds Client::sendInterval() const {
    if (transport_->needsPolling() && settings_.heartbeatInterval.count() == 0) {
        // HTTP must poll even with heartbeats off, or the server could never reach it.
        return std::chrono::seconds(30);
    }
    return settings_.heartbeatInterval;
}

void Client::armHeartbeat() {
    if (heartbeatTimer_) {
        loop_.cancel(*heartbeatTimer_);
        heartbeatTimer_.reset();
    }
    std::chrono::seconds interval = sendInterval();
    if (!connected_ || interval.count() == 0) {
        return;
    }
    // Any message counts as a heartbeat (or poll), so the timer restarts at every send.
    heartbeatTimer_ = loop_.postAfter(interval, [this, alive = std::weak_ptr<bool>(alive_)] {
        if (alive.lock()) {
            heartbeatTimer_.reset();
            if (connected_) {
                send();
            }
        }
    });
}

}  // namespace opampsup::opamp
