#pragma once

// What the fault-injection tests share, on top of the end-to-end fixture (the real
// opampsupervisor binary managing the stand-in collector, against a dev server on
// loopback): remote configs whose output file tells which one runs, the collectors that
// really run for the test's storage (from /proc), what the server believes about the agent,
// and a check that the persisted state parses.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <Poco/JSON/Stringifier.h>
#include <dirent.h>
#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include "core/opamp/Hex.h"
#include "e2e/SupervisorE2e.h"

namespace opampsup::faults {

namespace pb = ::opamp::proto;
using testing::Child;
using testing::kDeadline;
using testing::waitUntil;

// A file under /proc, read whole; what could be read when the process goes meanwhile.
inline std::string readProcFile(const std::string& path) {
    std::string content;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return content;
    }
    char buffer[4096];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) {
        content.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return content;
}

// The command line of a process, one string per argument; empty when it is gone.
inline std::vector<std::string> commandLineOf(pid_t pid) {
    const std::string raw = readProcFile("/proc/" + std::to_string(pid) + "/cmdline");
    std::vector<std::string> args;
    std::size_t start = 0;
    for (std::size_t nul; (nul = raw.find('\0', start)) != std::string::npos; start = nul + 1) {
        args.push_back(raw.substr(start, nul - start));
    }
    return args;
}

// One variable of a process's environment; empty when unset or the process is gone.
inline std::string environmentOf(pid_t pid, const std::string& name) {
    const std::string raw = readProcFile("/proc/" + std::to_string(pid) + "/environ");
    std::size_t start = 0;
    for (std::size_t nul; (nul = raw.find('\0', start)) != std::string::npos; start = nul + 1) {
        if (raw.compare(start, name.size() + 1, name + "=") == 0) {
            return raw.substr(start + name.size() + 1, nul - start - name.size() - 1);
        }
    }
    return "";
}

class FaultsE2e : public e2e::SupervisorE2e {
  protected:
    // A config whose traces pipeline writes to `out`: the file tells which config runs.
    static std::string producing(const std::filesystem::path& out,
                                 const std::string& receiverExtra = "") {
        return "receivers:\n  standin:\n    interval: 50ms\n" + receiverExtra +
               "exporters:\n  file:\n    path: " + out.string() +
               "\nservice:\n  pipelines:\n    traces:\n      receivers: [standin]\n"
               "      exporters: [file]\n";
    }

    // A supervisor that takes remote configs and reports everything, with no local config.
    std::filesystem::path remoteConfigSupervisor(const std::string& endpoint,
                                                 const std::string& agentExtra = "",
                                                 const std::string& otherSections = "",
                                                 const std::string& extraCapabilities = "") {
        return supervisorConfig(endpoint,
                                "  reports_health: true\n  reports_effective_config: true\n"
                                "  accepts_remote_config: true\n"
                                "  accepts_opamp_connection_settings: true\n" +
                                    extraCapabilities,
                                std::string("  executable: ") + OTELCOL_STANDIN_PATH +
                                    "\n  config_apply_timeout: 5s\n" + agentExtra,
                                otherSections);
    }

    // The stand-in collectors running for this test's storage (their --config is in it),
    // the `validate` runs left out; zombies are not running. A process a collector started
    // is not a second collector: under ASan, LeakSanitizer's check at exit runs in a
    // helper task cloned from the exiting collector, with the same command line.
    std::vector<pid_t> collectorProcesses() const {
        std::vector<pid_t> candidates = standinProcesses();
        std::vector<pid_t> found;
        for (pid_t pid : candidates) {
            const pid_t parent = parentOf(pid);
            if (std::find(candidates.begin(), candidates.end(), parent) == candidates.end()) {
                found.push_back(pid);
            }
        }
        return found;
    }

    static pid_t parentOf(pid_t pid) {
        const std::string status = readProcFile("/proc/" + std::to_string(pid) + "/status");
        const std::size_t at = status.find("\nPPid:");
        return at == std::string::npos
                   ? 0
                   : static_cast<pid_t>(std::strtol(status.c_str() + at + 7, nullptr, 10));
    }

    std::vector<pid_t> standinProcesses() const {
        std::vector<pid_t> found;
        const std::string effective = (storage() / "effective.yaml").string();
        DIR* proc = opendir("/proc");
        if (proc == nullptr) {
            return found;
        }
        while (dirent* entry = readdir(proc)) {
            const std::string name = entry->d_name;
            if (name.empty() || !std::all_of(name.begin(), name.end(),
                                             [](char c) { return c >= '0' && c <= '9'; })) {
                continue;
            }
            const pid_t pid = static_cast<pid_t>(std::stol(name));
            const std::vector<std::string> args = commandLineOf(pid);
            if (args.size() < 3 || args[0] != OTELCOL_STANDIN_PATH || args[1] == "validate" ||
                std::find(args.begin(), args.end(), effective) == args.end() ||
                !testing::processAlive(pid)) {
                continue;
            }
            found.push_back(pid);
        }
        closedir(proc);
        std::sort(found.begin(), found.end());
        return found;
    }

    // The one collector running for the storage, once there is exactly one.
    std::optional<pid_t> theCollector(std::chrono::milliseconds timeout = kDeadline) const {
        std::vector<pid_t> pids;
        if (!waitUntil(
                [&] {
                    pids = collectorProcesses();
                    return pids.size() == 1;
                },
                timeout)) {
            ADD_FAILURE() << pids.size() << " collectors run for " << storage();
            return std::nullopt;
        }
        return pids.front();
    }

    // True once `file` has `more` complete lines more than now: the collector writing it
    // really runs.
    static bool grows(const std::filesystem::path& file, std::size_t more = 3,
                      std::chrono::milliseconds timeout = kDeadline) {
        const std::size_t now = testing::completeLines(file).size();
        return waitUntil([&] { return testing::completeLines(file).size() >= now + more; },
                         timeout);
    }

    // What the server believes about the agent: the latest value of every field it reported
    // (GET /api/agents/{uid}, "status"), and whether it is connected.
    struct ServerView {
        bool known = false;
        bool connected = false;
        pb::AgentToServer status;
    };

    ServerView serverView(const std::string& uid) {
        ServerView view;
        auto agent = server_.agent(uid);
        if (!agent) {
            return view;
        }
        view.known = true;
        view.connected = agent->optValue<bool>("connected", false);
        std::ostringstream text;
        Poco::JSON::Stringifier::stringify(agent->get("status"), text);
        if (!google::protobuf::util::JsonStringToMessage(text.str(), &view.status).ok()) {
            view.known = false;
        }
        return view;
    }

    // "" when what the server believes is what runs: connected, healthy, the config `hash`
    // with `status` (APPLIED: it runs; FAILED: it was refused or rolled back), an effective
    // config writing to `out`, one collector running for the storage with that config on
    // disk, and `out` growing. Otherwise the first thing that is not so.
    std::string untruth(const std::string& uid, const std::string& hash,
                        const std::filesystem::path& out,
                        pb::RemoteConfigStatuses status = pb::RemoteConfigStatuses_APPLIED) {
        ServerView view = serverView(uid);
        if (!view.known) {
            return "the server does not know the agent";
        }
        if (!view.connected) {
            return "the server has the agent disconnected";
        }
        const pb::AgentToServer& s = view.status;
        const auto& rcs = s.remote_config_status();
        if (!s.health().healthy()) {
            return "the server has the agent unhealthy (" + s.health().last_error() +
                   ") with remote config " + opamp::hex(rcs.last_remote_config_hash()) + " " +
                   pb::RemoteConfigStatuses_Name(rcs.status());
        }
        if (opamp::hex(rcs.last_remote_config_hash()) != hash || rcs.status() != status) {
            return "the server has remote config " + opamp::hex(rcs.last_remote_config_hash()) +
                   " " + pb::RemoteConfigStatuses_Name(rcs.status()) + " (" + rcs.error_message() +
                   "), not " + hash + " " + pb::RemoteConfigStatuses_Name(status);
        }
        const auto& files = s.effective_config().config_map().config_map();
        if (files.count("") == 0 || files.at("").body().find(out.string()) == std::string::npos) {
            return "the server's effective config does not write to " + out.string();
        }
        std::vector<pid_t> pids = collectorProcesses();
        if (pids.size() != 1) {
            return std::to_string(pids.size()) + " collectors run";
        }
        if (testing::readFile(storage() / "effective.yaml").find(out.string()) ==
            std::string::npos) {
            return "effective.yaml does not write to " + out.string();
        }
        if (!grows(out, 2, std::chrono::seconds(2))) {
            return out.string() + " does not grow";
        }
        if (collectorProcesses() != pids) {
            return "the collector changed while it was checked";
        }
        return "";
    }

    // Waits until the server's view is true (see untruth); fails with what is not.
    bool waitForTruth(const std::string& uid, const std::string& hash,
                      const std::filesystem::path& out,
                      std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
        std::string problem;
        if (waitUntil(
                [&] {
                    problem = untruth(uid, hash, out);
                    return problem.empty();
                },
                timeout)) {
            return true;
        }
        ADD_FAILURE() << "what the server reports is not what runs: " << problem;
        return false;
    }

    // What is wrong with the persisted state: every YAML file in the storage (and below)
    // parses, and the remote configs decode with a hash. Empty when all is well.
    std::vector<std::string> persistedStateProblems() const {
        std::vector<std::string> problems;
        std::error_code ec;
        for (auto it = std::filesystem::recursive_directory_iterator(storage(), ec);
             !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
            const std::filesystem::path& path = it->path();
            std::error_code gone;
            if (!it->is_regular_file(gone)) {
                continue;
            }
            const std::string name = path.filename().string();
            if (path.extension() == ".yaml") {
                try {
                    YAML::Node node = YAML::LoadFile(path.string());
                    if (!node.IsMap()) {
                        problems.push_back(path.string() + " is not a YAML map");
                    }
                } catch (const YAML::Exception& e) {
                    if (std::filesystem::exists(path, gone)) {  // not removed meanwhile
                        problems.push_back(path.string() + " does not parse: " + e.what());
                    }
                }
            }
            if (name == "last_recv_remote_config.dat" || name == "last_working_remote_config.dat") {
                pb::AgentRemoteConfig config;
                if ((!config.ParseFromString(testing::readFile(path)) ||
                     config.config_hash().empty()) &&
                    std::filesystem::exists(path, gone)) {
                    problems.push_back(path.string() + " does not decode as a remote config");
                }
            }
        }
        if (ec) {
            problems.push_back("cannot list " + storage().string() + ": " + ec.message());
        }
        const auto state = storage() / "persistent_state.yaml";
        if (std::filesystem::exists(state)) {
            try {
                if (!YAML::LoadFile(state.string())["instance_id"]) {
                    problems.push_back(state.string() + " has no instance_id");
                }
            } catch (const YAML::Exception&) {
                // Reported above.
            }
        }
        return problems;
    }

    static std::string joined(const std::vector<std::string>& lines) {
        std::string out;
        for (const std::string& line : lines) {
            out += line + "\n";
        }
        return out;
    }
};

}  // namespace opampsup::faults
