#include <gtest/gtest.h>

#include "core/opamp/AgentState.h"

namespace opampsup::opamp {
namespace {

namespace pb = ::opamp::proto;

const Uuid kUid = *Uuid::parse("018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f");

pb::ComponentHealth health(bool healthy, const std::string& error = "") {
    pb::ComponentHealth h;
    h.set_healthy(healthy);
    h.set_last_error(error);
    return h;
}

pb::AgentDescription description(const std::string& version) {
    pb::AgentDescription d;
    pb::KeyValue* kv = d.add_identifying_attributes();
    kv->set_key("service.version");
    kv->mutable_value()->set_string_value(version);
    return d;
}

pb::AvailableComponents components() {
    pb::AvailableComponents c;
    c.set_hash("hash-1");
    (*c.mutable_components())["receivers"];
    return c;
}

TEST(AgentState, EveryMessageHasUidSequenceAndCapabilities) {
    AgentState state(kUid, 0x2001);
    pb::AgentToServer first = state.nextMessage();
    pb::AgentToServer second = state.nextMessage();
    EXPECT_EQ(first.instance_uid(), kUid.toBytesString());
    EXPECT_EQ(first.sequence_num(), 1U);
    EXPECT_EQ(second.sequence_num(), 2U);
    EXPECT_EQ(first.capabilities(), 0x2001U);
    EXPECT_EQ(second.capabilities(), 0x2001U);
}

TEST(AgentState, SendsOnlyWhatChanged) {
    AgentState state(kUid, 1);
    EXPECT_TRUE(state.setAgentDescription(description("1.0")));
    EXPECT_TRUE(state.setHealth(health(true)));
    ASSERT_TRUE(state.hasPending());
    pb::AgentToServer full = state.nextMessage();
    EXPECT_TRUE(full.has_agent_description());
    EXPECT_TRUE(full.has_health());
    EXPECT_FALSE(state.hasPending());

    EXPECT_FALSE(state.setHealth(health(true)));  // same value: nothing to send
    EXPECT_FALSE(state.hasPending());
    EXPECT_TRUE(state.setHealth(health(false, "exited")));
    pb::AgentToServer delta = state.nextMessage();
    EXPECT_FALSE(delta.has_agent_description());
    ASSERT_TRUE(delta.has_health());
    EXPECT_EQ(delta.health().last_error(), "exited");
}

TEST(AgentState, LatestValueWinsWithoutAQueue) {
    AgentState state(kUid, 1);
    state.setHealth(health(false, "a"));
    state.setHealth(health(false, "b"));
    state.setHealth(health(true));
    pb::AgentToServer m = state.nextMessage();
    EXPECT_TRUE(m.health().healthy());
    EXPECT_FALSE(state.hasPending());
}

TEST(AgentState, FullStateAfterReconnectOrRequest) {
    AgentState state(kUid, 1);
    state.setAgentDescription(description("1.0"));
    state.setHealth(health(true));
    pb::RemoteConfigStatus status;
    status.set_status(pb::RemoteConfigStatuses_APPLIED);
    state.setRemoteConfigStatus(status);
    state.nextMessage();
    EXPECT_FALSE(state.hasPending());

    state.markAllForSending();
    EXPECT_TRUE(state.hasPending());
    pb::AgentToServer m = state.nextMessage();
    EXPECT_TRUE(m.has_agent_description());
    EXPECT_TRUE(m.has_health());
    EXPECT_TRUE(m.has_remote_config_status());
    EXPECT_FALSE(m.has_effective_config());  // never set: nothing to send
}

TEST(AgentState, AvailableComponentsHashFirstThenFullMapOnRequest) {
    AgentState state(kUid, 1);
    state.setAvailableComponents(components());
    pb::AgentToServer first = state.nextMessage();
    ASSERT_TRUE(first.has_available_components());
    EXPECT_EQ(first.available_components().hash(), "hash-1");
    EXPECT_EQ(first.available_components().components_size(), 0);

    state.sendFullComponentsNext();
    pb::AgentToServer full = state.nextMessage();
    EXPECT_EQ(full.available_components().components_size(), 1);

    state.markAllForSending();
    EXPECT_EQ(state.nextMessage().available_components().components_size(), 0);
}

TEST(AgentState, NewInstanceUidIsAdoptedWithFullState) {
    AgentState state(kUid, 1);
    state.setHealth(health(true));
    state.nextMessage();
    Uuid assigned = Uuid::generateV7();
    state.setInstanceUid(assigned);
    ASSERT_TRUE(state.hasPending());
    pb::AgentToServer m = state.nextMessage();
    EXPECT_EQ(m.instance_uid(), assigned.toBytesString());
    EXPECT_TRUE(m.has_health());
}

TEST(AgentState, OneShotFlagsAndRequests) {
    AgentState state(kUid, 1);
    state.requestInstanceUid();
    pb::ConnectionSettingsRequest csr;
    csr.mutable_opamp()->mutable_certificate_request()->set_csr("pem");
    state.setConnectionSettingsRequest(csr);
    ASSERT_TRUE(state.hasPending());
    pb::AgentToServer m = state.nextMessage();
    EXPECT_EQ(m.flags(), static_cast<std::uint64_t>(pb::AgentToServerFlags_RequestInstanceUid));
    EXPECT_TRUE(m.has_connection_settings_request());
    pb::AgentToServer next = state.nextMessage();
    EXPECT_EQ(next.flags(), 0U);
    EXPECT_FALSE(next.has_connection_settings_request());
}

TEST(AgentState, CustomMessagesGoOnceEachInOrderAndAreBounded) {
    AgentState state(kUid, 1);
    state.nextMessage();
    pb::CustomMessage first;
    first.set_capability("io.example.cap");
    first.set_type("ping");
    first.set_data("1");
    pb::CustomMessage second = first;
    second.set_data("2");
    ASSERT_TRUE(state.queueCustomMessage(first));
    ASSERT_TRUE(state.queueCustomMessage(second));
    ASSERT_TRUE(state.hasPending());
    EXPECT_EQ(state.nextMessage().custom_message().data(), "1");
    ASSERT_TRUE(state.hasPending());
    EXPECT_EQ(state.nextMessage().custom_message().data(), "2");
    EXPECT_FALSE(state.hasPending());
    // A full state does not repeat events.
    state.markAllForSending();
    EXPECT_FALSE(state.nextMessage().has_custom_message());

    for (std::size_t i = 0; i < AgentState::kMaxQueuedCustomMessages; ++i) {
        ASSERT_TRUE(state.queueCustomMessage(first));
    }
    EXPECT_FALSE(state.queueCustomMessage(first));
}

TEST(AgentState, CapabilityChangeIsSentAndDisconnectIsLast) {
    AgentState state(kUid, 1);
    state.nextMessage();
    EXPECT_FALSE(state.setCapabilities(1));
    EXPECT_TRUE(state.setCapabilities(0x2001));
    EXPECT_TRUE(state.hasPending());
    EXPECT_EQ(state.nextMessage().capabilities(), 0x2001U);
    pb::AgentToServer bye = state.disconnectMessage();
    EXPECT_TRUE(bye.has_agent_disconnect());
    EXPECT_EQ(bye.sequence_num(), 3U);
}

}  // namespace
}  // namespace opampsup::opamp
