// The WebSocket transport against a real server on loopback.

#include <thread>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/WebSocket.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/opamp/WebSocketTransport.h"
#include "core/opamp/WsFraming.h"
#include "support/DevServerFixture.h"
#include "support/TestWsServer.h"
#include "support/Waiter.h"

namespace opampsup::opamp {
namespace {

namespace pb = ::opamp::proto;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

class WebSocketTransportTest : public ::testing::Test {
  protected:
    std::unique_ptr<WebSocketTransport> makeTransport(const std::string& endpoint,
                                                      std::chrono::milliseconds keepalive = 30s) {
        WebSocketTransport::Settings settings;
        settings.keepaliveInterval = keepalive;
        settings.endpoint = endpoint;
        settings.headers = {{"Authorization", {"Bearer t0k3n"}}, {"X-Tenant", {"blue"}}};
        settings.userAgent = "opampsupervisor-test/1.0";
        settings.connectTimeout = 5s;
        WebSocketTransport::Callbacks callbacks;
        callbacks.connected = [this] { connected_.push(true); };
        callbacks.message = [this](std::string payload) { received_.push(std::move(payload)); };
        callbacks.disconnected = [this](WebSocketTransport::Disconnect d) {
            disconnected_.push(std::move(d));
        };
        telemetry::LoggerOptions quiet;
        quiet.level = telemetry::LogLevel::Error;
        return std::make_unique<WebSocketTransport>(settings, callbacks,
                                                    telemetry::Logger::create(quiet));
    }

    pb::AgentToServer hello(std::uint64_t sequence) {
        pb::AgentToServer m;
        m.set_instance_uid(std::string(16, '\x01'));
        m.set_sequence_num(sequence);
        m.set_capabilities(0x2001);
        return m;
    }

    testing::TestWsServer server_;
    testing::Waiter<bool> connected_;
    testing::Waiter<std::string> received_;
    testing::Waiter<WebSocketTransport::Disconnect> disconnected_;
};

TEST_F(WebSocketTransportTest, ConnectsWithHeadersAndExchangesMessages) {
    auto transport = makeTransport(server_.endpoint());
    transport->connect();
    ASSERT_TRUE(connected_.pop());
    auto headers = server_.connections().pop();
    ASSERT_TRUE(headers);
    EXPECT_EQ(headers->at("Authorization"), "Bearer t0k3n");
    EXPECT_EQ(headers->at("X-Tenant"), "blue");
    EXPECT_EQ(headers->at("User-Agent"), "opampsupervisor-test/1.0");

    ASSERT_TRUE(transport->send(hello(1).SerializeAsString()));
    auto first = server_.frames().pop();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->opcode, Poco::Net::WebSocket::FRAME_OP_BINARY);
    EXPECT_EQ(first->payload[0], '\0');  // the OpAMP header
    auto message = server_.messages().pop();
    ASSERT_TRUE(message);
    EXPECT_EQ(message->sequence_num(), 1U);
    EXPECT_EQ(message->capabilities(), 0x2001U);

    pb::ServerToAgent reply;
    reply.set_capabilities(0x3);
    reply.mutable_remote_config()->set_config_hash("abc");
    server_.send(reply);
    auto payload = received_.pop();
    ASSERT_TRUE(payload);
    pb::ServerToAgent decoded;
    ASSERT_TRUE(decoded.ParseFromString(*payload));
    EXPECT_EQ(decoded.remote_config().config_hash(), "abc");
}

TEST_F(WebSocketTransportTest, FramesArrivingTogetherAreAllDelivered) {
    auto transport = makeTransport(server_.endpoint());
    transport->connect();
    ASSERT_TRUE(connected_.pop());
    ASSERT_TRUE(server_.connections().pop());
    // Sent back to back, several frames share TCP segments and the transport's buffer.
    for (int i = 0; i < 50; ++i) {
        pb::ServerToAgent m;
        m.set_flags(static_cast<std::uint64_t>(i));
        server_.send(m);
    }
    for (int i = 0; i < 50; ++i) {
        auto payload = received_.pop(2s);
        ASSERT_TRUE(payload) << "message " << i << " did not arrive";
        pb::ServerToAgent m;
        ASSERT_TRUE(m.ParseFromString(*payload));
        EXPECT_EQ(m.flags(), static_cast<std::uint64_t>(i));
    }
}

// A message split over frames is put together; one larger than the buffers the transport
// keeps (1 MiB) arrives whole, and so do the small ones after it.
TEST_F(WebSocketTransportTest, ReassemblesFragmentedAndLargeMessages) {
    auto transport = makeTransport(server_.endpoint());
    transport->connect();
    ASSERT_TRUE(connected_.pop());
    ASSERT_TRUE(server_.connections().pop());
    auto withBody = [](std::size_t bytes, char fill) {
        pb::ServerToAgent m;
        m.set_instance_uid(std::string(16, '\x01'));
        auto& file = (*m.mutable_remote_config()->mutable_config()->mutable_config_map())[""];
        file.set_body(std::string(bytes, fill));
        return frameWsMessage(m.SerializeAsString());
    };
    using Poco::Net::WebSocket;
    const int fin = WebSocket::FRAME_FLAG_FIN;
    const std::string split = withBody(3000, 'a');
    server_.sendFrame(split.substr(0, 1000), WebSocket::FRAME_OP_BINARY);
    server_.sendFrame(split.substr(1000, 1000), WebSocket::FRAME_OP_CONT);
    server_.sendFrame(split.substr(2000), fin | WebSocket::FRAME_OP_CONT);
    server_.sendFrame(withBody(3U << 20, 'b'), fin | WebSocket::FRAME_OP_BINARY);
    server_.sendFrame(withBody(10, 'c'), fin | WebSocket::FRAME_OP_BINARY);
    for (auto [bytes, fill] :
         {std::pair<std::size_t, char>{3000, 'a'}, {3U << 20, 'b'}, {10, 'c'}}) {
        auto payload = received_.pop(5s);
        ASSERT_TRUE(payload);
        pb::ServerToAgent m;
        ASSERT_TRUE(m.ParseFromString(*payload));
        EXPECT_EQ(m.remote_config().config().config_map().at("").body(), std::string(bytes, fill));
    }
}

TEST_F(WebSocketTransportTest, AnswersPingWithPong) {
    auto transport = makeTransport(server_.endpoint());
    transport->connect();
    ASSERT_TRUE(connected_.pop());
    ASSERT_TRUE(server_.connections().pop());
    server_.sendFrame("are-you-there", static_cast<int>(Poco::Net::WebSocket::FRAME_FLAG_FIN) |
                                           static_cast<int>(Poco::Net::WebSocket::FRAME_OP_PING));
    auto frame = server_.frames().pop();
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->opcode, Poco::Net::WebSocket::FRAME_OP_PONG);
    EXPECT_EQ(frame->payload, "are-you-there");
}

TEST_F(WebSocketTransportTest, CloseSendsTheLastMessageThenACloseFrame) {
    auto transport = makeTransport(server_.endpoint());
    transport->connect();
    ASSERT_TRUE(connected_.pop());
    pb::AgentToServer bye = hello(2);
    bye.mutable_agent_disconnect();
    transport->close(bye.SerializeAsString());
    auto message = server_.messages().pop();
    ASSERT_TRUE(message);
    EXPECT_TRUE(message->has_agent_disconnect());
    std::optional<testing::TestWsServer::Received> frame;
    do {
        frame = server_.frames().pop();
    } while (frame && frame->opcode != Poco::Net::WebSocket::FRAME_OP_CLOSE);
    EXPECT_TRUE(frame.has_value());
    EXPECT_FALSE(disconnected_.pop(200ms).has_value());  // no callback for our own close
    EXPECT_FALSE(transport->send("late"));
}

struct BadInput {
    const char* name;
    std::string bytes;
    int flags;
    const char* reason;
};

TEST_F(WebSocketTransportTest, HostileFramesEndTheConnectionWithAReason) {
    const int binary = Poco::Net::WebSocket::FRAME_BINARY;
    for (const BadInput& bad :
         {BadInput{"header 1", std::string("\x01payload"), binary,
                   "unsupported OpAMP message header 1"},
          BadInput{"truncated header", std::string("\x80"), binary,
                   "truncated OpAMP message header"},
          BadInput{"empty", std::string(), binary, "empty WebSocket message"},
          BadInput{"text", std::string("hello"), Poco::Net::WebSocket::FRAME_TEXT, "text frame"}}) {
        auto transport = makeTransport(server_.endpoint());
        transport->connect();
        ASSERT_TRUE(connected_.pop()) << bad.name;
        ASSERT_TRUE(server_.connections().pop()) << bad.name;
        server_.sendFrame(bad.bytes, bad.flags);
        auto d = disconnected_.pop();
        ASSERT_TRUE(d) << bad.name;
        EXPECT_THAT(d->reason, HasSubstr(bad.reason)) << bad.name;
        EXPECT_FALSE(d->permanent);
        EXPECT_FALSE(transport->isConnected());
        EXPECT_FALSE(received_.pop(10ms).has_value()) << bad.name;
    }
}

// One message over the 64 MiB limit ends the connection before it is read into memory.
TEST_F(WebSocketTransportTest, OversizeMessageIsRefused) {
    auto transport = makeTransport(server_.endpoint());
    transport->connect();
    ASSERT_TRUE(connected_.pop());
    ASSERT_TRUE(server_.connections().pop());
    std::thread sender([this] {
        try {
            server_.sendFrame(std::string(kMaxMessageBytes + 32, '\0'),
                              Poco::Net::WebSocket::FRAME_BINARY);
        } catch (const Poco::Exception&) {
            // The client hung up mid-frame, as it should.
        }
    });
    auto d = disconnected_.pop(30s);
    sender.join();
    ASSERT_TRUE(d) << "an oversize message was accepted";
    EXPECT_THAT(d->reason, HasSubstr("too big"));
    EXPECT_FALSE(received_.pop(10ms).has_value());
}

TEST_F(WebSocketTransportTest, ServerDropIsReported) {
    auto transport = makeTransport(server_.endpoint());
    transport->connect();
    ASSERT_TRUE(connected_.pop());
    ASSERT_TRUE(server_.connections().pop());
    server_.drop();
    auto d = disconnected_.pop();
    ASSERT_TRUE(d);
    EXPECT_FALSE(transport->isConnected());
    // And it can connect again.
    transport->connect();
    EXPECT_TRUE(connected_.pop());
}

TEST_F(WebSocketTransportTest, RefusedUpgradeCarriesRetryAfter) {
    server_.refuseWith(503, "7");
    auto transport = makeTransport(server_.endpoint());
    transport->connect();
    auto d = disconnected_.pop();
    ASSERT_TRUE(d);
    EXPECT_THAT(d->reason, HasSubstr("HTTP 503"));
    EXPECT_EQ(d->retryAfter, std::chrono::milliseconds(7000));
    EXPECT_FALSE(d->permanent);

    server_.refuseWith(429);
    transport->connect();
    d = disconnected_.pop();
    ASSERT_TRUE(d);
    EXPECT_FALSE(d->permanent);

    server_.refuseWith(401);
    transport->connect();
    d = disconnected_.pop();
    ASSERT_TRUE(d);
    EXPECT_THAT(d->reason, HasSubstr("HTTP 401"));
    EXPECT_TRUE(d->permanent);
}

TEST_F(WebSocketTransportTest, NothingListening) {
    std::string endpoint;
    {
        Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
        endpoint = "ws://127.0.0.1:" + std::to_string(probe.address().port()) + "/v1/opamp";
    }
    auto transport = makeTransport(endpoint);
    transport->connect();
    auto d = disconnected_.pop();
    ASSERT_TRUE(d);
    EXPECT_THAT(d->reason, HasSubstr("cannot connect to " + endpoint));
    EXPECT_FALSE(connected_.pop(10ms).has_value());
}

// The test server never answers pings: a silent connection is found dead after one
// keepalive interval for the ping and one for the missing answer.
TEST_F(WebSocketTransportTest, KeepalivePingFindsADeadConnection) {
    auto t = makeTransport(server_.endpoint(), 200ms);
    t->connect();
    ASSERT_TRUE(connected_.pop());
    bool sawPing = false;
    while (auto frame = server_.frames().pop(2s)) {
        if (frame->opcode == Poco::Net::WebSocket::FRAME_OP_PING) {
            sawPing = true;
            break;
        }
    }
    EXPECT_TRUE(sawPing) << "no ping after an idle keepalive interval";
    auto lost = disconnected_.pop(2s);
    ASSERT_TRUE(lost) << "a server that never answers was not detected";
    EXPECT_THAT(lost->reason, HasSubstr("did not answer a WebSocket ping"));
}

// A server that answers pings (the dev server does) keeps the connection up indefinitely.
TEST_F(WebSocketTransportTest, KeepaliveAnsweredKeepsTheConnection) {
    testing::DevServerFixture devServer;
    auto t = makeTransport(devServer.endpoint("ws"), 100ms);
    t->connect();
    ASSERT_TRUE(connected_.pop());
    // Ten keepalive intervals without any message: only pings and pongs flow.
    EXPECT_FALSE(disconnected_.pop(1s).has_value());
    EXPECT_TRUE(t->send(hello(1).SerializeAsString()));
    EXPECT_TRUE(received_.pop());
}

}  // namespace
}  // namespace opampsup::opamp
