#pragma once

// The supervisor's own health endpoint (`healthcheck`): `GET /health` answers 200 once the
// supervisor has its persistent state and has composed the collector's config, and 503
// with the reason before that (or while it shuts down). It says nothing about the OpAMP
// server's reachability, as upstream: a probe must not restart a supervisor that is
// waiting for its server. Readiness is set from the supervisor's loop; requests read it on
// the endpoint's threads, under a lock.

#include <memory>
#include <mutex>
#include <string>

#include "core/config/SupervisorConfig.h"
#include "core/localstatus/HttpEndpoint.h"

namespace opampsup::localstatus {

class HealthServer {
  public:
    explicit HealthServer(config::HealthCheckSettings settings);
    ~HealthServer();
    HealthServer(const HealthServer&) = delete;
    HealthServer& operator=(const HealthServer&) = delete;

    // Serves when healthcheck.endpoint has a port. Throws std::invalid_argument for a bad
    // endpoint and std::runtime_error when it cannot listen.
    void start();
    void stop();
    std::uint16_t port() const { return endpoint_ ? endpoint_->port() : 0; }

    void setReady(bool ready, const std::string& reason);
    HttpAnswer answer(const std::string& method, const std::string& path) const;

  private:
    config::HealthCheckSettings settings_;
    std::unique_ptr<HttpEndpoint> endpoint_;
    mutable std::mutex mutex_;
    bool ready_ = false;
    std::string reason_ = "the supervisor is starting";
};

}  // namespace opampsup::localstatus
