#include "core/localstatus/HealthServer.h"

#include <algorithm>

namespace opampsup::localstatus {

HealthServer::HealthServer(config::HealthCheckSettings settings) : settings_(std::move(settings)) {}

HealthServer::~HealthServer() {
    stop();
}

void HealthServer::start() {
    std::optional<ListenAddress> address =
        parseListenAddress(settings_.endpoint, "healthcheck.endpoint", true);
    if (!address) {
        return;  // no port: off, as upstream
    }
    HttpEndpointOptions options;
    options.address = *address;
    options.key = "healthcheck.endpoint";
    options.tls = settings_.tls;
    options.tlsKey = "healthcheck.tls";
    options.responseHeaders = settings_.responseHeaders;
    options.ioTimeout =
        std::max({settings_.readTimeout, settings_.readHeaderTimeout, settings_.writeTimeout});
    options.idleTimeout = settings_.idleTimeout;
    endpoint_ = std::make_unique<HttpEndpoint>(
        options, [this](const std::string& method, const std::string& path) {
            return answer(method, path);
        });
}

void HealthServer::stop() {
    if (endpoint_) {
        endpoint_->stop();
    }
}

void HealthServer::setReady(bool ready, const std::string& reason) {
    std::lock_guard<std::mutex> lock(mutex_);
    ready_ = ready;
    reason_ = reason;
}

HttpAnswer HealthServer::answer(const std::string& method, const std::string& path) const {
    if (path != "/health") {
        return {404, "not found; the health check is GET /health\n"};
    }
    if (method != "GET" && method != "HEAD") {
        return {405, "method not allowed\n"};
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (ready_) {
        return {200, "OK\n"};
    }
    return {503, reason_ + "\n"};
}

}  // namespace opampsup::localstatus
