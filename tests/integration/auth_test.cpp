// server.auth's authenticators: the headers they make, token files read at each use, and
// OAuth2 against a real token endpoint on loopback (renewal before expiry, after a refusal,
// credentials in the form when the Basic header is refused, clear errors).

#include <fstream>

#include <Poco/Net/ServerSocket.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/auth/Authenticators.h"
#include "core/opamp/HttpSession.h"
#include "support/TempDir.h"
#include "support/TestTokenServer.h"

namespace opampsup::auth {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::string authorization(opamp::Authenticator& auth) {
    config::Headers headers = auth.headers();
    auto it = headers.find("Authorization");
    return it == headers.end() || it->second.empty() ? "" : it->second.front();
}

std::string failure(opamp::Authenticator& auth) {
    try {
        auth.headers();
    } catch (const opamp::AuthError& e) {
        return e.what();
    }
    return "(no error)";
}

telemetry::Logger quietLogger() {
    telemetry::LoggerOptions options;
    options.level = telemetry::LogLevel::Error;
    return telemetry::Logger::create(options);
}

TEST(BearerTokenAuth, SendsTheTokenOrTheFilesCurrentContent) {
    config::BearerTokenAuth settings;
    settings.token = "t0k3n";
    auto fixed = makeAuthenticator({"bearertokenauth", settings}, quietLogger());
    EXPECT_EQ(authorization(*fixed), "Bearer t0k3n");

    settings.scheme = "";
    settings.header = "X-Api-Key";
    auto bare = makeAuthenticator({"bearertokenauth", settings}, quietLogger());
    EXPECT_EQ(bare->headers(), (config::Headers{{"X-Api-Key", {"t0k3n"}}}));

    testing::TempDir dir;
    auto file = dir.write("token", "first\n");
    config::BearerTokenAuth fromFile;
    fromFile.filename = file.string();
    auto rotating = makeAuthenticator({"bearertokenauth/file", fromFile}, quietLogger());
    EXPECT_EQ(authorization(*rotating), "Bearer first");
    std::ofstream(file, std::ios::trunc) << "second";
    EXPECT_EQ(authorization(*rotating), "Bearer second");
    // The first line, trimmed: the rest of a file is not part of the token.
    std::ofstream(file, std::ios::trunc) << "  third \nnot this\n";
    EXPECT_EQ(authorization(*rotating), "Bearer third");
    EXPECT_TRUE(rotating->rejected()) << "a file may hold a new token";
    EXPECT_FALSE(fixed->rejected()) << "a token in the config will be refused again";
    std::filesystem::remove(file);
    EXPECT_EQ(failure(*rotating), "cannot read the bearer token file " + file.string());
}

// A header value with a line break would end the header and start another one.
TEST(BearerTokenAuth, ALineBreakNeverReachesTheRequest) {
    config::BearerTokenAuth settings;
    settings.token = "t0k3n\r\nX-Injected: yes";
    opamp::Transport::Settings transport;
    transport.endpoint = "ws://127.0.0.1:4320/v1/opamp";
    transport.auth = makeAuthenticator({"bearertokenauth", settings}, quietLogger());
    EXPECT_THROW(opamp::makeRequest(transport, "GET"), opamp::AuthError);
}

TEST(BasicAuth, SendsTheCredentialsInBase64) {
    auto basic =
        makeAuthenticator({"basicauth", config::BasicAuth{"user", "pass:word"}}, quietLogger());
    EXPECT_EQ(authorization(*basic), "Basic dXNlcjpwYXNzOndvcmQ=");
    auto nop = makeAuthenticator({"nop", config::NopAuth{}}, quietLogger());
    EXPECT_TRUE(nop->headers().empty());
}

class OAuth2 : public ::testing::Test {
  protected:
    config::OAuth2ClientAuth settings(const testing::TestTokenServer& server) const {
        config::OAuth2ClientAuth s;
        s.clientId = "supervisor";
        s.clientSecret = "s3cret";
        s.tokenUrl = server.url();
        s.scopes = {"opamp.read", "opamp.write"};
        s.endpointParams = {{"audience", "opamp server"}};
        s.expiryBuffer = 60s;
        return s;
    }

    std::shared_ptr<opamp::Authenticator> make(const config::OAuth2ClientAuth& s) {
        return makeOAuth2Authenticator(s, quietLogger(), [this] { return now_; });
    }

    Clock::time_point now_ = Clock::now();
};

TEST_F(OAuth2, KeepsTheTokenUntilShortlyBeforeItExpires) {
    testing::TestTokenServer server({.expiresIn = "600"});
    auto auth = make(settings(server));
    EXPECT_EQ(authorization(*auth), "Bearer tok-1");
    EXPECT_EQ(server.forms().front(),
              "grant_type=client_credentials&scope=opamp.read%20opamp.write&audience=opamp%"
              "20server");
    now_ += 539s;
    EXPECT_EQ(authorization(*auth), "Bearer tok-1");
    EXPECT_EQ(server.grants(), 1);
    now_ += 1s;  // 600 s less the 60 s buffer
    EXPECT_EQ(authorization(*auth), "Bearer tok-2");
}

TEST_F(OAuth2, ATokenTheServerRefusedIsNotUsedAgain) {
    testing::TestTokenServer server({.expiresIn = ""});  // no expiry given: until refused
    auto auth = make(settings(server));
    EXPECT_EQ(authorization(*auth), "Bearer tok-1");
    now_ += 24h;
    EXPECT_EQ(authorization(*auth), "Bearer tok-1");
    auth->rejected();
    EXPECT_EQ(authorization(*auth), "Bearer tok-2");
}

TEST_F(OAuth2, CredentialsGoInTheFormWhenTheBasicHeaderIsRefused) {
    testing::TestTokenServer server({.acceptBasic = false});
    auto auth = make(settings(server));
    EXPECT_EQ(authorization(*auth), "Bearer tok-1");
    ASSERT_EQ(server.forms().size(), 2U);
    EXPECT_THAT(server.forms().back(), HasSubstr("&client_id=supervisor&client_secret=s3cret"));
    // The way that worked is used first from then on.
    auth->rejected();
    EXPECT_EQ(authorization(*auth), "Bearer tok-2");
    EXPECT_EQ(server.forms().size(), 3U);
}

// RFC 6749 2.3.1: each part is form-encoded before it goes into the Basic header, so a
// colon or a plus in a secret survives.
TEST_F(OAuth2, CredentialsWithReservedCharactersSurviveTheBasicHeader) {
    const std::string id = "svc:one+two";
    const std::string secret = "p&ss=w%rd +:/";
    testing::TestTokenServer server({.clientId = id, .clientSecret = secret, .acceptForm = false});
    config::OAuth2ClientAuth s = settings(server);
    s.clientId = id;
    s.clientSecret = secret;
    auto auth = make(s);
    EXPECT_EQ(authorization(*auth), "Bearer tok-1");
    EXPECT_EQ(server.forms().size(), 1U);
    testing::TestTokenServer formOnly(
        {.clientId = id, .clientSecret = secret, .acceptBasic = false});
    s.tokenUrl = formOnly.url();
    EXPECT_EQ(authorization(*make(s)), "Bearer tok-1");
}

// expires_in as servers send it: a number, a string of digits, null or 0 (no lifetime);
// anything else is an error naming it. A lifetime shorter than the buffer renews at half.
TEST_F(OAuth2, ReadsExpiresInAsServersSendIt) {
    for (const char* noLifetime : {"null", "0"}) {
        testing::TestTokenServer server({.expiresIn = noLifetime});
        auto auth = make(settings(server));
        EXPECT_EQ(authorization(*auth), "Bearer tok-1");
        now_ += 24h;
        EXPECT_EQ(authorization(*auth), "Bearer tok-1") << noLifetime;
    }
    {
        testing::TestTokenServer server({.expiresIn = "\"100\""});  // shorter than 60 s * 2
        auto auth = make(settings(server));
        EXPECT_EQ(authorization(*auth), "Bearer tok-1");
        now_ += 49s;
        EXPECT_EQ(authorization(*auth), "Bearer tok-1");
        now_ += 1s;
        EXPECT_EQ(authorization(*auth), "Bearer tok-2");
    }
    {
        testing::TestTokenServer server({.expiresIn = "99999999999999"});  // capped, no overflow
        auto auth = make(settings(server));
        EXPECT_EQ(authorization(*auth), "Bearer tok-1");
        now_ += 24h * 365;
        EXPECT_EQ(authorization(*auth), "Bearer tok-1");
    }
    testing::TestTokenServer bad({.expiresIn = "\"3600abc\""});
    EXPECT_EQ(failure(*make(settings(bad))),
              "the token server " + bad.url() +
                  " answered with expires_in \"3600abc\" is not a number of seconds");
}

TEST_F(OAuth2, SecretsComeFromFilesReadAtEachFetch) {
    testing::TestTokenServer server;
    testing::TempDir dir;
    config::OAuth2ClientAuth s = settings(server);
    s.clientSecret.clear();
    s.clientSecretFile = dir.write("secret", "s3cret\n").string();
    auto auth = make(s);
    EXPECT_EQ(authorization(*auth), "Bearer tok-1");
    std::ofstream(s.clientSecretFile, std::ios::trunc) << "rotated";
    auth->rejected();
    EXPECT_EQ(failure(*auth), "the token server " + server.url() +
                                  " answered HTTP 401: invalid_client (unknown client)");
}

TEST_F(OAuth2, ATokenServerThatIsDownIsNamed) {
    std::uint16_t closedPort = 0;
    {
        Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
        closedPort = probe.address().port();
    }
    config::OAuth2ClientAuth s;
    s.clientId = "a";
    s.clientSecret = "b";
    s.tokenUrl = "http://127.0.0.1:" + std::to_string(closedPort) + "/token";
    auto auth = make(s);
    EXPECT_THAT(failure(*auth), HasSubstr("cannot reach the token server " + s.tokenUrl + ": "));
}

}  // namespace
}  // namespace opampsup::auth
