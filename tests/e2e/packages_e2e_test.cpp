// S14: the server offers a new collector binary (and addons) as packages, and the real
// supervisor downloads, checks, installs, tries and keeps or reverts it, reporting each step.
// The "new binaries" are small launchers of the stand-in collector with another version (and,
// for the failing ones, a config that makes them crash or turn unhealthy): real programs with
// their own bytes, hash and behaviour.

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <yaml-cpp/yaml.h>

#include "PackageSigning.h"
#include "SupervisorE2e.h"
#include "core/opamp/Hex.h"

namespace opampsup {
namespace {

namespace pb = ::opamp::proto;
using e2e::sha256;
using e2e::Signer;
using e2e::SupervisorE2e;
using testing::Child;
using ::testing::HasSubstr;
using testing::kDeadline;
using ::testing::Not;
using testing::processAlive;
using testing::waitUntil;

class Packages : public SupervisorE2e, public ::testing::WithParamInterface<std::string> {
  protected:
    void SetUp() override {
        server_.offerHeartbeatInterval(1);
        collectorConfig();
        signer_.writePublicKey(dir_.path() / "release.pub");
    }

    // The supervisor's config: packages accepted, signed with signer_, tried for 1 s. Over
    // HTTP, offers wait for the next poll: the server's heartbeat offer makes that 1 s.
    std::filesystem::path packagesConfig(const std::string& packageExtra = "",
                                         const std::string& soak = "1s",
                                         const std::string& capabilities = "") {
        return supervisorConfig(server_.endpoint(GetParam()),
                                "  reports_health: true\n  accepts_packages: true\n"
                                "  accepts_opamp_connection_settings: true\n" +
                                    capabilities,
                                standinAgent("  package:\n    verifier:\n      type: public_key\n"
                                             "      public_key:\n        keys: [" +
                                             (dir_.path() / "release.pub").string() +
                                             "]\n    health_timeout: 10s\n    soak_period: " +
                                             soak + "\n" + packageExtra));
    }

    // A launcher of the stand-in that reports `version`; `collectorExtra` is YAML merged
    // into whatever config it is started with (a failing receiver, for example).
    std::string launcher(const std::string& version, const std::string& collectorExtra = "",
                         std::size_t padding = 0) {
        std::string script = "#!/bin/sh\nOTELCOL_STANDIN_VERSION=" + version + " exec '" +
                             OTELCOL_STANDIN_PATH + "' \"$@\"";
        if (!collectorExtra.empty()) {
            static int count = 0;
            auto extra = dir_.write("extra" + std::to_string(++count) + ".yaml", collectorExtra);
            script += " --config '" + extra.string() + "'";
        }
        script += "\n";
        if (padding > 0) {
            script += "# " + std::string(padding, 'x') + "\n";
        }
        return script;
    }

    // `file` packed as a tar.gz holding it as `member`, made with the system's tar.
    std::string tarGz(const std::string& file, const std::string& member,
                      const std::string& tarFlags = "") {
        auto staging = dir_.path() / "tar-staging";
        std::filesystem::create_directories(staging);
        auto path = staging / member;
        std::filesystem::create_directories(path.parent_path());
        dir_.write(std::filesystem::relative(path, dir_.path()).string(), file);
        std::filesystem::permissions(path, std::filesystem::perms::owner_all);
        auto archive = dir_.path() / "package.tar.gz";
        std::string command = "tar -czf '" + archive.string() + "' " + tarFlags + " -C '" +
                              staging.string() + "' '" + member + "'";
        EXPECT_EQ(std::system(command.c_str()), 0) << command;
        return testing::readFile(archive);
    }

    // An offer of `content` as the collector package, signed unless told otherwise.
    pb::PackagesAvailable offer(const std::string& fileName, const std::string& content,
                                const std::string& version,
                                std::optional<std::string> signature = std::nullopt) {
        auto served = server_.putFile(fileName, content);
        pb::PackagesAvailable packages;
        auto& top = (*packages.mutable_packages())[""];
        top.set_type(pb::PackageType_TopLevel);
        top.set_version(version);
        top.set_hash(sha256(version + content));
        top.mutable_file()->set_download_url(served.url);
        top.mutable_file()->set_content_hash(*opamp::unhex(served.sha256));
        top.mutable_file()->set_signature(signature ? *signature : signer_.sign(content));
        packages.set_all_packages_hash(sha256("all" + version + content));
        return packages;
    }

    // The statuses the agent reported for the package, consecutive repeats folded.
    std::vector<pb::PackageStatusEnum> statusesOf(const std::string& uid,
                                                  const std::string& name = "") {
        std::vector<pb::PackageStatusEnum> out;
        for (const auto& m : server_.agentMessages(uid)) {
            auto it = m.package_statuses().packages().find(name);
            if (m.has_package_statuses() && it != m.package_statuses().packages().end() &&
                (out.empty() || out.back() != it->second.status())) {
                out.push_back(it->second.status());
            }
        }
        return out;
    }

    std::optional<pb::PackageStatus> waitForPackage(const std::string& uid,
                                                    pb::PackageStatusEnum status,
                                                    std::chrono::milliseconds timeout = kDeadline,
                                                    const std::string& name = "") {
        std::optional<pb::PackageStatus> found;
        waitUntil(
            [&] {
                const auto messages = server_.agentMessages(uid);
                for (auto m = messages.rbegin(); m != messages.rend(); ++m) {
                    if (!m->has_package_statuses()) {
                        continue;
                    }
                    auto it = m->package_statuses().packages().find(name);
                    if (it != m->package_statuses().packages().end() &&
                        it->second.status() == status) {
                        found = it->second;
                        return true;
                    }
                    return false;  // only the latest statuses count
                }
                return false;
            },
            timeout);
        return found;
    }

    // service.version in the latest description the agent sent.
    std::string reportedVersion(const std::string& uid) {
        const auto messages = server_.agentMessages(uid);
        for (auto m = messages.rbegin(); m != messages.rend(); ++m) {
            if (m->has_agent_description()) {
                return e2e::attributes(
                    m->agent_description().identifying_attributes())["service.version"];
            }
        }
        return "";
    }

    bool waitForVersion(const std::string& uid, const std::string& version) {
        return waitUntil([&] { return reportedVersion(uid) == version; });
    }

    YAML::Node journal() const {
        return YAML::LoadFile((storage() / "packages" / "journal.yaml").string());
    }

    Signer signer_;
};

INSTANTIATE_TEST_SUITE_P(Transports, Packages, ::testing::Values("ws", "http"));

// The whole way: a signed tar.gz is downloaded with the offer's headers, checked, unpacked,
// tried and kept; the new binary describes itself; a restart keeps it and its status; the
// same offer again changes nothing.
TEST_P(Packages, InstallsANewCollectorBinaryAndKeepsItAcrossARestart) {
    auto config = packagesConfig("    archive: tar.gz\n");
    auto supervisor = startSupervisor(config);
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const std::string before = reportedVersion(uid);
    ASSERT_FALSE(before.empty());

    auto packages =
        offer("otelcol.tar.gz", tarGz(launcher("0.200.0"), "otelcol-contrib"), "v0.200.0");
    auto* header =
        (*packages.mutable_packages())[""].mutable_file()->mutable_headers()->add_headers();
    header->set_key("X-Download-Token");
    header->set_value("t0ken");
    server_.offerPackages(uid, packages);

    auto installed = waitForPackage(uid, pb::PackageStatusEnum_Installed, std::chrono::seconds(30));
    ASSERT_TRUE(installed) << ::testing::PrintToString(statusesOf(uid)) << logOf(*supervisor);
    EXPECT_EQ(installed->agent_has_version(), "v0.200.0");
    EXPECT_EQ(installed->agent_has_hash(), packages.packages().at("").hash());
    EXPECT_EQ(installed->server_offered_version(), "v0.200.0");
    EXPECT_EQ(statusesOf(uid),
              (std::vector<pb::PackageStatusEnum>{
                  pb::PackageStatusEnum_InstallPending, pb::PackageStatusEnum_Downloading,
                  pb::PackageStatusEnum_Installing, pb::PackageStatusEnum_Installed}));
    EXPECT_TRUE(waitForVersion(uid, "0.200.0")) << "the new binary did not describe itself";
    EXPECT_EQ(server_.lastFileRequestHeaders("otelcol.tar.gz")["X-Download-Token"], "t0ken");
    EXPECT_EQ(server_.lastFileRequestHeaders("otelcol.tar.gz").count("Authorization"), 0U);
    const auto binary = storage() / "packages" / journal()["agent"]["path"].as<std::string>();
    EXPECT_EQ(binary.filename(), "otelcol-contrib");
    EXPECT_EQ(testing::readFile(binary), launcher("0.200.0"));
    EXPECT_FALSE(journal()["pending"]);
    const std::size_t dataBefore = dataLines();
    EXPECT_TRUE(waitUntil([&] { return dataLines() > dataBefore + 2; })) << "no data flows";

    // `opampsupervisor status` shows what runs.
    Child status(dir_, OPAMPSUPERVISOR_PATH, {"status", "--config", config.string()});
    EXPECT_EQ(status.waitExit(), 0);
    EXPECT_THAT(status.out(), HasSubstr("package         collector Installed v0.200.0\n"));
    EXPECT_THAT(status.out(), HasSubstr("executable      " + binary.string() + "\n"));

    // A restart runs the installed binary and reports the package as it was.
    supervisor->signal(SIGTERM);
    ASSERT_EQ(supervisor->waitExit(), 0);
    const auto messagesBefore = server_.agentMessages(uid).size();
    auto again = startSupervisor(config);
    ASSERT_TRUE(waitUntil([&] { return server_.agentMessages(uid).size() > messagesBefore; }));
    const auto first = server_.agentMessages(uid)[messagesBefore];
    ASSERT_TRUE(first.has_package_statuses()) << "the first message after a restart";
    EXPECT_EQ(first.package_statuses().packages().at("").status(), pb::PackageStatusEnum_Installed);
    EXPECT_EQ(first.package_statuses().server_provided_all_packages_hash(),
              packages.all_packages_hash());
    EXPECT_THAT(logOf(*again), HasSubstr("Running the collector binary a package installed"));
    EXPECT_TRUE(waitForVersion(uid, "0.200.0"));

    // The same offer again: nothing to do.
    const int downloads = server_.fileRequestCount("otelcol.tar.gz");
    server_.offerPackages(uid, packages);
    EXPECT_TRUE(waitForPackage(uid, pb::PackageStatusEnum_Installed));
    EXPECT_EQ(server_.fileRequestCount("otelcol.tar.gz"), downloads);
}

// The bytes must be the ones offered: a wrong content_hash fails the install, and the
// collector is not even restarted.
TEST_P(Packages, AFileWhoseHashDiffersIsRefusedAndTheCollectorKeepsRunning) {
    auto supervisor = startSupervisor(packagesConfig());
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const auto pids = collectorPids(*supervisor);

    auto packages = offer("otelcol", launcher("0.200.0"), "v0.200.0");
    (*packages.mutable_packages())[""].mutable_file()->set_content_hash(sha256("other bytes"));
    server_.offerPackages(uid, packages);
    auto failed = waitForPackage(uid, pb::PackageStatusEnum_InstallFailed);
    ASSERT_TRUE(failed) << logOf(*supervisor);
    EXPECT_THAT(failed->error_message(),
                HasSubstr("SHA-256 is " + opamp::hex(sha256(launcher("0.200.0")))));
    EXPECT_THAT(failed->error_message(), HasSubstr("not the offered content_hash"));
    EXPECT_EQ(collectorPids(*supervisor), pids) << "the collector was restarted";
    EXPECT_NE(reportedVersion(uid), "0.200.0");
}

// Signatures: one by another key, and none at all, are both refused.
TEST_P(Packages, BadlySignedAndUnsignedPackagesAreRefused) {
    auto supervisor = startSupervisor(packagesConfig());
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());

    Signer stranger;
    const std::string binary = launcher("0.200.0");
    server_.offerPackages(uid, offer("otelcol", binary, "v0.200.0", stranger.sign(binary)));
    auto failed = waitForPackage(uid, pb::PackageStatusEnum_InstallFailed);
    ASSERT_TRUE(failed) << logOf(*supervisor);
    EXPECT_THAT(failed->error_message(), HasSubstr("signature check failed"));

    const std::string other = launcher("0.201.0");
    server_.offerPackages(uid, offer("otelcol2", other, "v0.201.0", std::string()));
    ASSERT_TRUE(waitUntil([&] {
        auto status = waitForPackage(uid, pb::PackageStatusEnum_InstallFailed,
                                     std::chrono::milliseconds(100));
        return status && status->server_offered_version() == "v0.201.0";
    }));
    auto unsigned_ = waitForPackage(uid, pb::PackageStatusEnum_InstallFailed);
    EXPECT_THAT(unsigned_->error_message(),
                HasSubstr("not signed, and agent.package.allow_unsigned is off"));
    EXPECT_EQ(server_.fileRequestCount("otelcol2"), 0) << "an unsigned package was downloaded";
    EXPECT_NE(reportedVersion(uid), "0.201.0");
}

// A connection cut mid-body is resumed where it stopped (Range), and the file is whole.
TEST_P(Packages, AnInterruptedDownloadResumesWhereItStopped) {
    auto supervisor = startSupervisor(packagesConfig());
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());

    server_.cutDownloads(3000, 1);
    server_.offerPackages(uid, offer("otelcol", launcher("0.200.0", "", 100000), "v0.200.0"));
    ASSERT_TRUE(waitForPackage(uid, pb::PackageStatusEnum_Installed, std::chrono::seconds(30)))
        << logOf(*supervisor);
    EXPECT_EQ(server_.fileRequestRanges("otelcol"), (std::vector<std::string>{"", "bytes=3000-"}));
    EXPECT_TRUE(waitForVersion(uid, "0.200.0"));
}

// A server that cuts the download and then refuses the rest: InstallFailed with the cause.
TEST_P(Packages, AServerFailingMidDownloadEndsInInstallFailed) {
    auto supervisor = startSupervisor(packagesConfig());
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const auto pids = collectorPids(*supervisor);

    server_.cutDownloads(3000, 1);
    server_.offerPackages(uid, offer("otelcol", launcher("0.200.0", "", 100000), "v0.200.0"));
    // The retry comes a second after the cut: the file is gone by then.
    ASSERT_TRUE(waitUntil([&] { return server_.fileRequestCount("otelcol") >= 1; }));
    server_.failDownloads(404, 5);
    auto failed = waitForPackage(uid, pb::PackageStatusEnum_InstallFailed);
    ASSERT_TRUE(failed) << logOf(*supervisor);
    EXPECT_THAT(failed->error_message(), HasSubstr("HTTP 404"));
    EXPECT_EQ(collectorPids(*supervisor), pids);
}

// A binary that turns unhealthy in its soak period, and one that crashes: each is reverted,
// the previous binary runs healthy again, and the same package is not tried twice.
TEST_P(Packages, ANewBinaryThatFailsItsTrialIsRevertedAndNotRetried) {
    auto supervisor = startSupervisor(packagesConfig("", "3s"));
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const std::string before = reportedVersion(uid);

    const std::string sick = launcher("0.200.0",
                                      "receivers:\n  standin/sick:\n    unhealthy_after: 1s\n"
                                      "exporters:\n  nop:\nservice:\n  pipelines:\n"
                                      "    logs/sick:\n      receivers: [standin/sick]\n"
                                      "      exporters: [nop]\n");
    auto packages = offer("sick", sick, "v0.200.0");
    server_.offerPackages(uid, packages);
    auto failed =
        waitForPackage(uid, pb::PackageStatusEnum_InstallFailed, std::chrono::seconds(40));
    ASSERT_TRUE(failed) << logOf(*supervisor);
    EXPECT_THAT(failed->error_message(), HasSubstr("failed its trial"));
    EXPECT_THAT(failed->error_message(), HasSubstr("unhealthy within the soak period"));
    EXPECT_TRUE(waitForVersion(uid, before)) << "the previous binary does not run again";
    EXPECT_TRUE(waitForHealth(uid, [](const pb::ComponentHealth& h) { return h.healthy(); }));
    EXPECT_FALSE(journal()["agent"]) << "the failed binary was kept";
    EXPECT_EQ(journal()["bad_hashes"][0].as<std::string>(),
              opamp::hex(packages.packages().at("").hash()));

    // Offered again, it is not downloaded again.
    const int downloads = server_.fileRequestCount("sick");
    server_.offerPackages(uid, packages);
    EXPECT_TRUE(waitForPackage(uid, pb::PackageStatusEnum_InstallFailed));
    EXPECT_EQ(server_.fileRequestCount("sick"), downloads);

    // A binary that crashes soon after it starts.
    const std::string crashing = launcher("0.300.0",
                                          "receivers:\n  standin/boom:\n    crash_after: 1500ms\n"
                                          "exporters:\n  nop:\nservice:\n  pipelines:\n"
                                          "    logs/boom:\n      receivers: [standin/boom]\n"
                                          "      exporters: [nop]\n");
    server_.offerPackages(uid, offer("crashing", crashing, "v0.300.0"));
    ASSERT_TRUE(waitUntil(
        [&] {
            auto status = waitForPackage(uid, pb::PackageStatusEnum_InstallFailed,
                                         std::chrono::milliseconds(100));
            return status && status->server_offered_version() == "v0.300.0";
        },
        std::chrono::seconds(40)))
        << logOf(*supervisor);
    EXPECT_TRUE(waitForVersion(uid, before));
    EXPECT_TRUE(waitForHealth(uid, [](const pb::ComponentHealth& h) { return h.healthy(); }));
}

// An archive with an entry that would land outside the install directory is refused whole.
TEST_P(Packages, AHostileArchiveIsRefused) {
    auto supervisor = startSupervisor(packagesConfig("    archive: tar.gz\n"));
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());

    // GNU tar keeps the "../" only when told to (-P).
    const std::string archive = tarGz(launcher("0.200.0"), "../escape/otelcol-contrib", "-P");
    server_.offerPackages(uid, offer("hostile.tar.gz", archive, "v0.200.0"));
    auto failed = waitForPackage(uid, pb::PackageStatusEnum_InstallFailed);
    ASSERT_TRUE(failed) << logOf(*supervisor);
    EXPECT_THAT(failed->error_message(), HasSubstr("the archive is refused"));
    EXPECT_FALSE(std::filesystem::exists(storage() / "packages" / "escape"));
    EXPECT_NE(reportedVersion(uid), "0.200.0");
}

// Addons are stored under the storage directory and reported, replaced by a newer offer,
// and deleted when the server stops offering them.
TEST_P(Packages, AddonsAreStoredReplacedAndRemoved) {
    auto supervisor = startSupervisor(packagesConfig());
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const auto pids = collectorPids(*supervisor);

    auto addonOffer = [&](const std::string& content, const std::string& version) {
        auto served = server_.putFile("GeoLite.mmdb", content);
        pb::PackagesAvailable packages;
        auto& addon = (*packages.mutable_packages())["geoip"];
        addon.set_type(pb::PackageType_Addon);
        addon.set_version(version);
        addon.set_hash(sha256(version + content));
        addon.mutable_file()->set_download_url(served.url);
        addon.mutable_file()->set_content_hash(*opamp::unhex(served.sha256));
        addon.mutable_file()->set_signature(signer_.sign(content));
        packages.set_all_packages_hash(sha256("all" + version + content));
        return packages;
    };
    auto installedVersion = [&](const std::string& version) {
        return waitUntil([&] {
            auto status = waitForPackage(uid, pb::PackageStatusEnum_Installed,
                                         std::chrono::milliseconds(100), "geoip");
            return status && status->agent_has_version() == version;
        });
    };
    const auto file = storage() / "packages" / "addons" / "geoip" / "GeoLite.mmdb";

    server_.offerPackages(uid, addonOffer("database one", "1"));
    ASSERT_TRUE(installedVersion("1")) << logOf(*supervisor);
    EXPECT_EQ(testing::readFile(file), "database one");
    server_.offerPackages(uid, addonOffer("database two", "2"));
    ASSERT_TRUE(installedVersion("2")) << logOf(*supervisor);
    EXPECT_EQ(testing::readFile(file), "database two");
    EXPECT_EQ(collectorPids(*supervisor), pids) << "an addon restarted the collector";

    pb::PackagesAvailable none;
    none.set_all_packages_hash(sha256("nothing"));
    server_.offerPackages(uid, none);
    EXPECT_TRUE(waitUntil([&] { return !std::filesystem::exists(file.parent_path()); }));
    EXPECT_TRUE(waitUntil([&] {
        const auto messages = server_.agentMessages(uid);
        for (auto m = messages.rbegin(); m != messages.rend(); ++m) {
            if (m->has_package_statuses()) {
                return m->package_statuses().packages().empty() &&
                       m->package_statuses().server_provided_all_packages_hash() ==
                           none.all_packages_hash();
            }
        }
        return false;
    }));
}

// What cannot be told apart or ordered is refused before anything is downloaded.
TEST_P(Packages, OffersThatCannotBeCheckedAreRefusedWithoutADownload) {
    auto supervisor = startSupervisor(packagesConfig());
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    auto failsWith = [&](const std::string& version, const std::string& text) {
        return waitUntil([&] {
            auto status = waitForPackage(uid, pb::PackageStatusEnum_InstallFailed,
                                         std::chrono::milliseconds(100));
            return status && status->server_offered_version() == version &&
                   status->error_message().find(text) != std::string::npos;
        });
    };

    auto noHash = offer("nohash", launcher("0.200.0"), "v0.200.0");
    (*noHash.mutable_packages())[""].clear_hash();
    server_.offerPackages(uid, noHash);
    EXPECT_TRUE(failsWith("v0.200.0", "the offer has no hash")) << logOf(*supervisor);

    server_.offerPackages(uid, offer("latest", launcher("0.201.0"), "latest"));
    EXPECT_TRUE(failsWith("latest", "cannot tell whether version \"latest\" is older"))
        << logOf(*supervisor);
    EXPECT_EQ(server_.fileRequestCount("nohash") + server_.fileRequestCount("latest"), 0);
}

// A remote config that asks for no collector leaves nothing to try a binary on: the install
// fails without blaming the package, and the same package installs once a collector runs.
TEST_P(Packages, WithNoCollectorToRunABinaryIsNotTriedNorBlamed) {
    auto config = packagesConfig("", "1s", "  accepts_remote_config: true\n");
    auto supervisor = startSupervisor(config);
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    auto applied = [&](const std::string& hash) {
        return waitUntil([&] {
            for (const auto& m : server_.agentMessages(uid)) {
                if (opamp::hex(m.remote_config_status().last_remote_config_hash()) == hash &&
                    m.remote_config_status().status() == pb::RemoteConfigStatuses_APPLIED) {
                    return true;
                }
            }
            return false;
        });
    };
    ASSERT_TRUE(applied(server_.pushConfig(uid, "", ""))) << logOf(*supervisor);

    auto packages = offer("otelcol", launcher("0.200.0"), "v0.200.0");
    server_.offerPackages(uid, packages);
    auto failed = waitForPackage(uid, pb::PackageStatusEnum_InstallFailed);
    ASSERT_TRUE(failed) << logOf(*supervisor);
    EXPECT_THAT(failed->error_message(), HasSubstr("could not be tried"));
    EXPECT_FALSE(journal()["bad_hashes"]);

    ASSERT_TRUE(
        applied(server_.pushConfig(uid, "", testing::readFile(dir_.path() / "collector.yaml"))))
        << logOf(*supervisor);
    packages.set_all_packages_hash(sha256("offered again"));
    server_.offerPackages(uid, packages);
    EXPECT_TRUE(waitForPackage(uid, pb::PackageStatusEnum_Installed, std::chrono::seconds(30)))
        << logOf(*supervisor);
    EXPECT_TRUE(waitForVersion(uid, "0.200.0"));
}

// Downgrades are refused unless allowed.
TEST_P(Packages, ADowngradeIsRefused) {
    auto supervisor = startSupervisor(packagesConfig());
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    server_.offerPackages(uid, offer("old", launcher("0.0.1"), "v0.0.1"));
    auto failed = waitForPackage(uid, pb::PackageStatusEnum_InstallFailed);
    ASSERT_TRUE(failed) << logOf(*supervisor);
    EXPECT_THAT(failed->error_message(), HasSubstr("older than the running"));
    EXPECT_EQ(server_.fileRequestCount("old"), 0);
}

// SIGKILL during the download, then during the trial: each restart leaves one collector
// running a binary that ran healthy before, and the install ends Installed.
TEST_P(Packages, AKilledSupervisorResumesTheDownloadAndRetriesTheTrial) {
    auto config = packagesConfig();
    auto supervisor = startSupervisor(config);
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const std::string before = reportedVersion(uid);

    server_.throttleDownloads(40000);
    auto packages = offer("otelcol", launcher("0.200.0", "", 200000), "v0.200.0");
    server_.offerPackages(uid, packages);
    ASSERT_TRUE(waitUntil([&] {
        auto part = storage() / "packages" / "downloads" /
                    (opamp::hex(packages.packages().at("").hash()) + ".part");
        std::error_code ec;
        return std::filesystem::file_size(part, ec) > 20000 && !ec;
    })) << logOf(*supervisor);
    // The server sees the download's progress.
    EXPECT_TRUE(waitUntil([&] {
        for (const auto& m : server_.agentMessages(uid)) {
            auto it = m.package_statuses().packages().find("");
            if (it != m.package_statuses().packages().end() &&
                it->second.status() == pb::PackageStatusEnum_Downloading &&
                it->second.download_details().download_percent() > 0 &&
                it->second.download_details().download_percent() < 100 &&
                it->second.download_details().download_bytes_per_second() > 0) {
                return true;
            }
        }
        return false;
    }));
    supervisor->signal(SIGKILL);
    ASSERT_TRUE(supervisor->waitExit());
    ASSERT_TRUE(waitUntil(
        [&] { return !processAlive(static_cast<pid_t>(collectorPids(*supervisor).back())); }));
    EXPECT_EQ(journal()["pending"]["step"].as<std::string>(), "downloading");
    server_.throttleDownloads(0);

    // The trial lasts long enough to be interrupted.
    config = packagesConfig("", "30s");
    auto again = startSupervisor(config);
    ASSERT_TRUE(waitForVersion(uid, "0.200.0")) << logOf(*again);
    const auto ranges = server_.fileRequestRanges("otelcol");
    ASSERT_EQ(ranges.size(), 2U);
    EXPECT_THAT(ranges[1], HasSubstr("bytes="));
    EXPECT_EQ(journal()["pending"]["step"].as<std::string>(), "trial");
    again->signal(SIGKILL);
    ASSERT_TRUE(again->waitExit());
    ASSERT_TRUE(
        waitUntil([&] { return !processAlive(static_cast<pid_t>(collectorPids(*again).back())); }));

    // The next start runs the old binary first, then tries the new one again.
    config = packagesConfig("", "1s");
    auto third = startSupervisor(config);
    ASSERT_TRUE(waitForPackage(uid, pb::PackageStatusEnum_Installed, std::chrono::seconds(30)))
        << logOf(*third);
    EXPECT_THAT(logOf(*third), HasSubstr("A restart interrupted a collector binary's trial"));
    EXPECT_EQ(journal()["agent"]["version"].as<std::string>(), "v0.200.0");
    EXPECT_TRUE(waitForVersion(uid, "0.200.0"));
    const auto pids = collectorPids(*third);
    ASSERT_FALSE(pids.empty());
    for (std::size_t i = 0; i + 1 < pids.size(); ++i) {
        EXPECT_FALSE(processAlive(static_cast<pid_t>(pids[i])))
            << "an earlier collector still runs";
    }
    EXPECT_TRUE(processAlive(static_cast<pid_t>(pids.back())));
    EXPECT_FALSE(before.empty());
}

}  // namespace
}  // namespace opampsup
