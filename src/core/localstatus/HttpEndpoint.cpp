#include "core/localstatus/HttpEndpoint.h"

#include <algorithm>
#include <stdexcept>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include "core/net/HttpServer.h"
#include "core/opamp/TlsContext.h"

namespace opampsup::localstatus {
namespace {

using Poco::Net::HTTPResponse;

class Handler : public Poco::Net::HTTPRequestHandler {
  public:
    Handler(const HttpEndpoint::Handler& answer, const std::map<std::string, std::string>& headers)
        : answer_(answer), headers_(headers) {}

    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
        std::string path = request.getURI().substr(0, request.getURI().find('?'));
        HttpAnswer answer = answer_(request.getMethod(), path);
        for (const auto& [name, value] : headers_) {
            response.set(name, value);
        }
        response.setStatus(static_cast<HTTPResponse::HTTPStatus>(answer.status));
        response.setContentType(answer.contentType);
        response.setContentLength(static_cast<std::streamsize>(answer.body.size()));
        std::ostream& out = response.send();
        if (request.getMethod() != "HEAD") {
            out << answer.body;
        }
    }

  private:
    const HttpEndpoint::Handler& answer_;
    const std::map<std::string, std::string>& headers_;
};

class Factory : public net::HandlerFactory {
  public:
    Factory(const HttpEndpoint::Handler& answer, const std::map<std::string, std::string>& headers)
        : answer_(answer), headers_(headers) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
        return new Handler(answer_, headers_);
    }

  private:
    const HttpEndpoint::Handler& answer_;
    const std::map<std::string, std::string>& headers_;
};

// Probes and `opampsupervisor status` come one at a time; a few more may wait on a slow
// answer, and anything beyond is turned away rather than given a thread.
constexpr std::size_t kMaxConnections = 4;

Poco::Timespan timespanOf(config::Duration d) {
    return Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

}  // namespace

HttpEndpoint::HttpEndpoint(const HttpEndpointOptions& options, Handler handler)
    : options_(options), handler_(std::move(handler)) {
    const std::string host = options_.address.host.empty() ? "0.0.0.0" : options_.address.host;
    const std::string shown = host + ":" + std::to_string(options_.address.port);
    Poco::Net::SocketAddress bindTo;
    try {
        bindTo = Poco::Net::SocketAddress(host, options_.address.port);
    } catch (const Poco::Exception& e) {
        throw std::runtime_error(options_.key + ": cannot listen on " + shown + ": " +
                                 e.displayText());
    }
    auto params = Poco::AutoPtr<Poco::Net::HTTPServerParams>(new Poco::Net::HTTPServerParams);
    if (options_.ioTimeout.count() > 0) {
        params->setTimeout(timespanOf(options_.ioTimeout));
    }
    if (options_.idleTimeout.count() > 0) {
        params->setKeepAliveTimeout(timespanOf(options_.idleTimeout));
    }
    try {
        // SO_REUSEADDR for quick restarts, but not SO_REUSEPORT (Poco's default): a port
        // another process listens on must be an error, not a silently shared port.
        auto listen = [&](Poco::Net::ServerSocket& socket) {
            socket.bind(bindTo, true, false);
            socket.listen(64);
            port_ = socket.address().port();
        };
        if (options_.tls) {
            Poco::Net::SecureServerSocket socket(
                opamp::makeServerTlsContext(*options_.tls, options_.tlsKey));
            listen(socket);
            server_ = std::make_unique<net::HttpServer>(
                new Factory(handler_, options_.responseHeaders), socket, params, kMaxConnections);
        } else {
            Poco::Net::ServerSocket socket;
            listen(socket);
            server_ = std::make_unique<net::HttpServer>(
                new Factory(handler_, options_.responseHeaders), socket, params, kMaxConnections);
        }
    } catch (const Poco::Exception& e) {
        throw std::runtime_error(options_.key + ": cannot listen on " + shown + ": " +
                                 e.displayText());
    }
    server_->start();
}

HttpEndpoint::~HttpEndpoint() {
    stop();
}

void HttpEndpoint::stop() {
    if (server_) {
        server_->stop();
        server_.reset();
    }
}

}  // namespace opampsup::localstatus
