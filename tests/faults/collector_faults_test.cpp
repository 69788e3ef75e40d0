// Faults of the collector, driven against the real supervisor managing the stand-in
// collector (see README.md in this directory for the whole table). The misbehaviour comes
// from the stand-in's test knobs (its `standin` receiver): crash_after, ignore_stop_signal,
// log_lines_per_interval, flood_custom_messages, opamp_never_connects.
//
// Fault, and its test (CollectorFaults.*):
// - a crash loop: ACrashLoopRunsOneCollectorAtATimeUntilAGoodConfigEndsIt
// - hangs on stop: ACollectorHangingOnStopIsKilledAfterTheTimeoutAtEachApply
// - floods its output: AFloodOfOutputIsCappedInAgentLogAndConfigsStillApply
// - floods the local OpAMP server: AFloodOfOpampMessagesLeavesTheSupervisorResponsive
// - never connects: ACollectorThatNeverConnectsIsReportedUnhealthy
//
// Already proven elsewhere, not repeated here: crash reports with backoff
// (SupervisorE2e.CrashingCollectorIsRestartedWithBackoffAndReported), a crash loop after
// an apply rolled back (RemoteConfig.ACrashLoopAfterApplyRollsBack), a hang on the
// supervisor's own stop (SupervisorE2e.CollectorIgnoringStopIsKilledAfterTheStopTimeout),
// a collector without the opamp extension at bootstrap
// (SupervisorE2e.BootstrapFailureNamesTheEndpointAndTheCollectorsLastOutput) and one that
// never reports healthy during an apply (RemoteConfig.ApplyTimeoutFailsAndRestores).

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "FaultsE2e.h"

namespace opampsup::faults {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

class CollectorFaults : public FaultsE2e {
  protected:
    // A remote config that takes over the local config's metrics pipeline with a receiver
    // of its own (lists are replaced when configs merge), writing to `out`.
    static std::string replacing(const std::filesystem::path& out, const std::string& name,
                                 const std::string& receiverExtra = "") {
        return "receivers:\n  standin/" + name + ":\n    interval: 50ms\n" + receiverExtra +
               "exporters:\n  file/" + name + ":\n    path: " + out.string() +
               "\nservice:\n  pipelines:\n    metrics:\n      receivers: [standin/" + name +
               "]\n      exporters: [file/" + name + "]\n";
    }

    std::filesystem::path localAndRemote(const std::string& agentExtra = "") {
        return supervisorConfig(server_.endpoint("ws"),
                                "  reports_health: true\n  reports_effective_config: true\n"
                                "  accepts_remote_config: true\n",
                                standinAgent("  config_apply_timeout: 5s\n" + agentExtra));
    }

    // Waits for the server's view of the agent to satisfy `match`.
    bool waitForView(const std::string& uid, const std::function<bool(const ServerView&)>& match,
                     std::chrono::milliseconds timeout = kDeadline) {
        return waitUntil([&] { return match(serverView(uid)); }, timeout);
    }

    static long residentKib(pid_t pid) {
        std::ifstream status("/proc/" + std::to_string(pid) + "/status");
        long kib = -1;
        for (std::string line; std::getline(status, line);) {
            if (line.rfind("VmRSS:", 0) == 0) {
                kib = std::stol(line.substr(6));
            }
        }
        return kib;
    }
};

// The local config crashes 300 ms after each start. The supervisor restarts it with
// backoff, reports each crash, and never has two collectors at once; a good remote config
// ends the loop: APPLIED, healthy, and the same process keeps running.
TEST_F(CollectorFaults, ACrashLoopRunsOneCollectorAtATimeUntilAGoodConfigEndsIt) {
    collectorConfig("    crash_after: 300ms\n    exit_code: 3\n");
    auto supervisor = startSupervisor(localAndRemote(
        "  restart_backoff:\n    initial_interval: 100ms\n    max_interval: 400ms\n"));
    const std::string uid = instanceUid();
    ASSERT_FALSE(uid.empty());
    std::size_t most = 0;
    ASSERT_TRUE(waitUntil(
        [&] {
            most = std::max(most, collectorProcesses().size());
            const auto health = serverView(uid).status.health();
            return !health.healthy() && health.last_error().find("attempt 5") != std::string::npos;
        },
        20s))
        << logOf(*supervisor);
    EXPECT_LE(most, 1U) << "two collectors ran at once";
    EXPECT_THAT(serverView(uid).status.health().last_error(),
                HasSubstr("the collector exited with exit code 3"));

    const auto out = dir_.path() / "steady.jsonl";
    const std::string hash = server_.pushConfig(uid, "", replacing(out, "steady"));
    ASSERT_TRUE(waitForTruth(uid, hash, out)) << logOf(*supervisor);
    const auto collector = theCollector();
    ASSERT_TRUE(collector);
    // Ten batches: three times as long as the crashing config lasted.
    EXPECT_TRUE(grows(out, 10));
    EXPECT_EQ(collectorProcesses(), std::vector<pid_t>{*collector}) << "the loop goes on";
    EXPECT_FALSE(supervisor->poll());
}

// The collector ignores SIGTERM. Each config change must stop it: after agent.stop_timeout
// it is killed, the new config starts, and only one collector runs. Twice.
TEST_F(CollectorFaults, ACollectorHangingOnStopIsKilledAfterTheTimeoutAtEachApply) {
    collectorConfig("    ignore_stop_signal: true\n");
    auto supervisor = startSupervisor(localAndRemote("  stop_timeout: 1s\n"));
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const auto first = theCollector();
    ASSERT_TRUE(first);

    // The new config hangs on stop as well, so the next change meets the same fault.
    const auto second = dir_.path() / "second.jsonl";
    const std::string secondHash =
        server_.pushConfig(uid, "", replacing(second, "second", "    ignore_stop_signal: true\n"));
    ASSERT_TRUE(waitForTruth(uid, secondHash, second)) << logOf(*supervisor);
    EXPECT_FALSE(testing::processAlive(*first));
    const auto secondPid = theCollector();
    ASSERT_TRUE(secondPid);

    const auto third = dir_.path() / "third.jsonl";
    const std::string thirdHash = server_.pushConfig(uid, "", replacing(third, "third"));
    ASSERT_TRUE(waitForTruth(uid, thirdHash, third)) << logOf(*supervisor);
    EXPECT_FALSE(testing::processAlive(*secondPid));
    EXPECT_EQ(
        testing::countOf(logOf(*supervisor), "The collector did not stop in time; killing it"), 2U)
        << logOf(*supervisor);
}

// The collector writes 10 000 log lines a second. agent.log stops at agent.log_max_size_mib
// with a line saying so, the supervisor's own log stays clean, and a config pushed in the
// middle of the flood is applied (the new collector floods too, and is capped again).
TEST_F(CollectorFaults, AFloodOfOutputIsCappedInAgentLogAndConfigsStillApply) {
    collectorConfig("    log_lines_per_interval: 500\n");
    auto supervisor = startSupervisor(localAndRemote("  log_max_size_mib: 1\n"));
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const auto log = storage() / "agent.log";
    const std::string notice =
        "agent.log reached its limit of 1 MiB (agent.log_max_size_mib); further output is "
        "dropped";
    auto capped = [&] {
        return waitUntil([&] { return testing::readFile(log).find(notice) != std::string::npos; });
    };
    constexpr std::uintmax_t kLimit = 1024 * 1024 + 200;  // the limit, and the notice
    ASSERT_TRUE(capped()) << logOf(*supervisor);
    EXPECT_LE(std::filesystem::file_size(log), kLimit);
    EXPECT_TRUE(grows(dataFile())) << "the flood stalled the collector";
    EXPECT_TRUE(grows(dataFile()));
    EXPECT_LE(std::filesystem::file_size(log), kLimit);

    const auto out = dir_.path() / "out.jsonl";
    const std::string hash =
        server_.pushConfig(uid, "", replacing(out, "next", "    log_lines_per_interval: 500\n"));
    ASSERT_TRUE(waitForTruth(uid, hash, out)) << logOf(*supervisor);
    ASSERT_TRUE(capped());
    EXPECT_LE(std::filesystem::file_size(log), kLimit);
    EXPECT_EQ(testing::countOf(testing::readFile(log), notice), 1U) << "not truncated at restart";
    EXPECT_THAT(logOf(*supervisor), Not(HasSubstr("standin receiver log line")));
}

// The collector sends 400 custom messages a second to the supervisor's local OpAMP server.
// The supervisor keeps up: it relays them, reports health, applies a config pushed in the
// middle of it, and its memory stays bounded.
TEST_F(CollectorFaults, AFloodOfOpampMessagesLeavesTheSupervisorResponsive) {
    collectorConfig("    flood_custom_messages: 20\n");
    auto supervisor = startSupervisor(localAndRemote());
    const std::string uid = instanceUid();
    ASSERT_FALSE(uid.empty());
    ASSERT_TRUE(waitForView(uid, [](const ServerView& v) {
        return v.connected && v.status.health().healthy() &&
               v.status.custom_capabilities().capabilities_size() == 1;
    })) << logOf(*supervisor);
    auto floodArrived = [&](std::size_t atLeast) {
        return waitUntil([&] {
            auto agent = server_.agent(uid);
            return agent && agent->getValue<std::size_t>("message_count") >= atLeast;
        });
    };
    ASSERT_TRUE(floodArrived(400)) << "the flood is not relayed\n" << logOf(*supervisor);

    const auto out = dir_.path() / "out.jsonl";
    const std::string hash =
        server_.pushConfig(uid, "", replacing(out, "next", "    flood_custom_messages: 20\n"));
    ASSERT_TRUE(waitForTruth(uid, hash, out)) << logOf(*supervisor);
    const std::size_t now = server_.agent(uid)->getValue<std::size_t>("message_count");
    ASSERT_TRUE(floodArrived(now + 400)) << "the new collector's flood is not relayed";
    const long kib = residentKib(supervisor->pid());
    EXPECT_GT(kib, 0);
#ifndef __SANITIZE_ADDRESS__  // AddressSanitizer's shadow memory is no measure
    // About 17 MiB when idle (Debug build).
    EXPECT_LT(kib, 64 * 1024) << "the supervisor's memory grows with the flood";
#endif
    EXPECT_FALSE(supervisor->poll());
}

// The collector runs (its data flows) but its opamp extension never connects to the
// supervisor: the supervisor must not leave the server without word. It reports the
// collector unhealthy, naming its local OpAMP server, and says so in its log.
TEST_F(CollectorFaults, ACollectorThatNeverConnectsIsReportedUnhealthy) {
    collectorConfig("    opamp_never_connects: true\n");
    auto supervisor = startSupervisor(localAndRemote());
    const std::string uid = instanceUid();
    ASSERT_FALSE(uid.empty());
    ASSERT_TRUE(waitUntil([&] { return dataLines() >= 3; })) << logOf(*supervisor);
    ASSERT_TRUE(server_.waitForAgent(uid, [](const Poco::JSON::Object& agent) {
        return agent.getValue<bool>("connected");
    })) << logOf(*supervisor);
    ServerView view;
    // As long as a config apply (agent.config_apply_timeout, 5 s here) would wait, and then
    // some.
    const bool reported = waitUntil(
        [&] {
            view = serverView(uid);
            return view.status.has_health() && !view.status.health().healthy() &&
                   view.status.health().last_error().find("ws://127.0.0.1:") != std::string::npos;
        },
        15s);
    EXPECT_TRUE(reported) << "the server was told nothing of a collector that never connected; "
                             "its view of the health: "
                          << view.status.health().DebugString() << "\n"
                          << logOf(*supervisor);
    EXPECT_THAT(logOf(*supervisor), ::testing::ContainsRegex("never connected|not connected"));
    EXPECT_TRUE(theCollector());
}

}  // namespace
}  // namespace opampsup::faults
