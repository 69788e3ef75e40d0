#include "core/opamp/Capabilities.h"

#include "opamp.pb.h"

namespace opampsup::opamp {

std::uint64_t agentCapabilities(const config::Capabilities& c) {
    namespace pb = ::opamp::proto;
    std::uint64_t bits = pb::AgentCapabilities_ReportsStatus;
    auto set = [&bits](bool on, std::uint64_t bit) {
        if (on) {
            bits |= bit;
        }
    };
    set(c.acceptsRemoteConfig,
        pb::AgentCapabilities_AcceptsRemoteConfig | pb::AgentCapabilities_ReportsRemoteConfig);
    set(c.reportsEffectiveConfig, pb::AgentCapabilities_ReportsEffectiveConfig);
    set(c.acceptsPackages,
        pb::AgentCapabilities_AcceptsPackages | pb::AgentCapabilities_ReportsPackageStatuses);
    set(c.reportsPackageStatuses, pb::AgentCapabilities_ReportsPackageStatuses);
    set(c.reportsOwnTraces, pb::AgentCapabilities_ReportsOwnTraces);
    set(c.reportsOwnMetrics, pb::AgentCapabilities_ReportsOwnMetrics);
    set(c.reportsOwnLogs, pb::AgentCapabilities_ReportsOwnLogs);
    set(c.acceptsOpampConnectionSettings, pb::AgentCapabilities_AcceptsOpAMPConnectionSettings);
    set(c.acceptsOtherConnectionSettings, pb::AgentCapabilities_AcceptsOtherConnectionSettings);
    set(c.acceptsRestartCommand, pb::AgentCapabilities_AcceptsRestartCommand);
    set(c.reportsHealth, pb::AgentCapabilities_ReportsHealth);
    set(c.reportsHeartbeat, pb::AgentCapabilities_ReportsHeartbeat);
    set(c.reportsAvailableComponents, pb::AgentCapabilities_ReportsAvailableComponents);
    set(c.reportsConnectionSettingsStatus, pb::AgentCapabilities_ReportsConnectionSettingsStatus);
    return bits;
}

}  // namespace opampsup::opamp
