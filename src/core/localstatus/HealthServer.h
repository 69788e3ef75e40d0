#pragma once

// The supervisor's own health endpoint (`healthcheck`): `GET /health` answers 200 once the
// supervisor has its persistent state and has composed the collector's config, and 503
// with the reason before that (or while it shuts down). It says nothing about the OpAMP
// server's reachability, as upstream: a probe must not restart a supervisor that is
// waiting for its server. Requests are served on Poco's threads; the state they read is
// set from the supervisor's loop under a lock.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/config/SupervisorConfig.h"

namespace Poco::Net {
class HTTPServer;
}

namespace opampsup::localstatus {

// "host:port" as upstream reads healthcheck.endpoint; nullopt when the endpoint has no port
// (or port 0): the server is off. An empty host listens on every interface. Throws
// std::invalid_argument naming the problem.
struct ListenAddress {
    std::string host;
    std::uint16_t port = 0;
};
std::optional<ListenAddress> parseHealthEndpoint(const std::string& endpoint);

class HealthServer {
  public:
    // Throws std::runtime_error when the address cannot be bound or TLS cannot be set up.
    explicit HealthServer(const config::HealthCheckSettings& settings);
    ~HealthServer();
    HealthServer(const HealthServer&) = delete;
    HealthServer& operator=(const HealthServer&) = delete;

    void start();
    void stop();
    std::uint16_t port() const { return port_; }

    void setReady(bool ready, const std::string& reason);

    struct Answer {
        int status;
        std::string body;
    };
    Answer answer() const;

  private:
    config::HealthCheckSettings settings_;
    std::uint16_t port_ = 0;
    std::unique_ptr<Poco::Net::HTTPServer> server_;
    mutable std::mutex mutex_;
    bool ready_ = false;
    std::string reason_ = "the supervisor is starting";
};

}  // namespace opampsup::localstatus
