#pragma once

// What the end-to-end tests share: the real opampsupervisor binary, managing the stand-in
// collector (otelcol-standin) as its child, connected to a dev server on loopback, in a
// fresh directory per test.

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include "core/opamp/Hex.h"
#include "support/ChildRun.h"
#include "support/DevServerFixture.h"
#include "support/TempDir.h"

namespace opampsup::e2e {

namespace pb = ::opamp::proto;
using testing::Child;
using testing::kDeadline;
using testing::waitUntil;

inline std::map<std::string, std::string> attributes(
    const google::protobuf::RepeatedPtrField<pb::KeyValue>& list) {
    std::map<std::string, std::string> out;
    for (const auto& kv : list) {
        out[kv.key()] = kv.value().string_value();
    }
    return out;
}

inline int permissionsOf(const std::filesystem::path& path) {
    struct stat info {};
    if (stat(path.c_str(), &info) != 0) {
        return -1;
    }
    return static_cast<int>(info.st_mode & 07777);
}

class SupervisorE2e : public ::testing::Test {
  protected:
    std::filesystem::path storage() const { return dir_.path() / "storage"; }
    std::filesystem::path dataFile() const { return dir_.path() / "data.jsonl"; }

    // A collector config whose metrics pipeline carries the standin receiver's data to a file.
    std::filesystem::path collectorConfig(const std::string& receiverExtra = "") {
        return dir_.write("collector.yaml",
                          "receivers:\n  standin:\n    interval: 50ms\n" + receiverExtra +
                              "exporters:\n  file:\n    path: " + dataFile().string() +
                              "\nservice:\n  pipelines:\n    metrics:\n"
                              "      receivers: [standin]\n"
                              "      exporters: [file]\n");
    }

    // The supervisor's config: `scheme` picks the transport; `capabilities` and `agent` are
    // YAML lines indented under their sections.
    std::filesystem::path supervisorConfig(const std::string& endpoint,
                                           const std::string& capabilities,
                                           const std::string& agent,
                                           const std::string& otherSections = "") {
        return dir_.write("supervisor.yaml",
                          "server:\n  endpoint: " + endpoint + "\ncapabilities:\n" + capabilities +
                              "agent:\n" + agent + "storage:\n  directory: " + storage().string() +
                              "\n" + otherSections);
    }

    std::string standinAgent(const std::string& extra = "") const {
        return std::string("  executable: ") + OTELCOL_STANDIN_PATH + "\n  config_files: [" +
               (dir_.path() / "collector.yaml").string() + "]\n" + extra;
    }

    std::unique_ptr<Child> startSupervisor(const std::filesystem::path& config) {
        return std::make_unique<Child>(dir_, OPAMPSUPERVISOR_PATH,
                                       std::vector<std::string>{"--config", config.string()});
    }

    // The instance UID the supervisor persisted on its first start.
    std::string instanceUid() {
        std::filesystem::path state = storage() / "persistent_state.yaml";
        if (!waitUntil([&] { return std::filesystem::exists(state); })) {
            return "";
        }
        return YAML::LoadFile(state.string())["instance_id"].as<std::string>();
    }

    // PIDs of the collectors the supervisor started, from its log, in order.
    static std::vector<long> collectorPids(const Child& supervisor) {
        static const std::regex started(R"re("msg":"Collector started","pid":"(\d+)")re");
        std::vector<long> pids;
        const std::string log = supervisor.out() + supervisor.err();
        for (auto it = std::sregex_iterator(log.begin(), log.end(), started);
             it != std::sregex_iterator(); ++it) {
            pids.push_back(std::stol((*it)[1].str()));
        }
        return pids;
    }

    static std::string logOf(const Child& supervisor) {
        return supervisor.out() + supervisor.err();
    }

    // Waits for the latest health the server has for the agent to satisfy `match`.
    std::optional<pb::ComponentHealth> waitForHealth(
        const std::string& uid, const std::function<bool(const pb::ComponentHealth&)>& match,
        std::chrono::milliseconds timeout = kDeadline) {
        std::optional<pb::ComponentHealth> found;
        waitUntil(
            [&] {
                for (const auto& message : server_.agentMessages(uid)) {
                    if (message.has_health() && match(message.health())) {
                        found = message.health();
                        return true;
                    }
                }
                return false;
            },
            timeout);
        return found;
    }

    // The instance UID once the server has a healthy report for it; "" (and a failure with
    // the supervisor's log) when that does not come.
    std::string healthyAgent(const Child& supervisor) {
        const std::string uid = instanceUid();
        if (uid.empty() ||
            !waitForHealth(uid, [](const pb::ComponentHealth& h) { return h.healthy(); })) {
            ADD_FAILURE() << "no healthy report from the agent; the supervisor's log:\n"
                          << logOf(supervisor);
            return "";
        }
        return uid;
    }

    // The first status the server has for remote config `hash` (hex) that is `status`.
    std::optional<pb::RemoteConfigStatus> waitForStatus(
        const std::string& uid, const std::string& hash, pb::RemoteConfigStatuses status,
        std::chrono::milliseconds timeout = kDeadline) {
        std::optional<pb::RemoteConfigStatus> found;
        waitUntil(
            [&] {
                for (const auto& m : server_.agentMessages(uid)) {
                    if (m.has_remote_config_status() &&
                        opamp::hex(m.remote_config_status().last_remote_config_hash()) == hash &&
                        m.remote_config_status().status() == status) {
                        found = m.remote_config_status();
                        return true;
                    }
                }
                return false;
            },
            timeout);
        return found;
    }

    std::size_t dataLines() const { return testing::completeLines(dataFile()).size(); }

    testing::TempDir dir_;
    testing::DevServerFixture server_;
};

}  // namespace opampsup::e2e
