// The supervisor itself killed (SIGKILL) at pseudo-random points while it applies remote
// configs and while it installs packages, many times over, then started again on the same
// storage (see README.md in this directory for the whole table). After each kill the
// persisted state parses; after each restart exactly one collector runs for the storage,
// and what the server is told (remote config status and hash, health, package statuses,
// the collector's version) is what really runs.
//
// The kill points come from a fixed seed, printed with every failure, so a failing
// iteration can be replayed.
//
// Fault, and its test (SupervisorKill.*):
// - SIGKILL during remote config applies: KilledDuringConfigAppliesItResumesWithTheTruth
// - SIGKILL during package installs: KilledDuringPackageInstallsItResumesWithTheTruth
//
// Already proven elsewhere: one kill during a download and one during a trial, each
// resumed (Packages.AKilledSupervisorResumesTheDownloadAndRetriesTheTrial); a killed
// supervisor takes its collector along and keeps its identity
// (SupervisorE2e.KilledSupervisorTakesTheCollectorAlongAndResumesFromStorage).

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "FaultsE2e.h"
#include "e2e/PackageSigning.h"

namespace opampsup::faults {
namespace {

using namespace std::chrono_literals;

constexpr unsigned kSeed = 20261201;

using e2e::sha256;
using e2e::Signer;

class SupervisorKill : public FaultsE2e {
  protected:
    // SIGKILL, and the state as the kill left it: it parses, and the collector goes too.
    // False (with a failure) when not.
    bool kill(std::unique_ptr<Child>& supervisor) {
        supervisor->signal(SIGKILL);
        if (!supervisor->waitExit()) {
            ADD_FAILURE() << "the supervisor outlived SIGKILL";
            return false;
        }
        const std::vector<std::string> problems = persistedStateProblems();
        EXPECT_EQ(problems, std::vector<std::string>{}) << "as the kill left it";
        const bool alone = waitUntil([&] { return collectorProcesses().empty(); });
        EXPECT_TRUE(alone) << "a collector outlived its supervisor";
        return problems.empty() && alone;
    }

    // The install step the journal had pending, or "none".
    std::string pendingStep() const {
        try {
            YAML::Node journal = YAML::LoadFile((storage() / "packages" / "journal.yaml").string());
            return journal["pending"] ? journal["pending"]["step"].as<std::string>() : "none";
        } catch (const YAML::Exception&) {
            return "none";
        }
    }

    // How far the supervisor had got with the config `hash` when it was killed, from its log.
    static std::string applyStep(const std::string& log, const std::string& hash) {
        const std::size_t received =
            log.find("\"msg\":\"Received a remote config\",\"hash\":\"" + hash);
        if (received == std::string::npos) {
            return "not received";
        }
        const std::string after = log.substr(received);
        if (after.find("\"msg\":\"Remote config applied\"") != std::string::npos ||
            after.find("Remote config failed") != std::string::npos ||
            after.find("The collector refused the remote config") != std::string::npos) {
            return "after the verdict";
        }
        if (after.find("\"msg\":\"Applying the remote config") != std::string::npos) {
            return "applying";
        }
        return "received, validating";
    }

    // Where the kills landed, for the record (it depends on the machine's speed).
    void report(const std::map<std::string, int>& killedAt, const std::string& what) {
        std::string where;
        for (const auto& [step, count] : killedAt) {
            where += " " + step + ": " + std::to_string(count) + ";";
        }
        RecordProperty("killed_at", where);
        std::cout << "[ KILLS    ] " << what << " at each kill:" << where << "\n";
    }

    static std::string trace(int iteration, int delayMs) {
        return "seed " + std::to_string(kSeed) + ", iteration " + std::to_string(iteration) +
               ": SIGKILL " + std::to_string(delayMs) + " ms after the server's message";
    }
};

// Fifteen remote configs, each followed by a SIGKILL somewhere between receiving it and
// well after its verdict; every fourth config cannot start (so it is FAILED and rolled
// back). After each restart the server must see the config it last sent as APPLIED and
// running, or, for a bad one, FAILED with the previous good config running.
TEST_F(SupervisorKill, KilledDuringConfigAppliesItResumesWithTheTruth) {
    std::mt19937 random(kSeed);
    std::uniform_int_distribution<int> delays(0, 250);
    const auto config = remoteConfigSupervisor(server_.endpoint("ws"));
    auto supervisor = startSupervisor(config);
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    auto running = dir_.path() / "out-0.jsonl";
    ASSERT_TRUE(waitForTruth(uid, server_.pushConfig(uid, "", producing(running)), running))
        << logOf(*supervisor);

    int untrue = 0;
    std::map<std::string, int> killedAt;
    for (int i = 1; i <= 15; ++i) {
        const int delay = delays(random);
        SCOPED_TRACE(trace(i, delay));
        const bool bad = i % 4 == 0;
        const auto out = bad ? std::filesystem::path("/nonexistent-dir/out.jsonl")
                             : dir_.path() / ("out-" + std::to_string(i) + ".jsonl");
        const std::string hash = server_.pushConfig(uid, "", producing(out));
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));  // the kill point
        const std::string log = logOf(*supervisor);
        if (!kill(supervisor)) {
            return;
        }
        killedAt[applyStep(log, hash)] += 1;
        supervisor = startSupervisor(config);
        if (!bad) {
            running = out;
        }
        std::string problem;
        const bool truthful = waitUntil(
            [&] {
                problem = bad ? untruth(uid, hash, running, pb::RemoteConfigStatuses_FAILED)
                              : untruth(uid, hash, running);
                return problem.empty();
            },
            15s);
        EXPECT_TRUE(truthful) << (bad ? "a config that cannot start, " : "a good config, ")
                              << "after the restart: " << problem << "\n"
                              << logOf(*supervisor);
        if (truthful) {
            continue;
        }
        // Three wrong iterations are enough to see. Otherwise a new config puts things right,
        // so the next iteration starts from a known state.
        if (++untrue == 3) {
            break;
        }
        running = dir_.path() / ("out-" + std::to_string(i) + "-again.jsonl");
        ASSERT_TRUE(waitForTruth(uid, server_.pushConfig(uid, "", producing(running)), running))
            << "cannot start again from a known state\n"
            << logOf(*supervisor);
    }
    report(killedAt, "apply step");
}

// Ten collector upgrades offered as packages (downloads throttled so the kill can land in
// them), each followed by a SIGKILL somewhere in the download, the checks, the install, the
// trial or after. Like a real server, the test offers the packages again when the agent
// reports an older offer. After each restart the package must be reported Installed with
// the new version, and exactly one collector, of that version, runs.
TEST_F(SupervisorKill, KilledDuringPackageInstallsItResumesWithTheTruth) {
    std::mt19937 random(kSeed);
    std::uniform_int_distribution<int> delays(0, 1500);
    Signer signer;
    signer.writePublicKey(dir_.path() / "release.pub");
    collectorConfig();
    server_.offerHeartbeatInterval(1);
    const auto config = supervisorConfig(
        server_.endpoint("ws"), "  reports_health: true\n  accepts_packages: true\n",
        standinAgent("  package:\n    verifier:\n      type: public_key\n"
                     "      public_key:\n        keys: [" +
                     (dir_.path() / "release.pub").string() +
                     "]\n    health_timeout: 10s\n    soak_period: 500ms\n"));
    auto supervisor = startSupervisor(config);
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    server_.throttleDownloads(100000);
    std::map<std::string, int> killedAt;

    for (int i = 1; i <= 10; ++i) {
        const int delay = delays(random);
        SCOPED_TRACE(trace(i, delay));
        const std::string version = "0.200." + std::to_string(i);
        const std::string binary = "#!/bin/sh\nOTELCOL_STANDIN_VERSION=" + version + " exec '" +
                                   OTELCOL_STANDIN_PATH + "' \"$@\"\n# " + std::string(40000, 'x') +
                                   "\n";
        const auto served = server_.putFile("otelcol-" + std::to_string(i), binary);
        pb::PackagesAvailable packages;
        auto& top = (*packages.mutable_packages())[""];
        top.set_type(pb::PackageType_TopLevel);
        top.set_version("v" + version);
        top.set_hash(sha256("v" + version + binary));
        top.mutable_file()->set_download_url(served.url);
        top.mutable_file()->set_content_hash(*opamp::unhex(served.sha256));
        top.mutable_file()->set_signature(signer.sign(binary));
        packages.set_all_packages_hash(sha256("all v" + version + binary));

        server_.offerPackages(uid, packages);
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));  // the kill point
        const int messagesBefore = server_.agent(uid)->getValue<int>("message_count");
        if (!kill(supervisor)) {
            return;
        }
        killedAt[pendingStep()] += 1;
        supervisor = startSupervisor(config);

        std::string problem;
        bool offeredAgain = false;
        const bool converged = waitUntil(
            [&] {
                auto agent = server_.agent(uid);
                ServerView view = serverView(uid);
                const auto& statuses = view.status.package_statuses();
                if (!agent || !view.connected ||
                    agent->getValue<int>("message_count") <= messagesBefore) {
                    problem = "not reconnected";
                    return false;
                }
                if (statuses.server_provided_all_packages_hash() != packages.all_packages_hash()) {
                    // The offer was lost with the supervisor: a server offers it again.
                    if (!offeredAgain) {
                        offeredAgain = true;
                        server_.offerPackages(uid, packages);
                    }
                    problem = "the agent reports an older offer";
                    return false;
                }
                auto it = statuses.packages().find("");
                if (it == statuses.packages().end() ||
                    it->second.status() != pb::PackageStatusEnum_Installed ||
                    it->second.agent_has_version() != "v" + version) {
                    problem = "the server has the package " +
                              (it == statuses.packages().end()
                                   ? std::string("unreported")
                                   : pb::PackageStatusEnum_Name(it->second.status()) + " " +
                                         it->second.agent_has_version() + " (" +
                                         it->second.error_message() + ")");
                    return false;
                }
                if (e2e::attributes(view.status.agent_description()
                                        .identifying_attributes())["service.version"] != version) {
                    problem = "the server's description has another version";
                    return false;
                }
                if (!view.status.health().healthy()) {
                    problem =
                        "the server has the agent unhealthy: " + view.status.health().last_error();
                    return false;
                }
                std::vector<pid_t> pids = collectorProcesses();
                if (pids.size() != 1) {
                    problem = std::to_string(pids.size()) + " collectors run";
                    return false;
                }
                if (environmentOf(pids.front(), "OTELCOL_STANDIN_VERSION") != version) {
                    problem = "the collector that runs is not version " + version;
                    return false;
                }
                try {
                    YAML::Node journal =
                        YAML::LoadFile((storage() / "packages" / "journal.yaml").string());
                    if (journal["pending"] ||
                        journal["agent"]["version"].as<std::string>() != "v" + version) {
                        problem = "the journal has an install pending or another version";
                        return false;
                    }
                } catch (const YAML::Exception& e) {
                    problem = std::string("the journal: ") + e.what();
                    return false;
                }
                return grows(dataFile(), 2, 2s);
            },
            45s);
        ASSERT_TRUE(converged) << problem << "\n" << logOf(*supervisor);
    }
    report(killedAt, "install step");
}

}  // namespace
}  // namespace opampsup::faults
