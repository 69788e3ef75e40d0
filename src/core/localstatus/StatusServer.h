#pragma once

// Ours: the supervisor's status on a loopback-only endpoint (`status.endpoint`), as JSON
// at `GET /status`, for `opampsupervisor status` and for people on the host. It shows what
// the server sees and more: connection, instance UID, the collector's PID, uptime and
// restarts, health, and the remote config hashes and status. Each request asks the
// supervisor for a snapshot (taken on its loop); no state is shared between threads.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/localstatus/HttpEndpoint.h"

namespace opampsup::localstatus {

struct StatusSnapshot {
    std::string version;
    std::string instanceUid;
    std::string serverEndpoint;
    bool connected = false;
    std::optional<long> collectorPid;
    std::optional<std::chrono::system_clock::time_point> collectorStartedAt;
    int collectorRestarts = 0;  // starts after the first, bootstrap excluded
    bool healthy = false;
    std::string healthError;
    std::string remoteConfigHash;  // hex; what runs (or is being moved to)
    std::string lastWorkingHash;
    std::string pendingHash;         // being validated or applied
    std::string remoteConfigStatus;  // UNSET, APPLYING, APPLIED, FAILED; "" without the capability
    std::string remoteConfigError;
    std::string collectorExecutable;
    // Packages: off unless the package capabilities are; one entry per package reported.
    bool packagesReported = false;
    struct Package {
        std::string name;  // "" for the collector itself
        std::string status;
        std::string version;  // what the agent has
        std::string offeredVersion;
        std::string error;
    };
    std::vector<Package> packages;
};

std::string statusJson(const StatusSnapshot& snapshot, std::chrono::system_clock::time_point now);

class StatusServer {
  public:
    // Throws std::invalid_argument for a bad or non-loopback endpoint, std::runtime_error
    // when it cannot listen.
    // `snapshot` runs on the endpoint's threads; nullopt when the supervisor cannot answer
    // in time (it is busy or stopping).
    using Provider = std::function<std::optional<StatusSnapshot>()>;
    StatusServer(const std::string& endpoint, Provider snapshot);
    std::uint16_t port() const { return endpoint_->port(); }
    std::string address() const;  // host:port as a client dials it
    void stop() { endpoint_->stop(); }

  private:
    HttpAnswer answer(const std::string& method, const std::string& path) const;

    std::string host_;
    Provider snapshot_;
    std::unique_ptr<HttpEndpoint> endpoint_;
};

}  // namespace opampsup::localstatus
