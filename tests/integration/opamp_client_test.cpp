// The OpAMP client against a real WebSocket server on loopback.

#include <future>

#include <Poco/Net/WebSocket.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/opamp/Client.h"
#include "support/TestWsServer.h"

namespace opampsup::opamp {
namespace {

namespace pb = ::opamp::proto;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const Uuid kUid = *Uuid::parse("018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f");

// Runs over WebSocket ("ws") or HTTP polling ("http").
class OpampClientTest : public ::testing::TestWithParam<std::string> {
  protected:
    OpampClientTest() : loopThread_([this] { loop_.run(); }) {}

    ~OpampClientTest() override {
        std::promise<void> stopped;
        loop_.post([&] {
            if (client_) {
                client_->stop();
                client_.reset();
            }
            stopped.set_value();
        });
        stopped.get_future().get();
        loop_.stop();
        loopThread_.join();
    }

    template <typename F>
    auto onLoop(F task) {
        std::promise<decltype(task())> done;
        auto future = done.get_future();
        loop_.post([&] { done.set_value(task()); });
        return future.get();
    }

    bool overHttp() const { return GetParam() == "http"; }

    // Over HTTP the heartbeat is the polling interval, which must be short for the server's
    // answers to arrive quickly.
    void startClient(std::chrono::seconds heartbeat = 0s) {
        if (overHttp() && heartbeat == 0s) {
            heartbeat = 1s;
        }
        onLoop([&] {
            Client::Settings settings;
            settings.endpoint = overHttp() ? server_.httpEndpoint() : server_.endpoint();
            settings.userAgent = "test";
            settings.heartbeatInterval = heartbeat;
            settings.backoff = {50ms, 200ms, 2.0};
            AgentState state(kUid, 0x2001);
            pb::AgentDescription description;
            pb::KeyValue* kv = description.add_identifying_attributes();
            kv->set_key("service.name");
            kv->mutable_value()->set_string_value("otelcol");
            state.setAgentDescription(description);
            Client::Handlers handlers;
            handlers.connectionChanged = [this](bool up) { connection_.push(up); };
            handlers.remoteConfig = [this](const pb::AgentRemoteConfig& c) { remote_.push(c); };
            handlers.newInstanceUid = [this](const Uuid& uid) { newUid_.push(uid); };
            handlers.restart = [this] { restarts_.push(true); };
            telemetry::LoggerOptions quiet;
            quiet.level = telemetry::LogLevel::Error;
            client_ =
                std::make_unique<Client>(loop_, settings, state, handlers,
                                         telemetry::Logger::create(quiet), [] { return 0.5; });
            client_->start();
            return 0;
        });
    }

    pb::AgentToServer nextMessage() {
        auto m = server_.messages().pop();
        EXPECT_TRUE(m.has_value()) << "no message from the agent";
        return m.value_or(pb::AgentToServer{});
    }

    void connected() {
        ASSERT_EQ(connection_.pop(), std::optional<bool>(true));
        ASSERT_TRUE(server_.connections().pop());
    }

    testing::TestWsServer server_;
    supervisor::EventLoop loop_;
    std::thread loopThread_;
    std::unique_ptr<Client> client_;
    testing::Waiter<bool> connection_;
    testing::Waiter<pb::AgentRemoteConfig> remote_;
    testing::Waiter<Uuid> newUid_;
    testing::Waiter<bool> restarts_;
};

TEST_P(OpampClientTest, FullStateFirstThenOnlyChanges) {
    startClient();
    connected();
    pb::AgentToServer first = nextMessage();
    EXPECT_EQ(first.sequence_num(), 1U);
    EXPECT_EQ(first.instance_uid(), kUid.toBytesString());
    EXPECT_EQ(first.capabilities(), 0x2001U);
    EXPECT_TRUE(first.has_agent_description());

    onLoop([&] {
        pb::ComponentHealth health;
        health.set_healthy(true);
        client_->state().setHealth(health);
        client_->flush();
        return 0;
    });
    pb::AgentToServer delta = nextMessage();
    while (overHttp() && !delta.has_health()) {  // polls may come first
        delta = nextMessage();
    }
    EXPECT_GE(delta.sequence_num(), 2U);
    EXPECT_TRUE(delta.has_health());
    EXPECT_FALSE(delta.has_agent_description());
}

TEST_P(OpampClientTest, NoAnswerToAMessageThatChangesNothing) {
    if (overHttp()) {
        GTEST_SKIP() << "HTTP polls on its own schedule";
    }
    startClient();
    connected();
    nextMessage();
    pb::ServerToAgent nothing;
    nothing.set_instance_uid(kUid.toBytesString());
    nothing.set_capabilities(0x3);
    server_.send(nothing);
    EXPECT_FALSE(server_.messages().pop(300ms).has_value());
    EXPECT_EQ(onLoop([&] { return client_->serverCapabilities(); }),
              std::optional<std::uint64_t>(0x3));
}

TEST_P(OpampClientTest, ReportFullStateResendsEverything) {
    startClient();
    connected();
    nextMessage();
    pb::ServerToAgent ask;
    ask.set_flags(pb::ServerToAgentFlags_ReportFullState);
    server_.send(ask);
    pb::AgentToServer full = nextMessage();
    while (overHttp() && !full.has_agent_description()) {  // the poll that fetched the flag
        full = nextMessage();
    }
    EXPECT_GE(full.sequence_num(), 2U);
    EXPECT_TRUE(full.has_agent_description());
}

TEST_P(OpampClientTest, HandsServerInstructionsOver) {
    startClient();
    connected();
    nextMessage();
    pb::ServerToAgent config;
    config.mutable_remote_config()->set_config_hash("h1");
    server_.send(config);
    auto received = remote_.pop();
    ASSERT_TRUE(received);
    EXPECT_EQ(received->config_hash(), "h1");

    Uuid assigned = Uuid::generateV7();
    pb::ServerToAgent identity;
    identity.mutable_agent_identification()->set_new_instance_uid(assigned.toBytesString());
    server_.send(identity);
    EXPECT_EQ(newUid_.pop(), std::optional<Uuid>(assigned));
    pb::AgentToServer underNewUid = nextMessage();
    while (overHttp() && underNewUid.instance_uid() != assigned.toBytesString()) {
        underNewUid = nextMessage();
    }
    EXPECT_EQ(underNewUid.instance_uid(), assigned.toBytesString());
    EXPECT_TRUE(underNewUid.has_agent_description());

    pb::ServerToAgent restart;
    restart.mutable_command()->set_type(pb::CommandType_Restart);
    server_.send(restart);
    EXPECT_TRUE(restarts_.pop());
}

TEST_P(OpampClientTest, ReconnectsAfterTheServerDropsAndSendsFullStateAgain) {
    if (overHttp()) {
        GTEST_SKIP() << "HTTP has no connection to drop";
    }
    startClient();
    connected();
    EXPECT_EQ(nextMessage().sequence_num(), 1U);
    server_.drop();
    EXPECT_EQ(connection_.pop(), std::optional<bool>(false));
    connected();
    pb::AgentToServer again = nextMessage();
    EXPECT_EQ(again.sequence_num(), 2U);
    EXPECT_TRUE(again.has_agent_description());
}

// A message that does not decode (truncated protobuf behind a valid header) resets the
// connection; after the reconnect the full state goes out again, so nothing is lost.
TEST_P(OpampClientTest, UndecodableServerMessageResetsTheConnectionAndLosesNothing) {
    if (overHttp()) {
        GTEST_SKIP() << "the test server answers polls with real messages only";
    }
    startClient();
    connected();
    EXPECT_EQ(nextMessage().sequence_num(), 1U);
    // Field 1 (instance_uid) claims 100 bytes and has 2.
    server_.sendFrame(std::string("\0\x0a\x64\x01\x02", 5), Poco::Net::WebSocket::FRAME_BINARY);
    EXPECT_EQ(connection_.pop(), std::optional<bool>(false));
    connected();
    pb::AgentToServer again = nextMessage();
    EXPECT_TRUE(again.has_agent_description());
}

TEST_P(OpampClientTest, HeartbeatsWhenIdle) {
    startClient(1s);
    connected();
    nextMessage();
    auto beat = server_.messages().pop(5s);
    ASSERT_TRUE(beat);
    EXPECT_EQ(beat->sequence_num(), 2U);
    EXPECT_EQ(beat->capabilities(), 0x2001U);
    EXPECT_EQ(beat->instance_uid(), kUid.toBytesString());
    EXPECT_FALSE(beat->has_agent_description());
}

TEST_P(OpampClientTest, RetryAfterOnARefusedUpgradeIsHonoured) {
    server_.refuseWith(503, "1");
    auto refusedAt = Clock::now();
    startClient();
    // The first attempt is refused; let the next one through after its Retry-After.
    ASSERT_EQ(server_.refusals().pop(), std::optional<int>(503));
    server_.refuseWith(0);
    connected();
    EXPECT_GE(Clock::now() - refusedAt, 950ms);
}

TEST_P(OpampClientTest, UnavailableErrorResponseMeansReconnectLater) {
    if (overHttp()) {
        GTEST_SKIP() << "covered over HTTP by the 503 Retry-After test";
    }
    startClient();
    connected();
    nextMessage();
    pb::ServerToAgent busy;
    busy.mutable_error_response()->set_type(pb::ServerErrorResponseType_Unavailable);
    busy.mutable_error_response()->mutable_retry_info()->set_retry_after_nanoseconds(1'000'000'000);
    auto sentAt = Clock::now();
    server_.send(busy);
    EXPECT_EQ(connection_.pop(), std::optional<bool>(false));
    connected();
    EXPECT_GE(Clock::now() - sentAt, 950ms);
    EXPECT_TRUE(nextMessage().has_agent_description());
}

TEST_P(OpampClientTest, StopSendsAgentDisconnect) {
    startClient();
    connected();
    nextMessage();
    onLoop([&] {
        client_->stop();
        return 0;
    });
    pb::AgentToServer bye = nextMessage();
    while (overHttp() && !bye.has_agent_disconnect()) {
        bye = nextMessage();
    }
    EXPECT_TRUE(bye.has_agent_disconnect());
    EXPECT_GE(bye.sequence_num(), 2U);
}

TEST_P(OpampClientTest, HttpSendsTheInstanceUidHeader) {
    if (!overHttp()) {
        GTEST_SKIP() << "an HTTP header";
    }
    startClient();
    ASSERT_EQ(connection_.pop(), std::optional<bool>(true));
    auto headers = server_.connections().pop();
    ASSERT_TRUE(headers);
    EXPECT_EQ(headers->at("OpAMP-Instance-UID"), kUid.toString());
    EXPECT_EQ(headers->at("Content-Type"), "application/x-protobuf");
    EXPECT_EQ(headers->count("Content-Encoding"), 0U);  // small bodies go uncompressed
    nextMessage();

    // A large status is gzip-compressed; the server decodes it intact.
    onLoop([&] {
        pb::ComponentHealth health;
        health.set_last_error(std::string(5000, 'x'));
        client_->state().setHealth(health);
        client_->flush();
        return 0;
    });
    pb::AgentToServer big = nextMessage();
    while (!big.has_health()) {
        big = nextMessage();
    }
    EXPECT_EQ(big.health().last_error().size(), 5000U);
    std::optional<std::map<std::string, std::string>> bigHeaders;
    while ((bigHeaders = server_.connections().pop(2s)) &&
           bigHeaders->count("Content-Encoding") == 0) {
    }
    ASSERT_TRUE(bigHeaders);
    EXPECT_EQ(bigHeaders->at("Content-Encoding"), "gzip");
}

INSTANTIATE_TEST_SUITE_P(Transports, OpampClientTest, ::testing::Values("ws", "http"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                             return param.param;
                         });

}  // namespace
}  // namespace opampsup::opamp
