#include "DevServer.h"

#include <mutex>
#include <stdexcept>

#include <Poco/Buffer.h>
#include <Poco/DeflatingStream.h>
#include <Poco/InflatingStream.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/SHA2Engine.h>
#include <Poco/StreamCopier.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>

#include "AdminApi.h"
#include "CsrSigner.h"
#include "FileServer.h"
#include "core/opamp/WsFraming.h"

namespace opampsup::devserver {
namespace pb = ::opamp::proto;
using Poco::Net::HTTPResponse;
using Poco::Net::WebSocket;

namespace {

constexpr const char* kOpampPath = "/v1/opamp";
constexpr const char* kFilesPrefix = "/files/";
constexpr int kFin = WebSocket::FRAME_FLAG_FIN;

// One agent's WebSocket, written to by its handler thread and by admin requests.
class WsConnection : public AgentConnection {
  public:
    explicit WsConnection(WebSocket socket) : socket_(std::move(socket)) {}

    bool send(const pb::ServerToAgent& message) override {
        std::string frame = opamp::frameWsMessage(message.SerializeAsString());
        return sendFrame(frame, WebSocket::FRAME_BINARY);
    }

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

    void drop() override {
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

    void markClosed() {
        std::lock_guard<std::mutex> lock(mutex_);
        closed_ = true;
    }

  private:
    std::mutex mutex_;
    WebSocket socket_;
    bool closed_ = false;
};

void refuse(HTTPResponse& response, const Faults::HttpRefusal& refusal) {
    response.setStatusAndReason(static_cast<HTTPResponse::HTTPStatus>(refusal.status));
    if (!refusal.retryAfter.empty()) {
        response.set("Retry-After", refusal.retryAfter);
    }
    response.setContentLength(0);
}

void sendText(Poco::Net::HTTPServerResponse& response, HTTPResponse::HTTPStatus status,
              const std::string& text) {
    response.setStatusAndReason(status);
    response.setContentType("text/plain");
    response.setContentLength(static_cast<std::streamsize>(text.size()));
    response.send() << text;
}

// The common name of the client certificate the request's connection presented; empty
// without TLS or without a certificate.
std::string clientCertificateName(Poco::Net::HTTPServerRequest& request, bool tls) {
    if (!tls) {
        return "";
    }
    auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(request);
    try {
        Poco::Net::SecureStreamSocket secure(impl.socket());
        return secure.havePeerCertificate() ? secure.peerCertificate().commonName() : "";
    } catch (const Poco::Exception&) {
        return "";
    }
}

class OpampHandler : public Poco::Net::HTTPRequestHandler {
  public:
    explicit OpampHandler(DevServer& server) : server_(server) {}

    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
        if (auto name = fileName(request); name && request.getMethod() == "GET") {
            serveFile(server_, request, response, *name);
            return;
        }
        if (request.getURI() != kOpampPath) {
            sendText(response, HTTPResponse::HTTP_NOT_FOUND,
                     "no such path; OpAMP is at /v1/opamp\n");
            return;
        }
        if (!server_.authorized(request.get("Authorization", ""))) {
            response.setStatusAndReason(HTTPResponse::HTTP_UNAUTHORIZED);
            response.set("WWW-Authenticate", "Bearer");
            response.setContentLength(0);
            response.send();
            server_.log("refused " + request.clientAddress().toString() +
                        " with HTTP 401: no accepted Authorization header");
            return;
        }
        if (auto refusal = server_.faults().takeHttpRefusal()) {
            refuse(response, *refusal);
            response.send();
            server_.log("refused " + request.clientAddress().toString() + " with HTTP " +
                        std::to_string(refusal->status) + " (injected fault)");
            return;
        }
        if (request.getMethod() == "POST") {
            handlePoll(request, response);
        } else if (Poco::icompare(request.get("Upgrade", ""), "websocket") == 0) {
            handleWebSocket(request, response);
        } else {
            sendText(response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED,
                     "OpAMP takes a WebSocket upgrade or a POST\n");
        }
    }

  private:
    // The file a /files/<name> request names, decoded and without a query (download URLs
    // may carry one); nothing for other paths.
    static std::optional<std::string> fileName(const Poco::Net::HTTPServerRequest& request) {
        std::string path;
        try {
            path = Poco::URI(request.getURI()).getPath();
        } catch (const Poco::Exception&) {
            return std::nullopt;
        }
        if (path.rfind(kFilesPrefix, 0) != 0) {
            return std::nullopt;
        }
        return path.substr(std::string(kFilesPrefix).size());
    }

    void handlePoll(Poco::Net::HTTPServerRequest& request,
                    Poco::Net::HTTPServerResponse& response) {
        Peer peer{request.clientAddress().toString(),
                  clientCertificateName(request, server_.tls())};
        if (server_.faults().takeHttpDrop()) {
            // The connection ends with no answer, as when a proxy or network fails.
            auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(request);
            impl.socket().shutdown();
            server_.log("dropped a poll from " + peer.address + " (injected fault)");
            return;
        }
        if (request.getContentType() != "application/x-protobuf") {
            sendText(response, HTTPResponse::HTTP_UNSUPPORTED_MEDIA_TYPE,
                     "Content-Type must be application/x-protobuf\n");
            return;
        }
        if (request.hasContentLength() &&
            request.getContentLength64() > static_cast<std::int64_t>(opamp::kMaxMessageBytes)) {
            sendText(response, HTTPResponse::HTTP_REQUEST_ENTITY_TOO_LARGE,
                     "message over the 64 MiB limit\n");
            return;
        }
        std::string body;
        if (Poco::icompare(request.get("Content-Encoding", ""), "gzip") == 0) {
            Poco::InflatingInputStream inflate(request.stream(),
                                               Poco::InflatingStreamBuf::STREAM_GZIP);
            Poco::StreamCopier::copyToString(inflate, body);
        } else {
            Poco::StreamCopier::copyToString(request.stream(), body);
        }
        pb::AgentToServer message;
        if (!message.ParseFromString(body)) {
            sendText(response, HTTPResponse::HTTP_BAD_REQUEST, "not an AgentToServer message\n");
            return;
        }
        pb::ServerToAgent reply;
        if (auto error = server_.faults().takeError()) {
            reply = errorReply(message, *error, TransportKind::Http);
        } else {
            reply =
                server_.agents().onAgentMessage(message, TransportKind::Http, peer, nullptr, false);
        }
        std::string bytes = reply.SerializeAsString();
        response.setContentType("application/x-protobuf");
        bool gzip = request.get("Accept-Encoding", "").find("gzip") != std::string::npos &&
                    bytes.size() > 1024;
        if (gzip) {
            response.set("Content-Encoding", "gzip");
            response.setChunkedTransferEncoding(true);
            Poco::DeflatingOutputStream deflate(response.send(),
                                                Poco::DeflatingStreamBuf::STREAM_GZIP);
            deflate.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
            deflate.close();
        } else {
            response.setContentLength(static_cast<std::streamsize>(bytes.size()));
            response.send().write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        }
    }

    pb::ServerToAgent errorReply(const pb::AgentToServer& message,
                                 const pb::ServerErrorResponse& error, TransportKind transport) {
        pb::ServerToAgent reply;
        reply.set_instance_uid(message.instance_uid());
        *reply.mutable_error_response() = error;
        server_.agents().recordRefused(message, transport, reply);
        server_.log("answered with an error response (injected fault)");
        return reply;
    }

    void handleWebSocket(Poco::Net::HTTPServerRequest& request,
                         Poco::Net::HTTPServerResponse& response) {
        Peer who{request.clientAddress().toString(), clientCertificateName(request, server_.tls())};
        const std::string& peer = who.address;
        WebSocket ws(request, response);
        ws.setMaxPayloadSize(static_cast<int>(opamp::kMaxMessageBytes + 16));
        auto connection = std::make_shared<WsConnection>(ws);
        server_.log("websocket connected: " + peer +
                    (who.certificateCommonName.empty()
                         ? ""
                         : " (client certificate " + who.certificateCommonName + ")"));
        bool first = true;
        std::string message;
        Poco::Buffer<char> buffer(0);
        try {
            while (!server_.stopping()) {
                if (!ws.poll(Poco::Timespan(0, 200 * 1000), Poco::Net::Socket::SELECT_READ)) {
                    continue;
                }
                buffer.resize(0);
                int flags = 0;
                int n = ws.receiveFrame(buffer, flags);
                if (n == 0 && flags == 0) {
                    break;  // the peer closed the TCP connection
                }
                int opcode = flags & WebSocket::FRAME_OP_BITMASK;
                std::string payload(buffer.begin(), static_cast<std::size_t>(n));
                if (opcode == WebSocket::FRAME_OP_PING) {
                    connection->sendFrame(payload, kFin | WebSocket::FRAME_OP_PONG);
                    continue;
                }
                if (opcode == WebSocket::FRAME_OP_PONG) {
                    continue;
                }
                if (opcode == WebSocket::FRAME_OP_CLOSE) {
                    connection->sendFrame(payload, kFin | WebSocket::FRAME_OP_CLOSE);
                    break;
                }
                if (opcode == WebSocket::FRAME_OP_TEXT) {
                    closeWith(*connection, WebSocket::WS_PAYLOAD_NOT_ACCEPTABLE,
                              "OpAMP uses binary messages", peer);
                    break;
                }
                message += payload;  // binary or continuation
                if ((flags & WebSocket::FRAME_FLAG_FIN) == 0) {
                    continue;
                }
                if (!handleMessage(*connection, connection, message, who, first)) {
                    break;
                }
                message.clear();
                first = false;
            }
        } catch (const Poco::Exception& e) {
            server_.log("websocket " + peer + " failed: " + e.displayText());
        }
        connection->markClosed();
        server_.agents().onConnectionClosed(connection);
        server_.log("websocket closed: " + peer);
    }

    bool handleMessage(WsConnection& connection, const std::shared_ptr<WsConnection>& shared,
                       const std::string& frame, const Peer& who, bool first) {
        const std::string& peer = who.address;
        auto unframed = opamp::unframeWsMessage(frame);
        if (auto* error = std::get_if<opamp::WsFramingError>(&unframed)) {
            closeWith(connection, WebSocket::WS_PROTOCOL_ERROR, error->reason, peer);
            return false;
        }
        const auto& payload = std::get<opamp::WsMessage>(unframed).payload;
        pb::AgentToServer message;
        if (!message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
            closeWith(connection, WebSocket::WS_PAYLOAD_NOT_ACCEPTABLE,
                      "not an AgentToServer message", peer);
            return false;
        }
        pb::ServerToAgent reply;
        if (auto error = server_.faults().takeError()) {
            reply = errorReply(message, *error, TransportKind::WebSocket);
        } else {
            reply = server_.agents().onAgentMessage(message, TransportKind::WebSocket, who, shared,
                                                    first);
        }
        connection.send(reply);
        return true;
    }

    void closeWith(WsConnection& connection, int code, const std::string& reason,
                   const std::string& peer) {
        std::string payload;
        payload += static_cast<char>((code >> 8) & 0xFF);
        payload += static_cast<char>(code & 0xFF);
        payload += reason.substr(0, 120);
        connection.sendFrame(payload, kFin | WebSocket::FRAME_OP_CLOSE);
        server_.log("closed websocket " + peer + ": " + reason);
    }

    DevServer& server_;
};

}  // namespace

class DevServer::OpampFactory : public Poco::Net::HTTPRequestHandlerFactory {
  public:
    explicit OpampFactory(DevServer& server) : server_(server) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
        return new OpampHandler(server_);
    }

  private:
    DevServer& server_;
};

DevServer::DevServer(Options options)
    : options_(std::move(options)),
      agents_(options_.recordLimit),
      acceptedAuthorization_(options_.acceptedAuthorization) {
    agents_.offerHeartbeatInterval(options_.heartbeatIntervalSeconds);
}

DevServer::~DevServer() {
    stop();
}

void DevServer::log(const std::string& line) const {
    if (options_.log) {
        options_.log(line);
    }
}

namespace {

Poco::Net::Context::Ptr serverTlsContext(const DevServer::Options& options) {
    static std::once_flag once;
    std::call_once(once, [] {
        Poco::Net::initializeSSL();
        Poco::SharedPtr<Poco::Net::InvalidCertificateHandler> reject =
            new Poco::Net::RejectCertificateHandler(true);
        Poco::Net::SSLManager::instance().initializeServer(nullptr, reject, nullptr);
    });
    Poco::Net::Context::Params params;
    params.privateKeyFile = options.keyFile;
    params.certificateFile = options.certFile;
    params.caLocation = options.clientCaFile;
    params.loadDefaultCAs = false;
    params.verificationMode = Poco::Net::Context::VERIFY_NONE;
    if (!options.clientCaFile.empty()) {
        // With a CSR CA, an agent without a certificate may connect to ask for one; a
        // certificate it presents must still verify.
        params.verificationMode = options.csrCaCertFile.empty()
                                      ? Poco::Net::Context::VERIFY_STRICT
                                      : Poco::Net::Context::VERIFY_RELAXED;
    }
    Poco::Net::Context::Ptr context =
        new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
    // OpenSSL refuses client-certificate sessions without a session ID context.
    context->enableSessionCache(true, "opamp-devserver");
    // Poco would match a client certificate against the client's address; agent
    // certificates name agents, not hosts. The chain is still verified.
    context->enableExtendedCertificateVerification(false);
    return context;
}

}  // namespace

void DevServer::start() {
    if (options_.certFile.empty() != options_.keyFile.empty()) {
        throw std::invalid_argument("TLS needs both a certificate and a key file");
    }
    if (!options_.clientCaFile.empty() && options_.certFile.empty()) {
        throw std::invalid_argument("a client CA (mTLS) needs TLS: give a certificate and key");
    }
    if (options_.csrCaCertFile.empty() != options_.csrCaKeyFile.empty()) {
        throw std::invalid_argument("signing CSRs needs both a CA certificate and its key");
    }
    if (signsCsrs()) {
        agents_.setCsrSigner(
            std::make_shared<CsrSigner>(options_.csrCaCertFile, options_.csrCaKeyFile,
                                        std::chrono::hours(24) * options_.csrValidityDays));
    }
    Poco::Net::SocketAddress address(options_.host, options_.port);
    Poco::Net::SocketAddress adminAddress(options_.adminHost, options_.adminPort);
    pool_ = std::make_unique<Poco::ThreadPool>(4, static_cast<int>(options_.maxConnections) + 8);

    std::unique_ptr<Poco::Net::ServerSocket> socket;
    try {
        if (tls()) {
            socket = std::make_unique<Poco::Net::SecureServerSocket>(address, 64,
                                                                     serverTlsContext(options_));
        } else {
            socket = std::make_unique<Poco::Net::ServerSocket>(address, 64);
        }
    } catch (const Poco::Exception& e) {
        throw std::runtime_error("cannot listen on " + address.toString() + ": " + e.displayText());
    }
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(static_cast<int>(options_.maxConnections));
    params->setMaxQueued(static_cast<int>(options_.maxConnections));
    opampServer_ =
        std::make_unique<Poco::Net::HTTPServer>(new OpampFactory(*this), *pool_, *socket, params);

    std::unique_ptr<Poco::Net::ServerSocket> adminSocket;
    try {
        adminSocket = std::make_unique<Poco::Net::ServerSocket>(adminAddress, 64);
    } catch (const Poco::Exception& e) {
        opampServer_.reset();
        throw std::runtime_error("cannot listen on " + adminAddress.toString() + ": " +
                                 e.displayText());
    }
    auto* adminParams = new Poco::Net::HTTPServerParams;
    adminParams->setMaxThreads(4);
    adminServer_ = std::make_unique<Poco::Net::HTTPServer>(makeAdminFactory(*this), *pool_,
                                                           *adminSocket, adminParams);
    port_ = opampServer_->port();
    adminPort_ = adminServer_->port();
    opampServer_->start();
    adminServer_->start();
}

void DevServer::stop() {
    if (!opampServer_) {
        return;
    }
    stopping_ = true;
    agents_.dropConnections();
    adminServer_->stopAll(true);
    opampServer_->stopAll(true);
    pool_->joinAll();
    adminServer_.reset();
    opampServer_.reset();
}

std::uint16_t DevServer::port() const {
    return port_;
}
std::uint16_t DevServer::adminPort() const {
    return adminPort_;
}

std::string DevServer::endpoint(bool websocket) const {
    std::string scheme = websocket ? (tls() ? "wss" : "ws") : (tls() ? "https" : "http");
    std::string host = options_.host == "0.0.0.0" ? "127.0.0.1" : options_.host;
    return scheme + "://" + host + ":" + std::to_string(port()) + kOpampPath;
}

std::string DevServer::adminUrl() const {
    std::string host = options_.adminHost == "0.0.0.0" ? "127.0.0.1" : options_.adminHost;
    return "http://" + host + ":" + std::to_string(adminPort()) + "/api";
}

std::string DevServer::pageUrl() const {
    const std::string api = adminUrl();
    return api.substr(0, api.size() - std::string("/api").size()) + "/";
}

void DevServer::requireAuthorization(std::set<std::string> accepted) {
    std::lock_guard<std::mutex> lock(authMutex_);
    acceptedAuthorization_ = std::move(accepted);
}

bool DevServer::authorized(const std::string& authorization) const {
    std::lock_guard<std::mutex> lock(authMutex_);
    return acceptedAuthorization_.empty() || acceptedAuthorization_.count(authorization) > 0;
}

std::vector<std::string> DevServer::acceptedAuthorization() const {
    std::lock_guard<std::mutex> lock(authMutex_);
    return {acceptedAuthorization_.begin(), acceptedAuthorization_.end()};
}

std::string DevServer::putFile(const std::string& name, std::string content) {
    Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
    sha.update(content.data(), static_cast<unsigned>(content.size()));
    ServedFile file{std::make_shared<const std::string>(std::move(content)),
                    Poco::DigestEngine::digestToHex(sha.digest())};
    std::lock_guard<std::mutex> lock(filesMutex_);
    files_[name] = file;
    return file.sha256;
}

std::optional<std::string> DevServer::file(const std::string& name) const {
    auto served = servedFile(name);
    if (!served) {
        return std::nullopt;
    }
    return *served->content;
}

std::optional<DevServer::ServedFile> DevServer::servedFile(const std::string& name) const {
    std::lock_guard<std::mutex> lock(filesMutex_);
    auto it = files_.find(name);
    if (it == files_.end()) {
        return std::nullopt;
    }
    return it->second;
}

void DevServer::recordFileRequest(const std::string& name, Headers headers) {
    std::string range;
    for (const auto& [header, value] : headers) {
        if (Poco::icompare(header, "Range") == 0) {
            range = value;
        }
    }
    std::lock_guard<std::mutex> lock(fileRequestsMutex_);
    FileRequests& record = fileRequests_[name];
    ++record.count;
    record.ranges.push_back(std::move(range));
    if (record.ranges.size() > options_.recordLimit) {
        record.ranges.erase(record.ranges.begin());
    }
    record.lastHeaders = std::move(headers);
}

DevServer::FileRequests DevServer::fileRequests(const std::string& name) const {
    std::lock_guard<std::mutex> lock(fileRequestsMutex_);
    auto it = fileRequests_.find(name);
    return it == fileRequests_.end() ? FileRequests{} : it->second;
}

}  // namespace opampsup::devserver
