// wss:// and https:// against loopback servers with certificates made for the test.

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "core/opamp/HttpSession.h"
#include "core/opamp/TlsContext.h"
#include "core/opamp/Transport.h"
#include "support/TempDir.h"
#include "support/TestPki.h"
#include "support/TestWsServer.h"

namespace opampsup::opamp {
namespace {

namespace pb = ::opamp::proto;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

class TlsTest : public ::testing::Test {
  protected:
    TlsTest() : pki_(dir_.path(), {"localhost", "127.0.0.1"}) {}

    std::unique_ptr<testing::TestWsServer> server(bool requireClientCert = false,
                                                  const testing::TestPki* pki = nullptr) {
        const testing::TestPki& p = pki != nullptr ? *pki : pki_;
        return std::make_unique<testing::TestWsServer>(testing::TestWsServer::Tls{
            p.serverCert.string(), p.serverKey.string(), p.caCert.string(), requireClientCert});
    }

    std::unique_ptr<Transport> transport(const std::string& endpoint,
                                         const config::TlsClientSettings& tls) {
        Transport::Settings settings;
        settings.endpoint = endpoint;
        settings.userAgent = "tls-test";
        settings.connectTimeout = 5s;
        settings.tls = tls;
        Transport::Callbacks callbacks;
        callbacks.connected = [this] { connected_.push(true); };
        callbacks.message = [this](std::string payload) { received_.push(std::move(payload)); };
        callbacks.disconnected = [this](Transport::Disconnect d) { lost_.push(std::move(d)); };
        telemetry::LoggerOptions quiet;
        quiet.level = telemetry::LogLevel::Error;
        return makeTransport(settings, callbacks, telemetry::Logger::create(quiet));
    }

    config::TlsClientSettings trusting(const std::filesystem::path& ca) {
        config::TlsClientSettings tls;
        tls.caFile = ca.string();
        return tls;
    }

    // Sends one message and expects the server to get it: the TLS session really works.
    void exchange(Transport& t, testing::TestWsServer& s) {
        pb::AgentToServer m;
        m.set_sequence_num(7);
        ASSERT_TRUE(t.send(m.SerializeAsString()));
        auto got = s.messages().pop();
        ASSERT_TRUE(got);
        EXPECT_EQ(got->sequence_num(), 7U);
    }

    testing::TempDir dir_;
    testing::TestPki pki_;
    testing::Waiter<bool> connected_;
    testing::Waiter<std::string> received_;
    testing::Waiter<Transport::Disconnect> lost_;
};

// Hardening: a client context verifies the peer and refuses anything older than TLS 1.2,
// unless the config lowers the minimum explicitly.
TEST(TlsDefaults, ThePeerIsVerifiedAndTls12IsTheMinimum) {
    config::TlsClientSettings settings;
    Poco::Net::Context::Ptr context = opamp::makeClientTlsContext(settings, "example.com");
    SSL_CTX* ctx = context->sslContext();
    EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
    EXPECT_NE(SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER, 0);
    settings.minVersion = "1.3";
    EXPECT_EQ(SSL_CTX_get_min_proto_version(
                  opamp::makeClientTlsContext(settings, "example.com")->sslContext()),
              TLS1_3_VERSION);
}

TEST_F(TlsTest, WssWithTheServersCaFile) {
    auto s = server();
    auto t = transport(s->endpoint(), trusting(pki_.caCert));
    t->connect();
    ASSERT_TRUE(connected_.pop());
    exchange(*t, *s);
    pb::ServerToAgent reply;
    reply.set_flags(1);
    ASSERT_TRUE(s->connections().pop());
    s->send(reply);
    EXPECT_TRUE(received_.pop());
}

TEST_F(TlsTest, HttpsWithTheCaAsPem) {
    auto s = server();
    config::TlsClientSettings tls;
    tls.caPem = testing::readText(pki_.caCert);
    auto t = transport(s->httpEndpoint(), tls);
    t->connect();
    ASSERT_TRUE(connected_.pop());
    exchange(*t, *s);
    EXPECT_TRUE(received_.pop());  // the (empty) answer to the POST
}

// The test server's certificate has an ECDSA key: over TLS 1.2 an RSA-only suite list
// leaves nothing to agree on, an ECDSA suite works. This shows the list is applied.
TEST_F(TlsTest, CipherSuitesAndCurvesAreApplied) {
    auto s = server();
    config::TlsClientSettings tls = trusting(pki_.caCert);
    tls.maxVersion = "1.2";
    tls.cipherSuites = {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"};
    auto refused = transport(s->endpoint(), tls);
    refused->connect();
    auto d = lost_.pop();
    ASSERT_TRUE(d) << "an RSA-only suite list connected to an ECDSA server";
    EXPECT_THAT(d->reason, HasSubstr("handshake"));

    tls.cipherSuites = {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"};
    tls.curvePreferences = {"X25519", "P256"};
    auto accepted = transport(s->endpoint(), tls);
    accepted->connect();
    ASSERT_TRUE(connected_.pop());
    exchange(*accepted, *s);
}

TEST_F(TlsTest, UntrustedServerIsRefused) {
    auto s = server();
    for (const std::string& endpoint : {s->endpoint(), s->httpEndpoint()}) {
        auto t = transport(endpoint, trusting(pki_.otherCaCert));
        t->connect();
        if (endpoint.rfind("https", 0) == 0) {
            ASSERT_TRUE(connected_.pop());  // HTTP finds out on its first request
            pb::AgentToServer m;
            t->send(m.SerializeAsString());
        }
        auto d = lost_.pop();
        ASSERT_TRUE(d) << endpoint;
        // The server sends its CA with its certificate; that CA is the one not trusted.
        EXPECT_THAT(d->reason, HasSubstr("certificate verify failed: self-signed certificate in "
                                         "certificate chain (the certificate of \"CN=opampsup "
                                         "test CA\" at depth 1 of the chain)"))
            << endpoint;
        EXPECT_FALSE(s->messages().pop(50ms).has_value());
    }
}

// A CA made again under the same name with a new key: OpenSSL finds the issuer by name and
// the signature fails. The reason says so, not the ASN.1 error OpenSSL queues first.
TEST_F(TlsTest, ACaReissuedUnderTheSameNameIsRefusedForItsSignature) {
    testing::TempDir reissuedDir;
    testing::TestPki reissued(reissuedDir.path(), {"localhost", "127.0.0.1"});
    auto s = server(false, &reissued);
    for (const std::string& endpoint : {s->endpoint(), s->httpEndpoint()}) {
        auto t = transport(endpoint, trusting(pki_.caCert));
        t->connect();
        if (endpoint.rfind("https", 0) == 0) {
            ASSERT_TRUE(connected_.pop());
            pb::AgentToServer m;
            t->send(m.SerializeAsString());
        }
        auto d = lost_.pop();
        ASSERT_TRUE(d) << endpoint;
        EXPECT_THAT(d->reason,
                    HasSubstr("certificate verify failed: certificate signature failure"))
            << endpoint;
        EXPECT_THAT(d->reason, ::testing::Not(HasSubstr("asn1"))) << endpoint;
        EXPECT_FALSE(s->messages().pop(50ms).has_value());
    }
}

TEST_F(TlsTest, CertificateForAnotherHostIsRefused) {
    testing::TempDir otherDir;
    testing::TestPki wrongName(otherDir.path(), {"opamp.example.com"});
    auto s = server(false, &wrongName);
    auto t = transport(s->endpoint(), trusting(wrongName.caCert));
    t->connect();
    auto d = lost_.pop();
    ASSERT_TRUE(d);
    EXPECT_THAT(d->reason, HasSubstr("certificate verify failed: IP address mismatch"));
    EXPECT_FALSE(connected_.pop(50ms).has_value());
    EXPECT_FALSE(s->messages().pop(50ms).has_value());

    // server_name_override names what the certificate must say.
    config::TlsClientSettings overridden = trusting(wrongName.caCert);
    overridden.serverNameOverride = "opamp.example.com";
    auto o = transport(s->endpoint(), overridden);
    o->connect();
    ASSERT_TRUE(connected_.pop());
    exchange(*o, *s);
}

// The reason text is the certificate's only for the handshake it refused: not for a
// connection with verification off (OpenSSL still objects, but the handshake goes on), nor
// for a later failure of another kind.
TEST_F(TlsTest, ACertificateRejectionIsReportedOnlyForTheHandshakeItEnded) {
    auto s = server();
    Transport::Settings settings;
    settings.endpoint = s->httpEndpoint();
    settings.userAgent = "tls-test";
    settings.connectTimeout = 5s;
    auto post = [&] {
        auto session = makeHttpSession(settings);
        Poco::Net::HTTPRequest request = makeRequest(settings, Poco::Net::HTTPRequest::HTTP_POST);
        request.setContentLength(0);
        session->sendRequest(request);
        Poco::Net::HTTPResponse response;
        session->receiveResponse(response);
    };

    settings.tls = trusting(pki_.otherCaCert);
    settings.tls->insecureSkipVerify = true;
    ASSERT_NO_THROW(post());
    EXPECT_EQ(takeCertificateRejection(), "") << "recorded with verification off";

    settings.tls->insecureSkipVerify = false;
    try {
        post();
        FAIL() << "an untrusted server was accepted";
    } catch (const Poco::Exception& e) {
        EXPECT_THAT(connectionFailureText(e), HasSubstr("certificate verify failed: "));
    }
    try {
        post();
        FAIL() << "an untrusted server was accepted";
    } catch (const Poco::Exception&) {
        EXPECT_EQ(connectionFailureText(Poco::TimeoutException("read")), "Timeout: read");
    }
}

TEST_F(TlsTest, InsecureSkipVerifyAcceptsAnyCertificate) {
    auto s = server();
    config::TlsClientSettings tls = trusting(pki_.otherCaCert);
    tls.insecureSkipVerify = true;
    auto t = transport(s->endpoint(), tls);
    t->connect();
    ASSERT_TRUE(connected_.pop());
    exchange(*t, *s);
}

TEST_F(TlsTest, MutualTlsWithAClientCertificate) {
    auto s = server(true);
    {
        auto t = transport(s->endpoint(), trusting(pki_.caCert));  // no client certificate
        t->connect();
        EXPECT_TRUE(lost_.pop().has_value());
        EXPECT_FALSE(connected_.pop(50ms).has_value());
    }
    config::TlsClientSettings fromFiles = trusting(pki_.caCert);
    fromFiles.certFile = pki_.clientCert.string();
    fromFiles.keyFile = pki_.clientKey.string();
    auto t = transport(s->endpoint(), fromFiles);
    t->connect();
    ASSERT_TRUE(connected_.pop());
    exchange(*t, *s);
    t->close();

    config::TlsClientSettings fromPem = trusting(pki_.caCert);
    fromPem.certPem = testing::readText(pki_.clientCert);
    fromPem.keyPem = testing::readText(pki_.clientKey);
    auto p = transport(s->endpoint(), fromPem);
    p->connect();
    ASSERT_TRUE(connected_.pop());
    exchange(*p, *s);
}

TEST_F(TlsTest, UnusableSettingsArePermanentFailuresWithAReason) {
    config::TlsClientSettings tls;
    tls.caPem = "not a certificate";
    auto t = transport("wss://127.0.0.1:1/v1/opamp", tls);
    t->connect();
    auto d = lost_.pop();
    ASSERT_TRUE(d);
    EXPECT_THAT(d->reason, HasSubstr("server.tls.ca_pem holds no PEM certificate"));
    EXPECT_TRUE(d->permanent);
}

}  // namespace
}  // namespace opampsup::opamp
