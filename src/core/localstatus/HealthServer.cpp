#include "core/localstatus/HealthServer.h"

#include <algorithm>
#include <stdexcept>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include "core/opamp/TlsContext.h"

namespace opampsup::localstatus {
namespace {

using Poco::Net::HTTPResponse;

class HealthHandler : public Poco::Net::HTTPRequestHandler {
  public:
    HealthHandler(const HealthServer& server, const std::map<std::string, std::string>& headers)
        : server_(server), headers_(headers) {}

    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
        for (const auto& [name, value] : headers_) {
            response.set(name, value);
        }
        response.setContentType("text/plain; charset=utf-8");
        std::string body;
        if (request.getURI() != "/health" && request.getURI().rfind("/health?", 0) != 0) {
            response.setStatus(HTTPResponse::HTTP_NOT_FOUND);
            body = "not found; the health check is GET /health\n";
        } else if (request.getMethod() != "GET" && request.getMethod() != "HEAD") {
            response.setStatus(HTTPResponse::HTTP_METHOD_NOT_ALLOWED);
            response.set("Allow", "GET, HEAD");
            body = "method not allowed\n";
        } else {
            HealthServer::Answer answer = server_.answer();
            response.setStatus(static_cast<HTTPResponse::HTTPStatus>(answer.status));
            body = answer.body + "\n";
        }
        response.setContentLength(static_cast<std::streamsize>(body.size()));
        std::ostream& out = response.send();
        if (request.getMethod() != "HEAD") {
            out << body;
        }
    }

  private:
    const HealthServer& server_;
    const std::map<std::string, std::string>& headers_;
};

class HandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
  public:
    HandlerFactory(const HealthServer& server, const std::map<std::string, std::string>& headers)
        : server_(server), headers_(headers) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
        return new HealthHandler(server_, headers_);
    }

  private:
    const HealthServer& server_;
    const std::map<std::string, std::string>& headers_;
};

Poco::Timespan timespanOf(config::Duration d) {
    return Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

}  // namespace

std::optional<ListenAddress> parseHealthEndpoint(const std::string& endpoint) {
    std::size_t colon = endpoint.rfind(':');
    if (endpoint.empty() || colon == std::string::npos) {
        return std::nullopt;  // no port: off, as upstream
    }
    ListenAddress address;
    address.host = endpoint.substr(0, colon);
    if (address.host.size() >= 2 && address.host.front() == '[' && address.host.back() == ']') {
        address.host = address.host.substr(1, address.host.size() - 2);
    }
    const std::string port = endpoint.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoul(port) > 65535) {
        throw std::invalid_argument("healthcheck.endpoint \"" + endpoint +
                                    "\": the port must be a number from 0 to 65535");
    }
    address.port = static_cast<std::uint16_t>(std::stoul(port));
    if (address.port == 0) {
        return std::nullopt;
    }
    return address;
}

HealthServer::HealthServer(const config::HealthCheckSettings& settings) : settings_(settings) {}

HealthServer::~HealthServer() {
    stop();
}

void HealthServer::start() {
    std::optional<ListenAddress> address = parseHealthEndpoint(settings_.endpoint);
    if (!address) {
        return;
    }
    const std::string host = address->host.empty() ? "0.0.0.0" : address->host;
    Poco::Net::SocketAddress bindTo;
    try {
        bindTo = Poco::Net::SocketAddress(host, address->port);
    } catch (const Poco::Exception& e) {
        throw std::runtime_error("healthcheck.endpoint \"" + settings_.endpoint +
                                 "\": " + e.displayText());
    }
    auto params = Poco::AutoPtr<Poco::Net::HTTPServerParams>(new Poco::Net::HTTPServerParams);
    params->setMaxThreads(2);
    params->setMaxQueued(16);
    config::Duration timeout =
        std::max({settings_.readTimeout, settings_.readHeaderTimeout, settings_.writeTimeout});
    if (timeout.count() > 0) {
        params->setTimeout(timespanOf(timeout));
    }
    if (settings_.idleTimeout.count() > 0) {
        params->setKeepAliveTimeout(timespanOf(settings_.idleTimeout));
    }
    try {
        // SO_REUSEADDR for quick restarts, but not SO_REUSEPORT (Poco's default): a port
        // another process listens on must be an error, not a silently shared port.
        auto listen = [&](Poco::Net::ServerSocket& socket) {
            socket.bind(bindTo, true, false);
            socket.listen(64);
            port_ = socket.address().port();
        };
        if (settings_.tls) {
            Poco::Net::SecureServerSocket socket(
                opamp::makeServerTlsContext(*settings_.tls, "healthcheck.tls"));
            listen(socket);
            server_ = std::make_unique<Poco::Net::HTTPServer>(
                new HandlerFactory(*this, settings_.responseHeaders), socket, params);
        } else {
            Poco::Net::ServerSocket socket;
            listen(socket);
            server_ = std::make_unique<Poco::Net::HTTPServer>(
                new HandlerFactory(*this, settings_.responseHeaders), socket, params);
        }
    } catch (const Poco::Exception& e) {
        throw std::runtime_error("healthcheck.endpoint: cannot listen on " + settings_.endpoint +
                                 ": " + e.displayText());
    }
    server_->start();
}

void HealthServer::stop() {
    if (server_) {
        server_->stopAll(true);
        server_.reset();
    }
}

void HealthServer::setReady(bool ready, const std::string& reason) {
    std::lock_guard<std::mutex> lock(mutex_);
    ready_ = ready;
    reason_ = reason;
}

HealthServer::Answer HealthServer::answer() const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (ready_) {
        return {200, "OK"};
    }
    return {503, reason_};
}

}  // namespace opampsup::localstatus
