#include "support/TestWsServer.h"

#include <mutex>

#include <Poco/Buffer.h>
#include <Poco/InflatingStream.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/StreamCopier.h>

namespace opampsup::testing {

class TestWsServer::Handler : public Poco::Net::HTTPRequestHandler {
  public:
    explicit Handler(TestWsServer& owner) : owner_(owner) {}

    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
        {
            std::lock_guard<std::mutex> lock(owner_.mutex_);
            if (owner_.refuseStatus_ != 0) {
                response.setStatusAndReason(
                    static_cast<Poco::Net::HTTPResponse::HTTPStatus>(owner_.refuseStatus_));
                if (!owner_.retryAfter_.empty()) {
                    response.set("Retry-After", owner_.retryAfter_);
                }
                response.setContentLength(0);
                response.send();
                owner_.refusals_.push(owner_.refuseStatus_);
                return;
            }
        }
        std::map<std::string, std::string> headers;
        for (const auto& [name, value] : request) {
            headers[name] = value;
        }
        if (request.getMethod() == Poco::Net::HTTPRequest::HTTP_POST) {
            handlePoll(request, response, headers);
            return;
        }
        Poco::Net::WebSocket ws(request, response);
        {
            std::lock_guard<std::mutex> lock(owner_.mutex_);
            owner_.current_ = &ws;
            owner_.lastWasHttp_ = false;
        }
        owner_.connections_.push(headers);
        Poco::Buffer<char> buffer(0);
        try {
            while (true) {
                buffer.resize(0);
                int flags = 0;
                int n = ws.receiveFrame(buffer, flags);
                if (n == 0 && flags == 0) {
                    break;
                }
                int opcode = flags & Poco::Net::WebSocket::FRAME_OP_BITMASK;
                std::string payload(buffer.begin(), static_cast<std::size_t>(n));
                owner_.frames_.push({opcode, payload});
                if (opcode == Poco::Net::WebSocket::FRAME_OP_CLOSE) {
                    // Answer the close, as a server should.
                    ws.sendFrame(payload.data(), static_cast<int>(payload.size()),
                                 static_cast<int>(Poco::Net::WebSocket::FRAME_FLAG_FIN) |
                                     static_cast<int>(Poco::Net::WebSocket::FRAME_OP_CLOSE));
                    break;
                }
                if (opcode == Poco::Net::WebSocket::FRAME_OP_BINARY && !payload.empty() &&
                    payload[0] == '\0') {
                    ::opamp::proto::AgentToServer message;
                    if (message.ParseFromString(payload.substr(1))) {
                        owner_.messages_.push(message);
                    }
                }
            }
        } catch (const Poco::Exception&) {
            // The client went away or a test dropped the connection.
        }
        std::lock_guard<std::mutex> lock(owner_.mutex_);
        // A newer connection may already have taken over; leave that one alone.
        if (owner_.current_ == &ws) {
            owner_.current_ = nullptr;
        }
    }

  private:
    void handlePoll(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                    const std::map<std::string, std::string>& headers) {
        std::string body;
        if (request.get("Content-Encoding", "") == "gzip") {
            Poco::InflatingInputStream inflate(request.stream(),
                                               Poco::InflatingStreamBuf::STREAM_GZIP);
            Poco::StreamCopier::copyToString(inflate, body);
        } else {
            Poco::StreamCopier::copyToString(request.stream(), body);
        }
        ::opamp::proto::AgentToServer message;
        if (request.getContentType() != "application/x-protobuf" ||
            !message.ParseFromString(body)) {
            response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_BAD_REQUEST);
            response.send();
            return;
        }
        ::opamp::proto::ServerToAgent reply;
        {
            std::lock_guard<std::mutex> lock(owner_.mutex_);
            owner_.lastWasHttp_ = true;
            if (!owner_.httpReplies_.empty()) {
                reply = owner_.httpReplies_.front();
                owner_.httpReplies_.pop_front();
            }
        }
        owner_.connections_.push(headers);
        owner_.messages_.push(message);
        std::string bytes = reply.SerializeAsString();
        response.setContentType("application/x-protobuf");
        response.setContentLength(static_cast<std::streamsize>(bytes.size()));
        response.send().write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }

    TestWsServer& owner_;
};

class TestWsServer::Factory : public Poco::Net::HTTPRequestHandlerFactory {
  public:
    explicit Factory(TestWsServer& owner) : owner_(owner) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
        return new Handler(owner_);
    }

  private:
    TestWsServer& owner_;
};

TestWsServer::TestWsServer() {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    start(socket);
}

TestWsServer::TestWsServer(const Tls& tls) : tls_(true) {
    static std::once_flag once;
    std::call_once(once, [] {
        Poco::Net::initializeSSL();
        Poco::SharedPtr<Poco::Net::InvalidCertificateHandler> reject =
            new Poco::Net::RejectCertificateHandler(true);
        Poco::Net::SSLManager::instance().initializeServer(nullptr, reject, nullptr);
    });
    Poco::Net::Context::Params params;
    params.privateKeyFile = tls.keyFile;
    params.certificateFile = tls.certFile;
    params.caLocation = tls.caFile;
    params.verificationMode = tls.requireClientCertificate ? Poco::Net::Context::VERIFY_STRICT
                                                           : Poco::Net::Context::VERIFY_NONE;
    params.loadDefaultCAs = false;
    Poco::Net::Context::Ptr context =
        new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
    // OpenSSL refuses client-certificate sessions without a session ID context.
    context->enableSessionCache(true, "opampsup-test");
    // Poco's extra check would match a client's certificate against the client's address;
    // client certificates name agents, not hosts. The chain is still verified.
    context->enableExtendedCertificateVerification(false);
    Poco::Net::SecureServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0), 64, context);
    start(socket);
}

void TestWsServer::start(Poco::Net::ServerSocket& socket) {
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(4);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket, params);
    server_->start();
}

TestWsServer::~TestWsServer() {
    drop();
    server_->stopAll(true);
}

std::string TestWsServer::endpoint() const {
    return std::string(tls_ ? "wss" : "ws") + "://127.0.0.1:" + std::to_string(server_->port()) +
           "/v1/opamp";
}

void TestWsServer::refuseWith(int status, const std::string& retryAfter) {
    std::lock_guard<std::mutex> lock(mutex_);
    refuseStatus_ = status;
    retryAfter_ = retryAfter;
}

std::string TestWsServer::httpEndpoint() const {
    return std::string(tls_ ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(server_->port()) + "/v1/opamp";
}

void TestWsServer::send(const ::opamp::proto::ServerToAgent& message) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (lastWasHttp_) {
            httpReplies_.push_back(message);
            return;
        }
    }
    sendFrame(std::string(1, '\0') + message.SerializeAsString(),
              Poco::Net::WebSocket::FRAME_BINARY);
}

void TestWsServer::sendFrame(const std::string& bytes, int flags) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (current_ != nullptr) {
        current_->sendFrame(bytes.data(), static_cast<int>(bytes.size()), flags);
    }
}

void TestWsServer::drop() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (current_ != nullptr) {
        // The peer may be gone already (ENOTCONN); this runs in the destructor, too.
        try {
            current_->shutdownReceive();
            current_->shutdownSend();
        } catch (const Poco::Exception&) {
        }
    }
}

}  // namespace opampsup::testing
