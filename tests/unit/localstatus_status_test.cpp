#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "core/localstatus/StatusServer.h"

namespace opampsup::localstatus {
namespace {

TEST(StatusJson, CarriesEveryFieldAndComputesTheUptime) {
    using namespace std::chrono_literals;
    const auto now = std::chrono::system_clock::now();
    StatusSnapshot s;
    s.version = "0.1.0";
    s.instanceUid = "018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f";
    s.serverEndpoint = "wss://opamp.example.com/v1/opamp";
    s.connected = true;
    s.collectorPid = 4242;
    s.collectorStartedAt = now - 125s;
    s.collectorRestarts = 2;
    s.healthy = false;
    s.healthError = "exporter \"otlp\" failed: \"quoted\"\nsecond line";
    s.remoteConfigStatus = "FAILED";
    s.remoteConfigHash = "ab";
    s.lastWorkingHash = "cd";
    s.remoteConfigError = "bad";
    YAML::Node j = YAML::Load(statusJson(s, now));
    EXPECT_EQ(j["instance_uid"].as<std::string>(), s.instanceUid);
    EXPECT_TRUE(j["server"]["connected"].as<bool>());
    EXPECT_EQ(j["collector"]["pid"].as<long>(), 4242);
    EXPECT_EQ(j["collector"]["uptime_seconds"].as<long>(), 125);
    EXPECT_EQ(j["collector"]["restarts"].as<int>(), 2);
    EXPECT_EQ(j["collector"]["last_error"].as<std::string>(), s.healthError);
    EXPECT_EQ(j["remote_config"]["status"].as<std::string>(), "FAILED");
    EXPECT_EQ(j["remote_config"]["last_working_hash"].as<std::string>(), "cd");
    EXPECT_EQ(j["remote_config"]["pending_hash"].as<std::string>(), "");
    EXPECT_FALSE(j["packages"]["supported"].as<bool>());

    s.collectorExecutable = "/var/lib/otelcol/supervisor/packages/agent/ab/otelcol-contrib";
    s.packagesReported = true;
    s.packages.push_back({"", "InstallFailed", "v0.130.0", "v0.131.0", "trial \"failed\""});
    YAML::Node p = YAML::Load(statusJson(s, now));
    EXPECT_EQ(p["collector"]["executable"].as<std::string>(), s.collectorExecutable);
    EXPECT_TRUE(p["packages"]["supported"].as<bool>());
    ASSERT_EQ(p["packages"]["items"].size(), 1U);
    EXPECT_EQ(p["packages"]["items"][0]["name"].as<std::string>(), "");
    EXPECT_EQ(p["packages"]["items"][0]["status"].as<std::string>(), "InstallFailed");
    EXPECT_EQ(p["packages"]["items"][0]["version"].as<std::string>(), "v0.130.0");
    EXPECT_EQ(p["packages"]["items"][0]["offered_version"].as<std::string>(), "v0.131.0");
    EXPECT_EQ(p["packages"]["items"][0]["error"].as<std::string>(), "trial \"failed\"");

    StatusSnapshot stopped;
    YAML::Node k = YAML::Load(statusJson(stopped, now));
    EXPECT_FALSE(k["collector"]["running"].as<bool>());
    EXPECT_FALSE(k["collector"]["pid"].IsDefined());
}

TEST(StatusServer, RefusesAnEndpointThatIsNotLoopback) {
    EXPECT_THROW(StatusServer("0.0.0.0:0", [] { return StatusSnapshot{}; }), std::invalid_argument);
    EXPECT_THROW(StatusServer("localhost", [] { return StatusSnapshot{}; }), std::invalid_argument);
}

}  // namespace
}  // namespace opampsup::localstatus
