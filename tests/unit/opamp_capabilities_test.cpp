#include <gtest/gtest.h>

#include "core/config/ConfigLoader.h"
#include "core/opamp/Capabilities.h"
#include "support/TempDir.h"

namespace opampsup::opamp {
namespace {

config::Capabilities load(const std::string& capabilities) {
    testing::TempDir dir;
    auto exe = dir.writeExecutable("otelcol");
    config::LoadOptions options;
    options.platform = config::PlatformFacts{dir.path(), "otelcol", true, "linux"};
    return config::loadConfigText(
               "server:\n  endpoint: ws://localhost:4320\nagent:\n  executable: " + exe.string() +
                   // accepts_packages needs a verifier or this
                   "\n  package:\n    allow_unsigned: true\ncapabilities:\n" + capabilities,
               "s.yaml", options)
        .config.capabilities;
}

// S9: the Go supervisor's e2e test turns every capability it lists off and expects
// ReportsStatus | ReportsHeartbeat, because reports_heartbeat is on by default.
TEST(Capabilities, AllListedOffLeavesStatusAndHeartbeat) {
    config::Capabilities c = load(R"(  reports_effective_config: false
  reports_own_metrics: false
  reports_own_logs: false
  reports_own_traces: false
  reports_health: false
  accepts_remote_config: false
  reports_remote_config: false
  accepts_restart_command: false
)");
    EXPECT_EQ(agentCapabilities(c), 0x2001U);
}

TEST(Capabilities, Defaults) {
    // ReportsStatus | ReportsEffectiveConfig | ReportsOwnMetrics | ReportsHealth | ReportsHeartbeat
    EXPECT_EQ(agentCapabilities(config::Capabilities{}), 0x1U | 0x4U | 0x40U | 0x800U | 0x2000U);
}

TEST(Capabilities, EachKeyItsBits) {
    struct Case {
        const char* key;
        std::uint64_t bits;
    };
    for (const Case& c :
         {Case{"accepts_remote_config", 0x2 | 0x1000}, Case{"accepts_packages", 0x8 | 0x10},
          Case{"reports_package_statuses", 0x10}, Case{"reports_own_traces", 0x20},
          Case{"reports_own_logs", 0x80}, Case{"accepts_opamp_connection_settings", 0x100},
          Case{"accepts_restart_command", 0x400}, Case{"reports_available_components", 0x4000}}) {
        EXPECT_EQ(
            agentCapabilities(load(std::string("  reports_effective_config: false\n  "
                                               "reports_own_metrics: false\n  reports_health: "
                                               "false\n  reports_heartbeat: false\n  ") +
                                   c.key + ": true\n")),
            0x1U | c.bits)
            << c.key;
    }
    config::Capabilities status;
    status.acceptsOpampConnectionSettings = true;
    status.reportsConnectionSettingsStatus = true;
    EXPECT_EQ(agentCapabilities(status) & 0x8100U, 0x8100U);
}

TEST(Capabilities, DeprecatedReportsRemoteConfigHasNoEffect) {
    EXPECT_EQ(agentCapabilities(load("  reports_remote_config: true\n")),
              agentCapabilities(config::Capabilities{}));
}

}  // namespace
}  // namespace opampsup::opamp
