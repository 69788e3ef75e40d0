#include "core/localserver/LocalOpampServer.h"

#include <stdexcept>

#include <Poco/Buffer.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/WebSocket.h>

#include "core/net/HttpServer.h"
#include "core/opamp/WsFraming.h"
#include "platform/peer.h"

namespace opampsup::localserver {
namespace pb = ::opamp::proto;
using Poco::Net::HTTPResponse;
using Poco::Net::WebSocket;

namespace {

constexpr const char* kPath = "/v1/opamp";
constexpr int kFin = WebSocket::FRAME_FLAG_FIN;
constexpr int kClosePolicyViolation = 1008;
constexpr int kCloseProtocolError = 1002;
constexpr int kCloseTooBig = 1009;
// What this server accepts from the collector.
constexpr std::uint64_t kCapabilities =
    pb::ServerCapabilities_AcceptsStatus | pb::ServerCapabilities_AcceptsEffectiveConfig;

void refuse(Poco::Net::HTTPServerResponse& response, HTTPResponse::HTTPStatus status,
            const std::string& reason) {
    response.setStatusAndReason(status);
    response.setContentType("text/plain");
    response.setContentLength(static_cast<std::streamsize>(reason.size() + 1));
    response.send() << reason << "\n";
}

}  // namespace

// One collector's WebSocket: read by its handler thread, written by any thread.
class LocalOpampServer::Connection {
  public:
    explicit Connection(WebSocket socket) : socket_(std::move(socket)) {}

    WebSocket& socket() { return socket_; }

    bool sendFrame(const std::string& bytes, int flags) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (closed_) {
            return false;
        }
        try {
            socket_.sendFrame(bytes.data(), static_cast<int>(bytes.size()), flags);
            return true;
        } catch (const Poco::Exception&) {
            return false;
        }
    }

    bool send(const pb::ServerToAgent& message) {
        return sendFrame(opamp::frameWsMessage(message.SerializeAsString()),
                         WebSocket::FRAME_BINARY);
    }

    void close(int code, const std::string& reason) {
        std::string payload;
        payload += static_cast<char>((code >> 8) & 0xFF);
        payload += static_cast<char>(code & 0xFF);
        payload += reason.substr(0, 120);
        sendFrame(payload, kFin | WebSocket::FRAME_OP_CLOSE);
        shutdown();
    }

    void shutdown() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!closed_) {
            closed_ = true;
            try {
                socket_.shutdown();
            } catch (const Poco::Exception&) {
                // Already gone.
            }
        }
    }

  private:
    std::mutex mutex_;
    WebSocket socket_;
    bool closed_ = false;
};

class LocalOpampServer::Handler : public Poco::Net::HTTPRequestHandler {
  public:
    explicit Handler(LocalOpampServer& owner) : owner_(owner) {}

    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
        if (request.getURI() != kPath) {
            refuse(response, HTTPResponse::HTTP_NOT_FOUND, "OpAMP is at /v1/opamp");
            return;
        }
        if (Poco::icompare(request.get("Upgrade", ""), "websocket") != 0) {
            refuse(response, HTTPResponse::HTTP_BAD_REQUEST,
                   "the supervisor's OpAMP server takes WebSocket connections only");
            return;
        }
        std::optional<std::string> refusal =
            owner_.admit(request.get("Authorization", ""), request.clientAddress().port(),
                         request.serverAddress().port());
        if (refusal) {
            auto status = refusal->rfind("409", 0) == 0   ? HTTPResponse::HTTP_CONFLICT
                          : refusal->rfind("401", 0) == 0 ? HTTPResponse::HTTP_UNAUTHORIZED
                          : refusal->rfind("503", 0) == 0 ? HTTPResponse::HTTP_SERVICE_UNAVAILABLE
                                                          : HTTPResponse::HTTP_FORBIDDEN;
            std::string reason = refusal->substr(4);
            refuse(response, status, reason);
            if (owner_.callbacks_.rejected) {
                owner_.callbacks_.rejected(reason + " (from " + request.clientAddress().toString() +
                                           ")");
            }
            return;
        }
        std::shared_ptr<Connection> connection;
        try {
            connection = std::make_shared<Connection>(WebSocket(request, response));
        } catch (const Poco::Exception& e) {
            owner_.release(nullptr);
            owner_.logger_.warn("A collector's WebSocket upgrade failed",
                                {{"error", e.displayText()}});
            return;
        }
        owner_.serve(connection);
    }

  private:
    LocalOpampServer& owner_;
};

class LocalOpampServer::Factory : public net::HandlerFactory {
  public:
    explicit Factory(LocalOpampServer& owner) : owner_(owner) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
        return new Handler(owner_);
    }

  private:
    LocalOpampServer& owner_;
};

LocalOpampServer::LocalOpampServer(std::uint16_t port, Callbacks callbacks,
                                   telemetry::Logger logger)
    : requestedPort_(port), callbacks_(std::move(callbacks)), logger_(std::move(logger)) {}

LocalOpampServer::~LocalOpampServer() {
    stop();
}

void LocalOpampServer::start() {
    Poco::Net::SocketAddress address("127.0.0.1", requestedPort_);
    std::unique_ptr<Poco::Net::ServerSocket> socket;
    try {
        socket = std::make_unique<Poco::Net::ServerSocket>(address, 16);
    } catch (const Poco::Exception& e) {
        throw std::runtime_error("cannot listen for the collector on " + address.toString() + ": " +
                                 e.displayText());
    }
    // One connection is served; a few more threads answer concurrent attempts with 409.
    // No keep-alive: a refused peer's connection ends with the answer and frees its place.
    auto* params = new Poco::Net::HTTPServerParams;
    params->setKeepAlive(false);
    server_ = std::make_unique<net::HttpServer>(new Factory(*this), *socket, params, 4);
    server_->start();
}

void LocalOpampServer::stop() {
    if (!server_) {
        return;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    disconnect();
    server_->stop();
    server_.reset();
}

std::uint16_t LocalOpampServer::port() const {
    return server_ ? server_->port() : 0;
}

std::string LocalOpampServer::endpoint() const {
    return "ws://127.0.0.1:" + std::to_string(port()) + kPath;
}

std::string LocalOpampServer::authorizationHeader(const std::string& secret) {
    return "Secret " + secret;
}

void LocalOpampServer::expect(Expected expected) {
    std::lock_guard<std::mutex> lock(mutex_);
    expected_ = std::move(expected);
}

void LocalOpampServer::expectPid(long pid) {
    std::lock_guard<std::mutex> lock(mutex_);
    expected_.pid = pid;
}

bool LocalOpampServer::isConnected() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_ != nullptr;
}

std::optional<std::string> LocalOpampServer::admit(const std::string& authorization,
                                                   std::uint16_t peerPort,
                                                   std::uint16_t serverPort) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) {
        return "503 the supervisor is shutting down";
    }
    if (current_ || busy_) {
        return "409 a collector is already connected";
    }
    if (expected_.secret.empty() || authorization != authorizationHeader(expected_.secret)) {
        // Whose connection it is tells a stray process (a collector left over from an
        // earlier supervisor on a reused port) from a collector started with a stale config.
        std::string from;
        if (expected_.pid) {
            std::optional<bool> ours =
                platform::loopbackPeerIsProcess({peerPort, serverPort}, *expected_.pid);
            from = ours == true    ? " (from the collector's own process)"
                   : ours == false ? " (not from the collector's process)"
                                   : "";
        }
        return "401 missing or wrong launch secret in the Authorization header" + from;
    }
    if (expected_.pid) {
        std::optional<bool> ours =
            platform::loopbackPeerIsProcess({peerPort, serverPort}, *expected_.pid);
        if (ours == false) {
            return "403 the connection does not come from the collector's process (pid " +
                   std::to_string(*expected_.pid) + ")";
        }
    }
    busy_ = true;
    return std::nullopt;
}

void LocalOpampServer::release(const std::shared_ptr<Connection>& connection) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!connection || current_ == connection) {
        current_.reset();
        busy_ = false;
    }
}

void LocalOpampServer::serve(const std::shared_ptr<Connection>& connection) {
    std::deque<pb::CustomMessage> queued;
    opamp::Uuid expectedUid;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        current_ = connection;
        queued.swap(customQueue_);
        expectedUid = expected_.instanceUid;
    }
    WebSocket& ws = connection->socket();
    ws.setMaxPayloadSize(static_cast<int>(opamp::kMaxMessageBytes + 16));
    logger_.debug("The collector connected to the supervisor's OpAMP server");
    if (callbacks_.connected) {
        callbacks_.connected();
    }
    for (auto& custom : queued) {
        pb::ServerToAgent message;
        message.set_instance_uid(expectedUid.toBytesString());
        *message.mutable_custom_message() = std::move(custom);
        connection->send(message);
    }

    std::string reason = "the collector closed the connection";
    opamp::WsMessageAssembler assembler;
    Poco::Buffer<char> buffer(0);
    bool first = true;
    try {
        while (true) {
            {
                std::lock_guard<std::mutex> lock(mutex_);
                if (stopping_ || current_ != connection) {
                    reason = "the supervisor closed the connection";
                    break;
                }
            }
            // stop() shuts the socket down, which ends this wait at once: the timeout only
            // bounds how late a lost wake-up is noticed, and keeps an idle supervisor asleep.
            if (!ws.poll(Poco::Timespan(60, 0), Poco::Net::Socket::SELECT_READ)) {
                continue;
            }
            buffer.resize(0);
            int flags = 0;
            int n = ws.receiveFrame(buffer, flags);
            if (n == 0 && flags == 0) {
                break;
            }
            int opcode = flags & WebSocket::FRAME_OP_BITMASK;
            std::string_view frame(buffer.begin(), static_cast<std::size_t>(n));
            if (opcode == WebSocket::FRAME_OP_PING) {
                connection->sendFrame(std::string(frame), kFin | WebSocket::FRAME_OP_PONG);
                continue;
            }
            if (opcode == WebSocket::FRAME_OP_PONG) {
                continue;
            }
            if (opcode == WebSocket::FRAME_OP_CLOSE) {
                connection->sendFrame(std::string(frame), kFin | WebSocket::FRAME_OP_CLOSE);
                break;
            }
            if (opcode == WebSocket::FRAME_OP_TEXT) {
                reason = "the collector sent a text frame; OpAMP uses binary";
                connection->close(kCloseProtocolError, reason);
                break;
            }
            auto assembled = assembler.add(frame, opcode == WebSocket::FRAME_OP_CONT,
                                           (flags & WebSocket::FRAME_FLAG_FIN) != 0);
            if (std::holds_alternative<opamp::WsMessageAssembler::Incomplete>(assembled)) {
                continue;
            }
            if (auto* error = std::get_if<opamp::WsFramingError>(&assembled)) {
                reason = "bad message from the collector: " + error->reason;
                connection->close(error->tooBig ? kCloseTooBig : kCloseProtocolError, reason);
                break;
            }
            const auto& bytes = std::get<opamp::WsMessage>(assembled).payload;
            pb::AgentToServer message;
            if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
                reason = "the collector sent a message that is not an AgentToServer";
                connection->close(kCloseProtocolError, reason);
                break;
            }
            assembler.release();
            if (buffer.capacity() > opamp::kKeptBufferBytes) {
                buffer.setCapacity(0, false);
            }
            auto uid = opamp::Uuid::fromBytes(message.instance_uid());
            if (!uid || *uid != expectedUid) {
                reason = "the collector reports instance UID " +
                         (uid ? uid->toString() : std::string("(invalid)")) + ", expected " +
                         expectedUid.toString();
                connection->close(kClosePolicyViolation, reason);
                if (callbacks_.rejected) {
                    callbacks_.rejected(reason);
                }
                break;
            }
            pb::ServerToAgent reply;
            reply.set_instance_uid(message.instance_uid());
            if (first) {
                reply.set_capabilities(kCapabilities);
                first = false;
            }
            connection->send(reply);
            if (callbacks_.message) {
                callbacks_.message(std::move(message));
            }
        }
    } catch (const Poco::Exception& e) {
        reason = "the connection to the collector failed: " + e.displayText();
    }
    connection->shutdown();
    release(connection);
    logger_.debug("The collector's OpAMP connection ended", {{"reason", reason}});
    if (callbacks_.disconnected) {
        callbacks_.disconnected(reason);
    }
}

bool LocalOpampServer::send(pb::ServerToAgent message) {
    std::shared_ptr<Connection> connection;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        connection = current_;
        message.set_instance_uid(expected_.instanceUid.toBytesString());
    }
    return connection && connection->send(message);
}

void LocalOpampServer::sendCustomMessage(const pb::CustomMessage& custom) {
    pb::ServerToAgent message;
    *message.mutable_custom_message() = custom;
    if (send(message)) {
        return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (customQueue_.size() >= kMaxQueuedCustomMessages) {
        const auto& dropped = customQueue_.front();
        logger_.warn("Dropped a custom message for the collector: too many wait for it to connect",
                     {{"capability", dropped.capability()}, {"type", dropped.type()}});
        customQueue_.pop_front();
    }
    customQueue_.push_back(custom);
}

void LocalOpampServer::disconnect() {
    std::shared_ptr<Connection> connection;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        connection = current_;
    }
    if (connection) {
        connection->shutdown();
    }
}

}  // namespace opampsup::localserver
