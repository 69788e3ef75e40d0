// OpAMP through an HTTP CONNECT proxy on loopback, plain and TLS, WebSocket and HTTP.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/opamp/Transport.h"
#include "support/TempDir.h"
#include "support/TestConnectProxy.h"
#include "support/TestPki.h"
#include "support/TestWsServer.h"

namespace opampsup::opamp {
namespace {

namespace pb = ::opamp::proto;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

class ProxyTest : public ::testing::Test {
  protected:
    std::unique_ptr<Transport> transport(const std::string& endpoint,
                                         std::optional<config::TlsClientSettings> tls = {}) {
        Transport::Settings settings;
        settings.endpoint = endpoint;
        settings.userAgent = "proxy-test";
        settings.connectTimeout = 5s;
        settings.tls = std::move(tls);
        settings.proxy = chooseProxy(
            endpoint,
            config::ProxySettings{"http://agent:pw@127.0.0.1:" + std::to_string(proxy_.port()), {}},
            [](const std::string&) { return std::nullopt; });
        Transport::Callbacks callbacks;
        callbacks.connected = [this] { connected_.push(true); };
        callbacks.message = [this](std::string payload) { received_.push(std::move(payload)); };
        callbacks.disconnected = [this](Transport::Disconnect d) { lost_.push(std::move(d)); };
        telemetry::LoggerOptions quiet;
        quiet.level = telemetry::LogLevel::Error;
        return makeTransport(settings, callbacks, telemetry::Logger::create(quiet));
    }

    void exchange(Transport& t, testing::TestWsServer& s) {
        pb::AgentToServer m;
        m.set_sequence_num(3);
        ASSERT_TRUE(t.send(m.SerializeAsString()));
        auto got = s.messages().pop();
        ASSERT_TRUE(got);
        EXPECT_EQ(got->sequence_num(), 3U);
    }

    void expectTunnelTo(const testing::TestWsServer& s) {
        auto request = proxy_.requests().pop();
        ASSERT_TRUE(request);
        EXPECT_EQ(request->at("method"), "CONNECT");
        std::string endpoint = s.endpoint();
        std::string hostPort = endpoint.substr(endpoint.find("://") + 3);
        EXPECT_EQ(request->at("target"), hostPort.substr(0, hostPort.find('/')));
        EXPECT_EQ(request->at("Proxy-Authorization"), "Basic YWdlbnQ6cHc=");  // agent:pw
    }

    testing::TestConnectProxy proxy_;
    testing::Waiter<bool> connected_;
    testing::Waiter<std::string> received_;
    testing::Waiter<Transport::Disconnect> lost_;
};

TEST_F(ProxyTest, WebSocketThroughTheTunnel) {
    testing::TestWsServer server;
    auto t = transport(server.endpoint());
    t->connect();
    ASSERT_TRUE(connected_.pop());
    expectTunnelTo(server);
    exchange(*t, server);
    auto headers = server.connections().pop();
    ASSERT_TRUE(headers);
    EXPECT_EQ(headers->count("Proxy-Authorization"), 0U);  // never leaks to the server
}

TEST_F(ProxyTest, TlsInsideTheTunnelOverWebSocketAndHttp) {
    testing::TempDir dir;
    testing::TestPki pki(dir.path(), {"127.0.0.1"});
    testing::TestWsServer server(testing::TestWsServer::Tls{
        pki.serverCert.string(), pki.serverKey.string(), pki.caCert.string(), false});
    config::TlsClientSettings tls;
    tls.caFile = pki.caCert.string();

    auto ws = transport(server.endpoint(), tls);
    ws->connect();
    ASSERT_TRUE(connected_.pop());
    expectTunnelTo(server);
    exchange(*ws, server);
    ws->close();

    auto http = transport(server.httpEndpoint(), tls);
    http->connect();
    ASSERT_TRUE(connected_.pop());
    exchange(*http, server);
    expectTunnelTo(server);
    EXPECT_TRUE(received_.pop());
}

TEST_F(ProxyTest, RefusedTunnelIsReportedWithTheProxysAnswer) {
    testing::TestWsServer server;
    proxy_.refuseWith(407);
    auto t = transport(server.endpoint());
    t->connect();
    auto d = lost_.pop();
    ASSERT_TRUE(d);
    EXPECT_THAT(d->reason, HasSubstr("refused the tunnel"));
    EXPECT_THAT(d->reason, HasSubstr("HTTP 407"));
    EXPECT_THAT(d->reason, HasSubstr("server.proxy.url"));
    EXPECT_FALSE(connected_.pop(50ms).has_value());
}

}  // namespace
}  // namespace opampsup::opamp
