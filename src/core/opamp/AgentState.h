#pragma once

// What the agent has told, or must tell, the server. The client keeps the current value of
// each status field and a note of which ones the server has not seen yet; a message
// carries only those (and everything after a (re)connect or a ReportFullState request).
// Nothing is queued: a value changed twice before a send is sent once, as its latest.
//
// Not thread-safe: owned by the supervisor loop.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "core/opamp/Uuid.h"
#include "opamp.pb.h"

namespace opampsup::opamp {

class AgentState {
  public:
    AgentState(Uuid instanceUid, std::uint64_t capabilities);

    // Each setter compares with the current value and marks the field for sending only
    // when it differs. They return whether it did.
    bool setCapabilities(std::uint64_t capabilities);
    bool setAgentDescription(const ::opamp::proto::AgentDescription& description);
    bool setHealth(const ::opamp::proto::ComponentHealth& health);
    bool setEffectiveConfig(const ::opamp::proto::EffectiveConfig& config);
    bool setRemoteConfigStatus(const ::opamp::proto::RemoteConfigStatus& status);
    bool setPackageStatuses(const ::opamp::proto::PackageStatuses& statuses);
    bool setCustomCapabilities(const ::opamp::proto::CustomCapabilities& capabilities);
    bool setAvailableComponents(const ::opamp::proto::AvailableComponents& components);
    bool setConnectionSettingsStatus(const ::opamp::proto::ConnectionSettingsStatus& status);
    // A server-assigned instance UID; the next message is a full one under the new UID.
    void setInstanceUid(const Uuid& uid);
    // Asks the server for a new instance UID in the next message.
    void requestInstanceUid();
    // Custom messages are events, not state: each goes out once, one per message, in order.
    // Returns false when kMaxQueuedCustomMessages are already waiting (the caller reports the
    // drop).
    bool queueCustomMessage(const ::opamp::proto::CustomMessage& message);
    static constexpr std::size_t kMaxQueuedCustomMessages = 64;
    // A CSR to send once.
    void setConnectionSettingsRequest(const ::opamp::proto::ConnectionSettingsRequest& request);

    // Everything goes out again in the next message: after a (re)connect, and when the
    // server sets ReportFullState.
    void markAllForSending();
    // The next AvailableComponents carries the full map (ReportAvailableComponents flag).
    void sendFullComponentsNext();

    bool hasPending() const;

    // The next message: instance_uid, sequence_num (+1), capabilities, and the pending
    // fields, which are then considered sent.
    ::opamp::proto::AgentToServer nextMessage();
    // The last message of a connection, with agent_disconnect.
    ::opamp::proto::AgentToServer disconnectMessage();

    const Uuid& instanceUid() const { return instanceUid_; }
    std::uint64_t capabilities() const { return capabilities_; }
    std::uint64_t lastSequenceNum() const { return sequenceNum_; }

  private:
    enum Field : std::uint32_t {
        kDescription = 1U << 0,
        kHealth = 1U << 1,
        kEffectiveConfig = 1U << 2,
        kRemoteConfigStatus = 1U << 3,
        kPackageStatuses = 1U << 4,
        kCustomCapabilities = 1U << 5,
        kAvailableComponents = 1U << 6,
        kConnectionSettingsStatus = 1U << 7,
        kCapabilities = 1U << 8,
    };

    template <typename Message>
    bool update(std::optional<Message>& current, const Message& value, Field field);

    Uuid instanceUid_;
    std::uint64_t capabilities_;
    std::uint64_t sequenceNum_ = 0;
    std::uint32_t pending_ = 0;
    bool requestUid_ = false;
    std::deque<::opamp::proto::CustomMessage> customMessages_;
    bool fullComponents_ = false;
    std::optional<::opamp::proto::ConnectionSettingsRequest> csr_;

    std::optional<::opamp::proto::AgentDescription> description_;
    std::optional<::opamp::proto::ComponentHealth> health_;
    std::optional<::opamp::proto::EffectiveConfig> effectiveConfig_;
    std::optional<::opamp::proto::RemoteConfigStatus> remoteConfigStatus_;
    std::optional<::opamp::proto::PackageStatuses> packageStatuses_;
    std::optional<::opamp::proto::CustomCapabilities> customCapabilities_;
    std::optional<::opamp::proto::AvailableComponents> availableComponents_;
    std::optional<::opamp::proto::ConnectionSettingsStatus> connectionSettingsStatus_;
};

}  // namespace opampsup::opamp
