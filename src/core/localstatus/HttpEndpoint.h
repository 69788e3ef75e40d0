#pragma once

// A small HTTP(S) server for the supervisor's local endpoints (the health check and the
// status): it binds one address, serves each connection on a thread of its own (a few at
// most), and asks a handler for each answer. The handler runs on those threads: it must
// only read state guarded by its own lock.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/config/ListenAddress.h"
#include "core/config/SupervisorConfig.h"

namespace opampsup::net {
class HttpServer;
}

namespace opampsup::localstatus {

using config::ListenAddress;
using config::parseListenAddress;

struct HttpAnswer {
    int status = 200;
    std::string body;
    std::string contentType = "text/plain; charset=utf-8";
};

struct HttpEndpointOptions {
    ListenAddress address;
    std::string key;  // the config key, for errors ("healthcheck.endpoint")
    std::optional<config::TlsServerSettings> tls;
    std::string tlsKey;  // the TLS settings' config key, for errors ("healthcheck.tls")
    std::map<std::string, std::string> responseHeaders;
    config::Duration ioTimeout{0};    // 0: Poco's default
    config::Duration idleTimeout{0};  // keep-alive; 0: Poco's default
};

class HttpEndpoint {
  public:
    using Handler = std::function<HttpAnswer(const std::string& method, const std::string& path)>;

    // Binds (without SO_REUSEPORT, so a port in use is an error) and starts serving.
    // Throws std::runtime_error naming the key and the address.
    HttpEndpoint(const HttpEndpointOptions& options, Handler handler);
    ~HttpEndpoint();
    HttpEndpoint(const HttpEndpoint&) = delete;
    HttpEndpoint& operator=(const HttpEndpoint&) = delete;

    std::uint16_t port() const { return port_; }
    void stop();

  private:
    HttpEndpointOptions options_;
    Handler handler_;
    std::uint16_t port_ = 0;
    std::unique_ptr<net::HttpServer> server_;
};

}  // namespace opampsup::localstatus
