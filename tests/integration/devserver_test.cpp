// The dev server's own behaviour: how it answers agents, its admin API, files, faults and
// mTLS. Agents here are raw transports, so each test controls exactly what is sent.

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/opamp/Transport.h"
#include "support/DevServerFixture.h"
#include "support/TempDir.h"
#include "support/TestPki.h"
#include "support/Waiter.h"

namespace opampsup::devserver {
namespace {

namespace pb = ::opamp::proto;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

const opamp::Uuid kUid = *opamp::Uuid::parse("018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f");

// One raw agent connection that records the server's answers.
class RawAgent {
  public:
    RawAgent(const std::string& endpoint, std::optional<config::TlsClientSettings> tls = {}) {
        opamp::Transport::Settings settings;
        settings.endpoint = endpoint;
        settings.userAgent = "devserver-test";
        settings.connectTimeout = 5s;
        settings.tls = std::move(tls);
        opamp::Transport::Callbacks callbacks;
        callbacks.connected = [this] { connected_.push(true); };
        callbacks.message = [this](std::string payload) {
            pb::ServerToAgent message;
            if (message.ParseFromString(payload)) {
                received_.push(message);
            }
        };
        callbacks.disconnected = [this](opamp::Transport::Disconnect d) { lost_.push(d.reason); };
        telemetry::LoggerOptions quiet;
        quiet.level = telemetry::LogLevel::Error;
        transport_ = opamp::makeTransport(settings, callbacks, telemetry::Logger::create(quiet));
        transport_->connect();
    }
    ~RawAgent() { transport_->close(); }

    bool waitConnected() { return connected_.pop().has_value(); }
    std::optional<pb::ServerToAgent> exchange(const pb::AgentToServer& message) {
        if (!transport_->send(message.SerializeAsString())) {
            return std::nullopt;
        }
        return received_.pop();
    }
    testing::Waiter<pb::ServerToAgent>& received() { return received_; }
    testing::Waiter<std::string>& lost() { return lost_; }

  private:
    std::unique_ptr<opamp::Transport> transport_;
    testing::Waiter<bool> connected_;
    testing::Waiter<pb::ServerToAgent> received_;
    testing::Waiter<std::string> lost_;
};

pb::AgentToServer message(std::uint64_t sequence, bool full) {
    pb::AgentToServer m;
    m.set_instance_uid(kUid.toBytesString());
    m.set_sequence_num(sequence);
    m.set_capabilities(0x2001 | pb::AgentCapabilities_AcceptsRemoteConfig);
    if (full) {
        auto* kv = m.mutable_agent_description()->add_identifying_attributes();
        kv->set_key("service.name");
        kv->mutable_value()->set_string_value("otelcol");
    }
    return m;
}

class DevServerTest : public ::testing::TestWithParam<std::string> {
  protected:
    testing::DevServerFixture server_;
};

TEST_P(DevServerTest, AnswersWithCapabilitiesAndAsksForFullStateAfterAGap) {
    RawAgent agent(server_.endpoint(GetParam()));
    ASSERT_TRUE(agent.waitConnected());
    auto first = agent.exchange(message(1, true));
    ASSERT_TRUE(first);
    EXPECT_EQ(first->instance_uid(), kUid.toBytesString());
    EXPECT_EQ(first->capabilities(), AgentRegistry::kServerCapabilities);
    EXPECT_EQ(first->flags() & pb::ServerToAgentFlags_ReportFullState, 0U);

    auto next = agent.exchange(message(2, false));
    ASSERT_TRUE(next);
    EXPECT_EQ(next->flags() & pb::ServerToAgentFlags_ReportFullState, 0U);
    // Messages 3 and 4 were lost: the server cannot trust what it knows.
    auto afterGap = agent.exchange(message(5, false));
    ASSERT_TRUE(afterGap);
    EXPECT_NE(afterGap->flags() & pb::ServerToAgentFlags_ReportFullState, 0U);
}

TEST_P(DevServerTest, AsksForTheComponentMapWhenOnlyAHashIsKnown) {
    RawAgent agent(server_.endpoint(GetParam()));
    ASSERT_TRUE(agent.waitConnected());
    auto m = message(1, true);
    m.mutable_available_components()->set_hash("h1");
    auto answer = agent.exchange(m);
    ASSERT_TRUE(answer);
    EXPECT_NE(answer->flags() & pb::ServerToAgentFlags_ReportAvailableComponents, 0U);

    auto full = message(2, false);
    full.mutable_available_components()->set_hash("h1");
    (*full.mutable_available_components()->mutable_components())["receivers"];
    answer = agent.exchange(full);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->flags() & pb::ServerToAgentFlags_ReportAvailableComponents, 0U);
    // The same hash alone afterwards keeps the known map and asks for nothing.
    auto again = message(3, false);
    again.mutable_available_components()->set_hash("h1");
    answer = agent.exchange(again);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->flags() & pb::ServerToAgentFlags_ReportAvailableComponents, 0U);
}

TEST_P(DevServerTest, AssignsANewInstanceUidOnRequest) {
    RawAgent agent(server_.endpoint(GetParam()));
    ASSERT_TRUE(agent.waitConnected());
    auto m = message(1, true);
    m.set_flags(pb::AgentToServerFlags_RequestInstanceUid);
    auto answer = agent.exchange(m);
    ASSERT_TRUE(answer);
    auto assigned = opamp::Uuid::fromBytes(answer->agent_identification().new_instance_uid());
    ASSERT_TRUE(assigned);
    EXPECT_EQ(assigned->version(), 7);
    EXPECT_TRUE(server_.agent(assigned->toString()));
    EXPECT_FALSE(server_.agent(kUid.toString()));
}

TEST_P(DevServerTest, PushedConfigGoesOutWithAStableHashAndIsShownAsDesired) {
    RawAgent agent(server_.endpoint(GetParam()));
    ASSERT_TRUE(agent.waitConnected());
    ASSERT_TRUE(agent.exchange(message(1, true)));
    std::string hash = server_.pushConfig(kUid.toString(), "", "receivers: {}\n");
    ASSERT_EQ(hash.size(), 64U);
    // Over HTTP the config rides on the answer to the next poll.
    std::optional<pb::ServerToAgent> got;
    if (GetParam() == "http") {
        got = agent.exchange(message(2, false));
    } else {
        got = agent.received().pop();
    }
    ASSERT_TRUE(got);
    ASSERT_TRUE(got->has_remote_config());
    EXPECT_EQ(got->remote_config().config().config_map().at("").body(), "receivers: {}\n");
    EXPECT_EQ(got->remote_config().config().config_map().at("").content_type(), "text/yaml");
    auto json = server_.agent(kUid.toString());
    ASSERT_TRUE(json);
    EXPECT_EQ(json->getValue<std::string>("desired_config_hash"), hash);
    // The same config again has the same hash.
    EXPECT_EQ(server_.pushConfig(kUid.toString(), "", "receivers: {}\n"), hash);
}

TEST_P(DevServerTest, RecordsMessagesBothWaysAndReportedState) {
    RawAgent agent(server_.endpoint(GetParam()));
    ASSERT_TRUE(agent.waitConnected());
    auto m = message(1, true);
    auto* file = &(*m.mutable_effective_config()->mutable_config_map()->mutable_config_map())[""];
    file->set_body("service: {}\n");
    m.mutable_health()->set_healthy(true);
    ASSERT_TRUE(agent.exchange(m));
    auto json = server_.agent(kUid.toString());
    ASSERT_TRUE(json);
    EXPECT_EQ(json->getObject("effective_config")->getValue<std::string>(""), "service: {}\n");
    EXPECT_TRUE(json->getObject("status")->getObject("health")->getValue<bool>("healthy"));
    EXPECT_EQ(server_.agentMessages(kUid.toString()).size(), 1U);
    EXPECT_EQ(server_.serverMessages(kUid.toString()).size(), 1U);
}

TEST_P(DevServerTest, InjectedErrorResponseReplacesTheAnswer) {
    RawAgent agent(server_.endpoint(GetParam()));
    ASSERT_TRUE(agent.waitConnected());
    server_.fault(R"({"error_response":"UNAVAILABLE","retry_after_ms":250,"count":1})");
    auto answer = agent.exchange(message(1, true));
    ASSERT_TRUE(answer);
    ASSERT_TRUE(answer->has_error_response());
    EXPECT_EQ(answer->error_response().type(), pb::ServerErrorResponseType_Unavailable);
    EXPECT_EQ(answer->error_response().retry_info().retry_after_nanoseconds(), 250000000U);
    // Count 1: the next answer is normal again.
    answer = agent.exchange(message(2, true));
    ASSERT_TRUE(answer);
    EXPECT_FALSE(answer->has_error_response());
}

INSTANTIATE_TEST_SUITE_P(Transports, DevServerTest, ::testing::Values("ws", "http"),
                         [](const auto& p) { return p.param; });

TEST(DevServerAdminApi, ExplainsBadRequests) {
    testing::DevServerFixture server;
    auto reply = server.request("POST", "/api/agents/nobody/restart");
    EXPECT_EQ(reply.status, 404);
    EXPECT_THAT(reply.body, HasSubstr("no agent nobody"));
    reply = server.request("POST", "/api/faults", "{not json");
    EXPECT_EQ(reply.status, 400);
    EXPECT_THAT(reply.body, HasSubstr("invalid JSON"));
    reply = server.request("POST", "/api/faults", R"({"wobble":1})");
    EXPECT_EQ(reply.status, 400);
    EXPECT_THAT(reply.body, HasSubstr("name a fault"));
    reply = server.request("GET", "/api/nothing");
    EXPECT_EQ(reply.status, 404);
    reply = server.request("POST", "/api/faults", R"({"error_response":"SOMETIMES"})");
    EXPECT_EQ(reply.status, 400);
    EXPECT_THAT(reply.body, HasSubstr("UNAVAILABLE"));
}

TEST(DevServerAdminApi, ServesUploadedFilesWithTheirDigest) {
    testing::DevServerFixture server;
    auto reply = server.request("PUT", "/api/files/otelcol.tar.gz", "abc");
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reply.json->getValue<std::string>("sha256"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    std::string url = reply.json->getValue<std::string>("url");
    EXPECT_THAT(url, HasSubstr("/files/otelcol.tar.gz"));

    Poco::Net::HTTPClientSession session("127.0.0.1", server.server().port());
    Poco::Net::HTTPRequest request("GET", "/files/otelcol.tar.gz");
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::string body;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
    EXPECT_EQ(response.getStatus(), Poco::Net::HTTPResponse::HTTP_OK);
    EXPECT_EQ(body, "abc");
}

TEST(DevServerTls, RequiresAClientCertificateWhenGivenAClientCa) {
    testing::TempDir dir;
    testing::TestPki pki(dir.path(), {"localhost", "127.0.0.1"});
    testing::DevServerFixture server(testing::DevServerFixture::Tls{
        pki.serverCert.string(), pki.serverKey.string(), pki.caCert.string()});

    config::TlsClientSettings withoutCert;
    withoutCert.caFile = pki.caCert.string();
    {
        RawAgent anonymous(server.endpoint("wss"), withoutCert);
        EXPECT_TRUE(anonymous.lost().pop()) << "a client without a certificate got in";
    }
    config::TlsClientSettings withCert = withoutCert;
    withCert.certFile = pki.clientCert.string();
    withCert.keyFile = pki.clientKey.string();
    RawAgent agent(server.endpoint("wss"), withCert);
    ASSERT_TRUE(agent.waitConnected());
    EXPECT_TRUE(agent.exchange(message(1, true)));
}

}  // namespace
}  // namespace opampsup::devserver
