#include "core/opamp/AgentState.h"

#include <google/protobuf/util/message_differencer.h>

namespace opampsup::opamp {

namespace pb = ::opamp::proto;

AgentState::AgentState(Uuid instanceUid, std::uint64_t capabilities)
    : instanceUid_(instanceUid), capabilities_(capabilities) {}

template <typename Message>
bool AgentState::update(std::optional<Message>& current, const Message& value, Field field) {
    if (current && google::protobuf::util::MessageDifferencer::Equals(*current, value)) {
        return false;
    }
    current = value;
    pending_ |= field;
    return true;
}

bool AgentState::setCapabilities(std::uint64_t capabilities) {
    if (capabilities == capabilities_) {
        return false;
    }
    capabilities_ = capabilities;
    pending_ |= kCapabilities;
    return true;
}

bool AgentState::setAgentDescription(const pb::AgentDescription& description) {
    return update(description_, description, kDescription);
}
bool AgentState::setHealth(const pb::ComponentHealth& health) {
    return update(health_, health, kHealth);
}
bool AgentState::setEffectiveConfig(const pb::EffectiveConfig& config) {
    return update(effectiveConfig_, config, kEffectiveConfig);
}
bool AgentState::setRemoteConfigStatus(const pb::RemoteConfigStatus& status) {
    return update(remoteConfigStatus_, status, kRemoteConfigStatus);
}
bool AgentState::setPackageStatuses(const pb::PackageStatuses& statuses) {
    return update(packageStatuses_, statuses, kPackageStatuses);
}
bool AgentState::setCustomCapabilities(const pb::CustomCapabilities& capabilities) {
    return update(customCapabilities_, capabilities, kCustomCapabilities);
}
bool AgentState::setAvailableComponents(const pb::AvailableComponents& components) {
    return update(availableComponents_, components, kAvailableComponents);
}
bool AgentState::setConnectionSettingsStatus(const pb::ConnectionSettingsStatus& status) {
    return update(connectionSettingsStatus_, status, kConnectionSettingsStatus);
}

void AgentState::setInstanceUid(const Uuid& uid) {
    if (uid == instanceUid_) {
        return;
    }
    instanceUid_ = uid;
    markAllForSending();
}

void AgentState::requestInstanceUid() {
    requestUid_ = true;
}

void AgentState::setConnectionSettingsRequest(const pb::ConnectionSettingsRequest& request) {
    csr_ = request;
}

void AgentState::markAllForSending() {
    pending_ = kDescription | kHealth | kEffectiveConfig | kRemoteConfigStatus | kPackageStatuses |
               kCustomCapabilities | kAvailableComponents | kConnectionSettingsStatus |
               kCapabilities;
}

void AgentState::sendFullComponentsNext() {
    fullComponents_ = true;
    pending_ |= kAvailableComponents;
}

bool AgentState::queueCustomMessage(const pb::CustomMessage& message) {
    if (customMessages_.size() >= kMaxQueuedCustomMessages) {
        return false;
    }
    customMessages_.push_back(message);
    return true;
}

bool AgentState::hasPending() const {
    // Capabilities travel in every message anyway, so a change to them alone is still a
    // reason to send; the other bits count only when there is a value to carry.
    std::uint32_t withValue = kCapabilities;
    withValue |= description_ ? kDescription : 0U;
    withValue |= health_ ? kHealth : 0U;
    withValue |= effectiveConfig_ ? kEffectiveConfig : 0U;
    withValue |= remoteConfigStatus_ ? kRemoteConfigStatus : 0U;
    withValue |= packageStatuses_ ? kPackageStatuses : 0U;
    withValue |= customCapabilities_ ? kCustomCapabilities : 0U;
    withValue |= availableComponents_ ? kAvailableComponents : 0U;
    withValue |= connectionSettingsStatus_ ? kConnectionSettingsStatus : 0U;
    return (pending_ & withValue) != 0 || requestUid_ || csr_.has_value() ||
           !customMessages_.empty();
}

pb::AgentToServer AgentState::nextMessage() {
    pb::AgentToServer m;
    m.set_instance_uid(instanceUid_.toBytesString());
    m.set_sequence_num(++sequenceNum_);
    m.set_capabilities(capabilities_);
    if ((pending_ & kDescription) != 0 && description_) {
        *m.mutable_agent_description() = *description_;
    }
    if ((pending_ & kHealth) != 0 && health_) {
        *m.mutable_health() = *health_;
    }
    if ((pending_ & kEffectiveConfig) != 0 && effectiveConfig_) {
        *m.mutable_effective_config() = *effectiveConfig_;
    }
    if ((pending_ & kRemoteConfigStatus) != 0 && remoteConfigStatus_) {
        *m.mutable_remote_config_status() = *remoteConfigStatus_;
    }
    if ((pending_ & kPackageStatuses) != 0 && packageStatuses_) {
        *m.mutable_package_statuses() = *packageStatuses_;
    }
    if ((pending_ & kCustomCapabilities) != 0 && customCapabilities_) {
        *m.mutable_custom_capabilities() = *customCapabilities_;
    }
    if ((pending_ & kAvailableComponents) != 0 && availableComponents_) {
        pb::AvailableComponents* out = m.mutable_available_components();
        out->set_hash(availableComponents_->hash());
        // The map travels only when the server asked for it; the hash lets it decide.
        if (fullComponents_) {
            *out->mutable_components() = availableComponents_->components();
            fullComponents_ = false;
        }
    }
    if ((pending_ & kConnectionSettingsStatus) != 0 && connectionSettingsStatus_) {
        *m.mutable_connection_settings_status() = *connectionSettingsStatus_;
    }
    if (requestUid_) {
        m.set_flags(m.flags() | pb::AgentToServerFlags_RequestInstanceUid);
        requestUid_ = false;
    }
    if (csr_) {
        *m.mutable_connection_settings_request() = *csr_;
        csr_.reset();
    }
    if (!customMessages_.empty()) {
        *m.mutable_custom_message() = std::move(customMessages_.front());
        customMessages_.pop_front();
    }
    pending_ = 0;
    return m;
}

pb::AgentToServer AgentState::disconnectMessage() {
    pb::AgentToServer m;
    m.set_instance_uid(instanceUid_.toBytesString());
    m.set_sequence_num(++sequenceNum_);
    m.set_capabilities(capabilities_);
    m.mutable_agent_disconnect();
    return m;
}

}  // namespace opampsup::opamp
