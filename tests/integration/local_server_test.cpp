// The supervisor's loopback OpAMP server: who may connect, what it relays, and how it
// survives garbage. The "collector" here is a WebSocket transport in the test process, so
// the process check sees the test's own PID.

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/WebSocket.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "core/localserver/LocalOpampServer.h"
#include "core/opamp/Transport.h"
#include "core/opamp/WsFraming.h"
#include "support/Waiter.h"

namespace opampsup::localserver {
namespace {

namespace pb = ::opamp::proto;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

const opamp::Uuid kUid = *opamp::Uuid::parse("018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f");
const std::string kSecret = "3f9a0c";

class FakeCollector {
  public:
    FakeCollector(const std::string& endpoint, const std::string& authorization) {
        opamp::Transport::Settings settings;
        settings.endpoint = endpoint;
        settings.userAgent = "fake-collector";
        settings.connectTimeout = 5s;
        if (!authorization.empty()) {
            settings.headers = {{"Authorization", {authorization}}};
        }
        opamp::Transport::Callbacks callbacks;
        callbacks.connected = [this] { connected_.push(true); };
        callbacks.message = [this](std::string payload) {
            pb::ServerToAgent m;
            if (m.ParseFromString(payload)) {
                received_.push(m);
            }
        };
        callbacks.disconnected = [this](opamp::Transport::Disconnect d) { lost_.push(d.reason); };
        telemetry::LoggerOptions quiet;
        quiet.level = telemetry::LogLevel::Error;
        transport_ = opamp::makeTransport(settings, callbacks, telemetry::Logger::create(quiet));
        transport_->connect();
    }
    ~FakeCollector() { transport_->close(); }

    opamp::Transport& transport() { return *transport_; }
    bool send(const opamp::Uuid& uid, std::uint64_t sequence) {
        pb::AgentToServer m;
        m.set_instance_uid(uid.toBytesString());
        m.set_sequence_num(sequence);
        m.mutable_health()->set_healthy(true);
        return transport_->send(m.SerializeAsString());
    }

    testing::Waiter<bool> connected_;
    testing::Waiter<pb::ServerToAgent> received_;
    testing::Waiter<std::string> lost_;

  private:
    std::unique_ptr<opamp::Transport> transport_;
};

class LocalOpampServerTest : public ::testing::Test {
  protected:
    LocalOpampServerTest() {
        LocalOpampServer::Callbacks callbacks;
        callbacks.connected = [this] { events_.push("connected"); };
        callbacks.message = [this](pb::AgentToServer m) { messages_.push(std::move(m)); };
        callbacks.disconnected = [this](std::string reason) {
            events_.push("disconnected: " + reason);
        };
        callbacks.rejected = [this](std::string reason) { rejected_.push(std::move(reason)); };
        telemetry::LoggerOptions quiet;
        quiet.level = telemetry::LogLevel::Error;
        server_ =
            std::make_unique<LocalOpampServer>(0, callbacks, telemetry::Logger::create(quiet));
        server_->start();
        server_->expect({kUid, kSecret, static_cast<long>(getpid())});
    }

    std::string authorization() const { return LocalOpampServer::authorizationHeader(kSecret); }

    // Declared first so they outlive the server: its threads report to them until it stops.
    testing::Waiter<std::string> events_;
    testing::Waiter<pb::AgentToServer> messages_;
    testing::Waiter<std::string> rejected_;
    std::unique_ptr<LocalOpampServer> server_;
};

TEST_F(LocalOpampServerTest, BindsToLoopbackOnly) {
    EXPECT_THAT(server_->endpoint(), HasSubstr("ws://127.0.0.1:"));
    EXPECT_NE(server_->port(), 0);
}

TEST_F(LocalOpampServerTest, RelaysTheCollectorsMessagesAndAnswersThem) {
    FakeCollector collector(server_->endpoint(), authorization());
    ASSERT_TRUE(collector.connected_.pop());
    EXPECT_EQ(events_.pop(), std::optional<std::string>("connected"));
    ASSERT_TRUE(collector.send(kUid, 1));
    auto m = messages_.pop();
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->health().healthy());
    auto answer = collector.received_.pop();
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->instance_uid(), kUid.toBytesString());
    EXPECT_NE(answer->capabilities(), 0U);

    pb::ServerToAgent ask;
    ask.set_flags(pb::ServerToAgentFlags_ReportAvailableComponents);
    ASSERT_TRUE(server_->send(ask));
    auto asked = collector.received_.pop();
    ASSERT_TRUE(asked);
    EXPECT_EQ(asked->flags(),
              static_cast<std::uint64_t>(pb::ServerToAgentFlags_ReportAvailableComponents));
}

TEST_F(LocalOpampServerTest, RefusesAWrongOrMissingSecret) {
    for (const std::string& authorization : {std::string(), std::string("Secret nope")}) {
        FakeCollector intruder(server_->endpoint(), authorization);
        auto lost = intruder.lost_.pop();
        ASSERT_TRUE(lost) << "admitted with \"" << authorization << "\"";
        EXPECT_THAT(*lost, HasSubstr("401"));
        auto why = rejected_.pop();
        ASSERT_TRUE(why);
        EXPECT_THAT(*why, HasSubstr("launch secret"));
    }
    EXPECT_FALSE(server_->isConnected());
}

TEST_F(LocalOpampServerTest, RefusesAForeignProcess) {
    // The secret is right, but the connection is not the expected process's: PID 1 never
    // holds the test's socket.
    server_->expectPid(1);
    FakeCollector foreign(server_->endpoint(), authorization());
    auto lost = foreign.lost_.pop();
    ASSERT_TRUE(lost) << "a process other than the collector got in";
    EXPECT_THAT(*lost, HasSubstr("403"));
    auto why = rejected_.pop();
    ASSERT_TRUE(why);
    EXPECT_THAT(*why, HasSubstr("collector's process"));
}

TEST_F(LocalOpampServerTest, OneCollectorAtATime) {
    FakeCollector first(server_->endpoint(), authorization());
    ASSERT_TRUE(first.connected_.pop());
    ASSERT_EQ(events_.pop(), std::optional<std::string>("connected"));
    FakeCollector second(server_->endpoint(), authorization());
    auto lost = second.lost_.pop();
    ASSERT_TRUE(lost);
    EXPECT_THAT(*lost, HasSubstr("409"));
    // The first one is untouched.
    ASSERT_TRUE(first.send(kUid, 1));
    EXPECT_TRUE(messages_.pop());
}

TEST_F(LocalOpampServerTest, ClosesOnAnotherInstanceUid) {
    FakeCollector collector(server_->endpoint(), authorization());
    ASSERT_TRUE(collector.connected_.pop());
    auto other = *opamp::Uuid::parse("018fe0c4-0000-7000-8000-000000000001");
    ASSERT_TRUE(collector.send(other, 1));
    auto why = rejected_.pop();
    ASSERT_TRUE(why);
    EXPECT_THAT(*why, HasSubstr("instance UID 018fe0c4-0000-7000-8000-000000000001"));
    EXPECT_TRUE(collector.lost_.pop());
    EXPECT_FALSE(messages_.pop(50ms).has_value());
}

// The collector's messages split over frames are put together; one larger than the
// buffers the server keeps (1 MiB) arrives whole, and so do the small ones after it.
TEST_F(LocalOpampServerTest, ReassemblesFragmentedAndLargeMessages) {
    using Poco::Net::WebSocket;
    Poco::Net::HTTPClientSession session("127.0.0.1", server_->port());
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, "/v1/opamp",
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Authorization", authorization());
    Poco::Net::HTTPResponse response;
    WebSocket ws(session, request, response);
    auto withBody = [](std::size_t bytes, char fill) {
        pb::AgentToServer m;
        m.set_instance_uid(kUid.toBytesString());
        auto& file =
            (*m.mutable_effective_config()->mutable_config_map()->mutable_config_map())[""];
        file.set_body(std::string(bytes, fill));
        return opamp::frameWsMessage(m.SerializeAsString());
    };
    auto send = [&](const std::string& bytes, int flags) {
        ws.sendFrame(bytes.data(), static_cast<int>(bytes.size()), flags);
    };
    const int fin = WebSocket::FRAME_FLAG_FIN;
    const std::string split = withBody(3000, 'a');
    send(split.substr(0, 1000), WebSocket::FRAME_OP_BINARY);
    send(split.substr(1000, 1000), WebSocket::FRAME_OP_CONT);
    send(split.substr(2000), fin | WebSocket::FRAME_OP_CONT);
    send(withBody(3U << 20, 'b'), fin | WebSocket::FRAME_OP_BINARY);
    send(withBody(10, 'c'), fin | WebSocket::FRAME_OP_BINARY);
    for (auto [bytes, fill] :
         {std::pair<std::size_t, char>{3000, 'a'}, {3U << 20, 'b'}, {10, 'c'}}) {
        auto m = messages_.pop(5s);
        ASSERT_TRUE(m);
        EXPECT_EQ(m->effective_config().config_map().config_map().at("").body(),
                  std::string(bytes, fill));
    }
}

TEST_F(LocalOpampServerTest, GarbageClosesTheConnectionAndTheServerCarriesOn) {
    {
        FakeCollector collector(server_->endpoint(), authorization());
        ASSERT_TRUE(collector.connected_.pop());
        ASSERT_EQ(events_.pop(), std::optional<std::string>("connected"));
        // A valid frame header around bytes that are not an AgentToServer.
        ASSERT_TRUE(collector.transport().send(std::string("\x0a\x64\x01", 3)));
        auto event = events_.pop();
        ASSERT_TRUE(event);
        EXPECT_THAT(*event, HasSubstr("not an AgentToServer"));
        EXPECT_TRUE(collector.lost_.pop());
    }
    FakeCollector next(server_->endpoint(), authorization());
    ASSERT_TRUE(next.connected_.pop());
    ASSERT_TRUE(next.send(kUid, 1));
    EXPECT_TRUE(messages_.pop());
}

TEST_F(LocalOpampServerTest, CustomMessagesWaitForTheCollectorWithinABound) {
    for (std::size_t i = 0; i < LocalOpampServer::kMaxQueuedCustomMessages + 3; ++i) {
        pb::CustomMessage custom;
        custom.set_capability("io.example");
        custom.set_type("n");
        custom.set_data(std::to_string(i));
        server_->sendCustomMessage(custom);
    }
    FakeCollector collector(server_->endpoint(), authorization());
    ASSERT_TRUE(collector.connected_.pop());
    std::vector<std::string> data;
    // Waits on the count, not on a quiet gap (a loaded machine may pause between messages),
    // then a little longer for any message beyond the bound.
    while (data.size() < LocalOpampServer::kMaxQueuedCustomMessages) {
        auto m = collector.received_.pop(10s);
        if (!m) {
            break;
        }
        if (m->has_custom_message()) {
            data.push_back(m->custom_message().data());
        }
    }
    while (auto m = collector.received_.pop(300ms)) {
        if (m->has_custom_message()) {
            data.push_back(m->custom_message().data());
        }
    }
    ASSERT_EQ(data.size(), LocalOpampServer::kMaxQueuedCustomMessages);
    EXPECT_EQ(data.front(), "3");  // the three oldest were dropped
    EXPECT_EQ(data.back(), std::to_string(LocalOpampServer::kMaxQueuedCustomMessages + 2));
}

}  // namespace
}  // namespace opampsup::localserver
