// The package journal's file format, the version order used to refuse downgrades, and the
// checks an offer must pass before anything is downloaded.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/config/SupervisorConfig.h"
#include "core/packages/PackageJournal.h"
#include "core/packages/PackageManager.h"
#include "core/packages/Version.h"
#include "core/storage/StateStore.h"
#include "core/telemetry/Logger.h"
#include "support/ManualScheduler.h"
#include "support/TempDir.h"

namespace opampsup::packages {
namespace {

namespace pb = ::opamp::proto;
using ::testing::HasSubstr;

TEST(PackageJournal, RoundTripsEveryField) {
    PackageJournal journal;
    journal.agent = InstalledPackage{"v0.130.0", std::string("\x01\x02\xff", 3),
                                     "agent/0102ff/otelcol-contrib"};
    journal.previousAgent = InstalledPackage{"v0.129.0", "old", "agent/6f6c64/otelcol-contrib"};
    journal.addons["geoip"] = InstalledPackage{"1", "h", "addons/geoip/geoip.mmdb"};
    journal.badHashes = {"bad1", std::string("\0bad", 4)};
    pb::PackagesAvailable offer;
    offer.set_all_packages_hash("all");
    auto& top = (*offer.mutable_packages())[""];
    top.set_type(pb::PackageType_TopLevel);
    top.set_version("v0.131.0");
    top.mutable_file()->set_download_url("https://example.com/otelcol.tar.gz");
    journal.offer = offer;
    journal.pending = PendingInstall{"", PendingInstall::Step::Trial, "agent/aa/otelcol", 2};
    auto& status = (*journal.statuses.mutable_packages())[""];
    status.set_status(pb::PackageStatusEnum_Installing);
    status.set_error_message("line one\nline two: \"quoted\"");

    const PackageJournal back = parseJournal(serializeJournal(journal));
    ASSERT_TRUE(back.agent);
    EXPECT_EQ(back.agent->version, "v0.130.0");
    EXPECT_EQ(back.agent->hash, std::string("\x01\x02\xff", 3));
    EXPECT_EQ(back.agent->path, "agent/0102ff/otelcol-contrib");
    ASSERT_TRUE(back.previousAgent);
    EXPECT_EQ(back.previousAgent->hash, "old");
    ASSERT_EQ(back.addons.count("geoip"), 1U);
    EXPECT_EQ(back.addons.at("geoip").path, "addons/geoip/geoip.mmdb");
    EXPECT_EQ(back.badHashes, journal.badHashes);
    ASSERT_TRUE(back.offer);
    EXPECT_EQ(back.offer->SerializeAsString(), offer.SerializeAsString());
    ASSERT_TRUE(back.pending);
    EXPECT_EQ(back.pending->step, PendingInstall::Step::Trial);
    EXPECT_EQ(back.pending->stagedPath, "agent/aa/otelcol");
    EXPECT_EQ(back.pending->trials, 2);
    EXPECT_EQ(back.statuses.SerializeAsString(), journal.statuses.SerializeAsString());
}

TEST(PackageJournal, AnEmptyJournalIsEmpty) {
    const PackageJournal back = parseJournal(serializeJournal(PackageJournal{}));
    EXPECT_FALSE(back.agent);
    EXPECT_FALSE(back.pending);
    EXPECT_FALSE(back.offer);
    EXPECT_TRUE(back.statuses.packages().empty());
}

TEST(PackageJournal, DamageIsNamed) {
    auto problem = [](const std::string& yaml) {
        try {
            parseJournal(yaml);
        } catch (const std::runtime_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_THAT(problem("agent: [unclosed"), HasSubstr("not YAML"));
    EXPECT_THAT(problem("- a list"), HasSubstr("expected a map"));
    EXPECT_THAT(problem("agent: {version: v1, hash: zz, path: agent/x/y}"),
                HasSubstr("agent.hash: not hex"));
    EXPECT_THAT(problem("agent: {version: v1, hash: aa, path: ../../etc/passwd}"),
                HasSubstr("agent.path: not a path inside the packages directory"));
    EXPECT_THAT(problem("agent: {version: v1, hash: aa, path: /usr/bin/x}"),
                HasSubstr("agent.path"));
    EXPECT_THAT(problem("offer: 0a0b0c"), HasSubstr("offer: not a PackagesAvailable message"));
    EXPECT_THAT(problem("pending: {name: '', step: swapping}"),
                HasSubstr("pending.step: unknown step \"swapping\""));
}

TEST(PackageVersion, OrdersReleasesAsSemanticVersioningDoes) {
    EXPECT_EQ(compareVersions("v0.130.0", "0.130.0"), 0);
    EXPECT_EQ(compareVersions("v0.129.1", "v0.130.0"), -1);
    EXPECT_EQ(compareVersions("v0.130.0", "v0.129.9"), 1);
    EXPECT_EQ(compareVersions("1.10.0", "1.9.0"), 1);  // numbers, not text
    EXPECT_EQ(compareVersions("1.2", "1.2.0"), 0);
    EXPECT_EQ(compareVersions("1.2.0-rc.1", "1.2.0"), -1);
    EXPECT_EQ(compareVersions("1.2.0", "1.2.0-rc.1"), 1);
    EXPECT_EQ(compareVersions("1.2.0-rc.2", "1.2.0-rc.10"), -1);
    EXPECT_EQ(compareVersions("1.2.0-alpha", "1.2.0-1"), 1);  // text sorts after numbers
    EXPECT_EQ(compareVersions("1.2.0-rc", "1.2.0-rc.1"), -1);
    EXPECT_EQ(compareVersions("1.2.0+build5", "1.2.0+build7"), 0);
}

TEST(PackageVersion, WhatIsNotAVersionCannotBeOrdered) {
    EXPECT_FALSE(compareVersions("latest", "v1.0.0"));
    EXPECT_FALSE(compareVersions("v1.0.0", ""));
    EXPECT_FALSE(compareVersions("1..2", "1.2"));
    EXPECT_FALSE(compareVersions("1.2.0-", "1.2.0"));
    EXPECT_FALSE(compareVersions("99999999999999999999.0", "1.0"));
}

// Found by server_to_agent_fuzz: a download_url Poco cannot parse made Poco::URI throw out of
// onPackagesAvailable (on the supervisor's loop, which ended the supervisor). Such an offer,
// and any that is not http:// or https://, is refused before a download starts.
TEST(PackageOffer, ADownloadUrlThatIsNotHttpIsRefusedUpFront) {
    testing::TempDir dir;
    testing::ManualScheduler loop;
    config::SupervisorConfig config;
    config.capabilities.acceptsPackages = true;
    config.agent.executable = "/usr/bin/otelcol-contrib";
    config.agent.package.allowUnsigned = true;
    PackageManager::Collector collector;
    collector.runningVersion = [] { return std::string("0.110.0"); };
    telemetry::LoggerOptions quiet;
    quiet.outputPaths = {};
    PackageManager manager(loop, config, storage::StateStore(dir.path()), {}, collector,
                           telemetry::Logger::create(quiet));
    manager.load();
    pb::PackagesAvailable offer;
    const std::vector<std::string> urls{"http://[::1", "ftp://files.example.com/geoip.mmdb",
                                        "file:///etc/passwd", "http:///no-host", "not a url"};
    for (std::size_t i = 0; i < urls.size(); ++i) {
        auto& addon = (*offer.mutable_packages())["addon" + std::to_string(i)];
        addon.set_type(pb::PackageType_Addon);
        addon.set_hash("hash" + std::to_string(i));
        addon.mutable_file()->set_download_url(urls[i]);
        addon.mutable_file()->set_content_hash(std::string(32, 'h'));
    }
    ASSERT_NO_THROW(manager.onPackagesAvailable(offer));
    for (std::size_t i = 0; i < urls.size(); ++i) {
        const pb::PackageStatus& status =
            manager.statuses().packages().at("addon" + std::to_string(i));
        EXPECT_EQ(status.status(), pb::PackageStatusEnum_InstallFailed) << urls[i];
        EXPECT_THAT(status.error_message(), HasSubstr("download_url is not an http")) << urls[i];
    }
    manager.shutdown();
}

}  // namespace
}  // namespace opampsup::packages
