#include "core/cli/StatusCommand.h"

#include <fstream>
#include <sstream>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <yaml-cpp/yaml.h>

namespace opampsup::cli {
namespace {

std::string text(const YAML::Node& node, const std::string& fallback = "-") {
    return node && node.IsScalar() && !node.Scalar().empty() ? node.Scalar() : fallback;
}

std::string duration(long long seconds) {
    std::ostringstream out;
    if (seconds >= 86400) {
        out << seconds / 86400 << "d";
    }
    if (seconds >= 3600) {
        out << (seconds % 86400) / 3600 << "h";
    }
    if (seconds >= 60) {
        out << (seconds % 3600) / 60 << "m";
    }
    out << seconds % 60 << "s";
    return out.str();
}

void printHuman(const YAML::Node& s, std::ostream& out) {
    auto line = [&](const char* label, const std::string& value) {
        out << label << std::string(16 - std::string(label).size(), ' ') << value << '\n';
    };
    line("supervisor", "running, version " + text(s["version"]));
    line("instance uid", text(s["instance_uid"]));
    line("server",
         text(s["server"]["endpoint"]) +
             (s["server"]["connected"].as<bool>(false) ? ", connected" : ", not connected"));
    const YAML::Node c = s["collector"];
    std::string collector = "not running";
    if (c["running"].as<bool>(false)) {
        collector = "running, pid " + text(c["pid"]);
        if (c["uptime_seconds"]) {
            collector += ", up " + duration(c["uptime_seconds"].as<long long>(0));
        }
    }
    collector += ", " + text(c["restarts"], "0") + " restarts";
    line("collector", collector);
    line("health",
         c["healthy"].as<bool>(false)
             ? std::string("healthy")
             : "unhealthy" + (text(c["last_error"], "").empty() ? std::string()
                                                                : ": " + text(c["last_error"])));
    const YAML::Node r = s["remote_config"];
    if (!text(r["status"], "").empty()) {
        std::string status = text(r["status"]) + " " + text(r["hash"], "(none)");
        if (!text(r["error"], "").empty()) {
            status += ": " + text(r["error"]);
        }
        line("remote config", status);
        line("last working", text(r["last_working_hash"]));
        line("pending", text(r["pending_hash"]));
    } else {
        line("remote config", "not accepted (capabilities.accepts_remote_config is off)");
    }
    line("executable", text(c["executable"], ""));
    const YAML::Node packages = s["packages"];
    if (!packages["supported"].as<bool>(false)) {
        line("packages", "not accepted (capabilities.accepts_packages is off)");
        return;
    }
    if (!packages["items"] || packages["items"].size() == 0) {
        line("packages", "none offered");
    }
    for (const YAML::Node& p : packages["items"]) {
        std::string name = text(p["name"], "");
        std::string entry = (name.empty() ? std::string("collector") : name) + " " +
                            text(p["status"], "?") + " " + text(p["version"], "(no version)");
        if (text(p["offered_version"], "") != text(p["version"], "")) {
            entry += " (offered " + text(p["offered_version"], "?") + ")";
        }
        if (!text(p["error"], "").empty()) {
            entry += ": " + text(p["error"]);
        }
        line("package", entry);
    }
}

}  // namespace

int showStatus(const config::SupervisorConfig& config, bool json, std::ostream& out,
               std::ostream& err) {
    if (config.status.endpoint.empty()) {
        err << "status.endpoint is \"\" in this config: the supervisor serves no status\n";
        return kExitNotRunning;
    }
    const std::filesystem::path file = config.storage.directory / "status_endpoint";
    std::ifstream in(file);
    std::string address;
    if (!(in >> address)) {
        err << "not running: no supervisor has published its status in " << file.string() << '\n';
        return kExitNotRunning;
    }
    std::string body;
    try {
        Poco::Net::HTTPClientSession session{Poco::Net::SocketAddress(address)};
        session.setTimeout(Poco::Timespan(5, 0));
        Poco::Net::HTTPRequest request("GET", "/status", Poco::Net::HTTPMessage::HTTP_1_1);
        session.sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::ostringstream text;
        Poco::StreamCopier::copyStream(session.receiveResponse(response), text);
        body = text.str();
        if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) {
            err << "the supervisor at " << address << " answered " << response.getStatus() << ": "
                << body;
            return 1;
        }
    } catch (const Poco::Exception& e) {
        err << "not running: cannot reach the status endpoint " << address << " ("
            << e.displayText() << ")\n";
        return kExitNotRunning;
    }
    if (json) {
        out << body;
        return 0;
    }
    try {
        printHuman(YAML::Load(body), out);
    } catch (const YAML::Exception& e) {
        err << "the status from " << address << " does not parse: " << e.what() << '\n';
        return 1;
    }
    return 0;
}

}  // namespace opampsup::cli
