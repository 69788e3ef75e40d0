#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/opamp/ServerMessage.h"

namespace opampsup::opamp {
namespace {

namespace pb = ::opamp::proto;
using ::testing::HasSubstr;

const Uuid kUid = *Uuid::parse("018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f");

pb::ServerToAgent forUs() {
    pb::ServerToAgent m;
    m.set_instance_uid(kUid.toBytesString());
    return m;
}

TEST(ServerMessage, CarriesEachInstruction) {
    pb::ServerToAgent m = forUs();
    m.set_capabilities(0x7);
    m.set_flags(pb::ServerToAgentFlags_ReportFullState |
                pb::ServerToAgentFlags_ReportAvailableComponents);
    m.mutable_remote_config()->set_config_hash("h");
    m.mutable_connection_settings()->set_hash("c");
    m.mutable_packages_available()->set_all_packages_hash("p");
    m.mutable_custom_capabilities()->add_capabilities("io.x");
    m.mutable_custom_message()->set_capability("io.x");
    Uuid assigned = Uuid::generateV7();
    m.mutable_agent_identification()->set_new_instance_uid(assigned.toBytesString());
    ServerInstructions in = interpretServerMessage(m, kUid);
    EXPECT_TRUE(in.problems.empty());
    EXPECT_FALSE(in.ignored);
    EXPECT_EQ(in.serverCapabilities, 0x7U);
    EXPECT_TRUE(in.reportFullState);
    EXPECT_TRUE(in.reportAvailableComponents);
    EXPECT_EQ(in.remoteConfig->config_hash(), "h");
    EXPECT_EQ(in.connectionSettings->hash(), "c");
    EXPECT_EQ(in.packagesAvailable->all_packages_hash(), "p");
    EXPECT_EQ(in.customCapabilities->capabilities(0), "io.x");
    EXPECT_EQ(in.customMessage->capability(), "io.x");
    EXPECT_EQ(in.newInstanceUid, assigned);
    EXPECT_FALSE(in.restart);
    EXPECT_FALSE(in.error.has_value());
}

TEST(ServerMessage, EmptyMessageAsksNothing) {
    ServerInstructions in = interpretServerMessage(forUs(), kUid);
    EXPECT_FALSE(in.serverCapabilities || in.reportFullState || in.remoteConfig || in.error ||
                 in.restart || in.newInstanceUid);
    EXPECT_TRUE(in.problems.empty());
    pb::ServerToAgent noUid;
    EXPECT_FALSE(interpretServerMessage(noUid, kUid).ignored);
}

TEST(ServerMessage, AnotherInstanceIsIgnored) {
    pb::ServerToAgent m;
    m.set_instance_uid(Uuid::generateV7().toBytesString());
    m.mutable_remote_config()->set_config_hash("h");
    ServerInstructions in = interpretServerMessage(m, kUid);
    EXPECT_TRUE(in.ignored);
    EXPECT_FALSE(in.remoteConfig.has_value());
    EXPECT_THAT(in.problems.at(0), HasSubstr("not 018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f"));
    m.set_instance_uid("short");
    EXPECT_THAT(interpretServerMessage(m, kUid).problems.at(0), HasSubstr("<malformed uid>"));
}

TEST(ServerMessage, ErrorResponseStandsAlone) {
    pb::ServerToAgent m = forUs();
    m.mutable_error_response()->set_type(pb::ServerErrorResponseType_Unavailable);
    m.mutable_error_response()->set_error_message("overloaded");
    m.mutable_error_response()->mutable_retry_info()->set_retry_after_nanoseconds(
        30'000'000'000ULL);
    m.mutable_remote_config()->set_config_hash("h");
    ServerInstructions in = interpretServerMessage(m, kUid);
    ASSERT_TRUE(in.error.has_value());
    EXPECT_TRUE(in.error->retryable());
    EXPECT_EQ(in.error->message, "overloaded");
    EXPECT_EQ(in.error->retryAfter, std::chrono::seconds(30));
    EXPECT_FALSE(in.remoteConfig.has_value());
    EXPECT_THAT(in.problems.at(0), HasSubstr("error_response came with other fields"));

    m.mutable_error_response()->set_type(pb::ServerErrorResponseType_BadRequest);
    m.mutable_error_response()->mutable_retry_info()->set_retry_after_nanoseconds(~0ULL);
    ServerInstructions bad = interpretServerMessage(m, kUid);
    EXPECT_FALSE(bad.error->retryable());
    EXPECT_EQ(bad.error->retryAfter, std::chrono::hours(24));
}

TEST(ServerMessage, CommandStandsAlone) {
    pb::ServerToAgent m = forUs();
    m.mutable_command()->set_type(pb::CommandType_Restart);
    EXPECT_TRUE(interpretServerMessage(m, kUid).restart);
    m.mutable_remote_config()->set_config_hash("h");
    ServerInstructions in = interpretServerMessage(m, kUid);
    EXPECT_TRUE(in.restart);
    EXPECT_FALSE(in.remoteConfig.has_value());
    EXPECT_THAT(in.problems.at(0), HasSubstr("command came with other fields"));
    m.clear_remote_config();
    m.mutable_command()->set_type(static_cast<pb::CommandType>(7));
    ServerInstructions unknown = interpretServerMessage(m, kUid);
    EXPECT_FALSE(unknown.restart);
    EXPECT_THAT(unknown.problems.at(0), HasSubstr("unknown command type 7"));
}

TEST(ServerMessage, MalformedNewInstanceUid) {
    pb::ServerToAgent m = forUs();
    m.mutable_agent_identification()->set_new_instance_uid("12345");
    ServerInstructions in = interpretServerMessage(m, kUid);
    EXPECT_FALSE(in.newInstanceUid.has_value());
    EXPECT_THAT(in.problems.at(0), HasSubstr("5 bytes, not a 16-byte UUID"));
    m.mutable_agent_identification()->set_new_instance_uid(kUid.toBytesString());
    EXPECT_FALSE(interpretServerMessage(m, kUid).newInstanceUid.has_value());  // unchanged
}

}  // namespace
}  // namespace opampsup::opamp
