#include "core/localstatus/StatusServer.h"

#include <stdexcept>

#include "core/telemetry/JsonText.h"

namespace opampsup::localstatus {
namespace {

void field(std::string& out, const char* name, const std::string& value, bool first = false) {
    out += first ? "" : ",";
    telemetry::appendJsonString(out, name);
    out += ':';
    telemetry::appendJsonString(out, value);
}

void field(std::string& out, const char* name, long long value) {
    out += ',';
    telemetry::appendJsonString(out, name);
    out += ':' + std::to_string(value);
}

void flag(std::string& out, const char* name, bool value) {
    out += ',';
    telemetry::appendJsonString(out, name);
    out += value ? ":true" : ":false";
}

}  // namespace

std::string statusJson(const StatusSnapshot& s, std::chrono::system_clock::time_point now) {
    std::string out = "{";
    field(out, "version", s.version, true);
    field(out, "instance_uid", s.instanceUid);
    out += ",\"server\":{";
    field(out, "endpoint", s.serverEndpoint, true);
    flag(out, "connected", s.connected);
    out += "},\"collector\":{";
    out += s.collectorPid ? "\"running\":true" : "\"running\":false";
    if (s.collectorPid) {
        field(out, "pid", *s.collectorPid);
    }
    if (s.collectorStartedAt) {
        auto up = std::chrono::duration_cast<std::chrono::seconds>(now - *s.collectorStartedAt);
        field(out, "uptime_seconds", static_cast<long long>(up.count()));
    }
    field(out, "restarts", s.collectorRestarts);
    flag(out, "healthy", s.healthy);
    field(out, "last_error", s.healthError);
    field(out, "executable", s.collectorExecutable);
    out += "},\"remote_config\":{";
    field(out, "status", s.remoteConfigStatus, true);
    field(out, "hash", s.remoteConfigHash);
    field(out, "last_working_hash", s.lastWorkingHash);
    field(out, "pending_hash", s.pendingHash);
    field(out, "error", s.remoteConfigError);
    out += "},\"packages\":{\"supported\":";
    out += s.packagesReported ? "true" : "false";
    out += ",\"items\":[";
    for (std::size_t i = 0; i < s.packages.size(); ++i) {
        const StatusSnapshot::Package& p = s.packages[i];
        out += i == 0 ? "{" : ",{";
        field(out, "name", p.name, true);
        field(out, "status", p.status);
        field(out, "version", p.version);
        field(out, "offered_version", p.offeredVersion);
        field(out, "error", p.error);
        out += "}";
    }
    out += "]}}\n";
    return out;
}

StatusServer::StatusServer(const std::string& endpoint, Provider snapshot)
    : snapshot_(std::move(snapshot)) {
    std::optional<ListenAddress> address = parseListenAddress(endpoint, "status.endpoint", false);
    if (!address || !config::isLoopbackHost(address->host)) {
        throw std::invalid_argument("status.endpoint \"" + endpoint +
                                    "\": must be a loopback host:port, such as 127.0.0.1:0");
    }
    host_ = address->host;
    HttpEndpointOptions options;
    options.address = *address;
    options.key = "status.endpoint";
    endpoint_ = std::make_unique<HttpEndpoint>(
        options, [this](const std::string& method, const std::string& path) {
            return answer(method, path);
        });
}

std::string StatusServer::address() const {
    const std::string host = host_ == "localhost" ? "127.0.0.1" : host_;
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
           std::to_string(port());
}

HttpAnswer StatusServer::answer(const std::string& method, const std::string& path) const {
    if (path != "/status") {
        return {404, "not found; the status is GET /status\n"};
    }
    if (method != "GET" && method != "HEAD") {
        return {405, "method not allowed\n"};
    }
    std::optional<StatusSnapshot> snapshot = snapshot_();
    if (!snapshot) {
        return {503, "the supervisor did not answer in time (busy or stopping)\n"};
    }
    return {200, statusJson(*snapshot, std::chrono::system_clock::now()), "application/json"};
}

}  // namespace opampsup::localstatus
