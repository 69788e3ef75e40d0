#include "core/opamp/ServerMessage.h"

#include <algorithm>

namespace opampsup::opamp {

namespace pb = ::opamp::proto;

namespace {

bool hasPayloadOtherThanCommand(const pb::ServerToAgent& m) {
    return m.has_remote_config() || m.has_connection_settings() || m.has_packages_available() ||
           m.flags() != 0 || m.has_agent_identification() || m.has_custom_capabilities() ||
           m.has_custom_message();
}

}  // namespace

ServerInstructions interpretServerMessage(pb::ServerToAgent m, const Uuid& instanceUid) {
    ServerInstructions out;
    // An empty instance_uid is tolerated (some servers omit it on a dedicated connection);
    // a different one means the message is for another agent.
    if (!m.instance_uid().empty() && m.instance_uid() != instanceUid.toBytesString()) {
        std::optional<Uuid> other = Uuid::fromBytes(m.instance_uid());
        out.problems.push_back("message is for instance " +
                               (other ? other->toString() : std::string("<malformed uid>")) +
                               ", not " + instanceUid.toString() + "; ignored");
        out.ignored = true;
        return out;
    }
    if (m.capabilities() != 0) {
        out.serverCapabilities = m.capabilities();
    }
    if (m.has_error_response()) {
        const pb::ServerErrorResponse& e = m.error_response();
        ServerError error;
        error.type = e.type();
        error.message = e.error_message();
        if (e.has_retry_info()) {
            // Capped at a day: a larger value is a server asking for "never", which the
            // reconnect loop handles better as a long but finite wait.
            constexpr std::uint64_t kDayNanos = 24ULL * 3600ULL * 1'000'000'000ULL;
            error.retryAfter = std::chrono::nanoseconds{static_cast<std::int64_t>(
                std::min(e.retry_info().retry_after_nanoseconds(), kDayNanos))};
        }
        out.error = error;
        if (hasPayloadOtherThanCommand(m) || m.has_command()) {
            out.problems.push_back(
                "error_response came with other fields; they are ignored as the spec requires");
        }
        return out;
    }
    if (m.has_command()) {
        if (m.command().type() == pb::CommandType_Restart) {
            out.restart = true;
        } else {
            out.problems.push_back("unknown command type " +
                                   std::to_string(static_cast<int>(m.command().type())) +
                                   "; ignored");
        }
        if (hasPayloadOtherThanCommand(m)) {
            out.problems.push_back(
                "command came with other fields; they are ignored as the spec requires");
        }
        return out;
    }
    out.reportFullState = (m.flags() & pb::ServerToAgentFlags_ReportFullState) != 0;
    out.reportAvailableComponents =
        (m.flags() & pb::ServerToAgentFlags_ReportAvailableComponents) != 0;
    if (m.has_agent_identification()) {
        std::optional<Uuid> uid = Uuid::fromBytes(m.agent_identification().new_instance_uid());
        if (!uid || uid->isNil()) {
            out.problems.push_back(
                "agent_identification.new_instance_uid is " +
                std::to_string(m.agent_identification().new_instance_uid().size()) +
                " bytes, not a 16-byte UUID; ignored");
        } else if (*uid != instanceUid) {
            out.newInstanceUid = uid;
        }
    }
    if (m.has_remote_config()) {
        out.remoteConfig = std::move(*m.mutable_remote_config());
    }
    if (m.has_connection_settings()) {
        out.connectionSettings = std::move(*m.mutable_connection_settings());
    }
    if (m.has_packages_available()) {
        out.packagesAvailable = std::move(*m.mutable_packages_available());
    }
    if (m.has_custom_capabilities()) {
        out.customCapabilities = std::move(*m.mutable_custom_capabilities());
    }
    if (m.has_custom_message()) {
        out.customMessage = std::move(*m.mutable_custom_message());
    }
    return out;
}

}  // namespace opampsup::opamp
