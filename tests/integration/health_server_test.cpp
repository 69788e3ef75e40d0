// The health endpoint over real sockets: plain HTTP and TLS on loopback.

#include <chrono>
#include <sstream>

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include "core/localstatus/HealthServer.h"
#include "support/TempDir.h"
#include "support/TestPki.h"

namespace opampsup::localstatus {
namespace {

struct Reply {
    int status = 0;
    std::string body;
    std::string header;  // X-Probe, when present
};

std::uint16_t freePort() {
    Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
    return probe.address().port();
}

Reply get(Poco::Net::HTTPClientSession& session, const std::string& path,
          const std::string& method = "GET") {
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Reply reply;
    reply.status = static_cast<int>(response.getStatus());
    std::ostringstream body;
    Poco::StreamCopier::copyStream(in, body);
    reply.body = body.str();
    reply.header = response.get("X-Probe", "");
    return reply;
}

std::optional<ListenAddress> parse(const std::string& endpoint, bool zeroPortMeansOff = true) {
    return parseListenAddress(endpoint, "healthcheck.endpoint", zeroPortMeansOff);
}

TEST(ListenAddress, HostAndPortAndNoPortMeansOff) {
    auto a = parse("localhost:13133");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "localhost");
    EXPECT_EQ(a->port, 13133);
    EXPECT_EQ(parse(":8080")->host, "");
    EXPECT_EQ(parse("[::1]:8080")->host, "::1");
    EXPECT_EQ(parse(""), std::nullopt);
    EXPECT_EQ(parse("localhost"), std::nullopt);
    EXPECT_EQ(parse("localhost:0"), std::nullopt);
    EXPECT_EQ(parse("localhost:0", false)->port, 0);
    try {
        parse("localhost:http");
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_STREQ(e.what(),
                     "healthcheck.endpoint \"localhost:http\": the port must be a "
                     "number from 0 to 65535");
    }
    EXPECT_THROW(parse("localhost:70000"), std::invalid_argument);
}

TEST(HealthServer, NotReadyThenReadyThenShuttingDown) {
    config::HealthCheckSettings settings;
    settings.endpoint = "127.0.0.1:" + std::to_string(freePort());
    settings.responseHeaders = {{"X-Probe", "supervisor"}};
    HealthServer server(settings);
    server.start();
    ASSERT_NE(server.port(), 0);
    Poco::Net::HTTPClientSession session("127.0.0.1", server.port());

    Reply starting = get(session, "/health");
    EXPECT_EQ(starting.status, 503);
    EXPECT_EQ(starting.body, "the supervisor is starting\n");
    EXPECT_EQ(starting.header, "supervisor");

    server.setReady(true, "");
    Reply ready = get(session, "/health");
    EXPECT_EQ(ready.status, 200);
    EXPECT_EQ(ready.body, "OK\n");

    EXPECT_EQ(get(session, "/other").status, 404);
    EXPECT_EQ(get(session, "/health", "POST").status, 405);

    server.setReady(false, "the supervisor is shutting down");
    EXPECT_EQ(get(session, "/health").body, "the supervisor is shutting down\n");
}

TEST(HealthServer, NoPortMeansNoServer) {
    config::HealthCheckSettings settings;
    settings.endpoint = "localhost";
    HealthServer server(settings);
    server.start();
    EXPECT_EQ(server.port(), 0);
}

TEST(HealthServer, AnAddressInUseIsAClearError) {
    Poco::Net::ServerSocket taken;
    taken.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true, false);
    taken.listen();
    config::HealthCheckSettings settings;
    settings.endpoint = "127.0.0.1:" + std::to_string(taken.address().port());
    HealthServer server(settings);
    try {
        server.start();
        FAIL() << "bound a port that is in use";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("healthcheck.endpoint: cannot listen on " +
                                             settings.endpoint),
                  std::string::npos)
            << e.what();
    }
}

// Health check settings serving TLS on a free loopback port with the test PKI's server
// certificate.
config::HealthCheckSettings tlsSettings(const testing::TestPki& pki) {
    config::HealthCheckSettings settings;
    settings.endpoint = "127.0.0.1:" + std::to_string(freePort());
    config::TlsServerSettings tls;
    tls.certFile = pki.serverCert.string();
    tls.keyFile = pki.serverKey.string();
    settings.tls = tls;
    return settings;
}

TEST(HealthServer, ServesOverTls) {
    testing::TempDir dir;
    testing::TestPki pki(dir.path(), {"127.0.0.1"});
    HealthServer server(tlsSettings(pki));
    server.start();
    server.setReady(true, "");

    Poco::Net::Context::Params params;
    params.verificationMode = Poco::Net::Context::VERIFY_RELAXED;
    params.caLocation = pki.caCert.string();
    Poco::Net::Context::Ptr client =
        new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
    Poco::Net::HTTPSClientSession session("127.0.0.1", server.port(), client);
    Reply reply = get(session, "/health");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, "OK\n");
}

// A peer that connects to the TLS endpoint and never starts the handshake (a bare TCP
// probe) does not hold the supervisor's shutdown for the minute-long read timeout.
TEST(HealthServer, StopDoesNotWaitForAPeerStuckBeforeItsTlsHandshake) {
    testing::TempDir dir;
    testing::TestPki pki(dir.path(), {"127.0.0.1"});
    config::HealthCheckSettings settings = tlsSettings(pki);
    settings.readTimeout = std::chrono::seconds(60);
    HealthServer server(settings);
    server.start();

    Poco::Net::StreamSocket silent(Poco::Net::SocketAddress("127.0.0.1", server.port()));
    // The server's connection thread is reading the handshake once a request from another
    // peer has been answered after it: connections are accepted in order.
    Poco::Net::Context::Params params;
    params.verificationMode = Poco::Net::Context::VERIFY_NONE;
    Poco::Net::HTTPSClientSession probe(
        "127.0.0.1", server.port(),
        new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params));
    EXPECT_EQ(get(probe, "/health").status, 503);

    auto started = std::chrono::steady_clock::now();
    server.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
}

}  // namespace
}  // namespace opampsup::localstatus
