// The dev server's own behaviour: how it answers agents, its admin API, files, faults,
// mTLS and CSR signing. Agents here are raw transports, so each test controls exactly what
// is sent.

#include <atomic>
#include <filesystem>
#include <map>
#include <thread>
#include <utility>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NameValueCollection.h>
#include <Poco/SHA2Engine.h>
#include <Poco/StreamCopier.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "CsrSigner.h"
#include "core/opamp/CertificateRequest.h"
#include "core/opamp/OpenSslHandles.h"
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
    bool send(const pb::AgentToServer& message) {
        return transport_->send(message.SerializeAsString());
    }
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

TEST_P(DevServerTest, OffersPackagesWhoseFilesItServes) {
    RawAgent agent(server_.endpoint(GetParam()));
    ASSERT_TRUE(agent.waitConnected());
    ASSERT_TRUE(agent.exchange(message(1, true)));
    auto file = server_.putFile("otelcol.tar.gz", "payload");
    pb::PackagesAvailable offer;
    offer.set_all_packages_hash("all");
    auto& package = (*offer.mutable_packages())["otelcol"];
    package.set_version("1.2.3");
    package.mutable_file()->set_download_url(file.url);
    server_.offerPackages(kUid.toString(), offer);

    std::optional<pb::ServerToAgent> got;
    if (GetParam() == "http") {
        got = agent.exchange(message(2, false));
    } else {
        got = agent.received().pop();
    }
    ASSERT_TRUE(got);
    ASSERT_TRUE(got->has_packages_available());
    EXPECT_EQ(got->packages_available().all_packages_hash(), "all");
    EXPECT_EQ(got->packages_available().packages().at("otelcol").file().download_url(), file.url);
    EXPECT_THAT(file.url, HasSubstr("/files/otelcol.tar.gz"));
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

// Files: what a downloader sees.

// One GET of a served file on its own connection, read until the server ends the body.
struct Fetched {
    int status = 0;
    Poco::Net::NameValueCollection headers;
    std::string body;

    std::string header(const std::string& name) const { return headers.get(name, ""); }
};

Fetched fetch(testing::DevServerFixture& server, const std::string& path,
              const std::map<std::string, std::string>& headers = {}) {
    Poco::Net::HTTPClientSession session("127.0.0.1", server.server().port());
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [name, value] : headers) {
        request.set(name, value);
    }
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Fetched fetched;
    fetched.status = static_cast<int>(response.getStatus());
    fetched.headers = response;
    try {
        Poco::StreamCopier::copyToString(in, fetched.body);
    } catch (const Poco::Exception&) {
        // A cut connection: keep what arrived.
    }
    return fetched;
}

Fetched fetchRange(testing::DevServerFixture& server, const std::string& path,
                   const std::string& range) {
    return fetch(server, path, {{"Range", range}});
}

// Bytes that differ from position to position, so a wrong offset shows.
std::string patterned(std::size_t size) {
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        bytes[i] = static_cast<char>('a' + (i * 7 + i / 26) % 26);
    }
    return bytes;
}

TEST(DevServerFiles, ServesTheWholeFileWithItsETagAndRangeSupport) {
    testing::DevServerFixture server;
    auto file = server.putFile("otelcol.tar.gz", "0123456789");
    auto got = fetch(server, "/files/otelcol.tar.gz");
    EXPECT_EQ(got.status, 200);
    EXPECT_EQ(got.body, "0123456789");
    EXPECT_EQ(got.header("Content-Length"), "10");
    EXPECT_EQ(got.header("ETag"), "\"" + file.sha256 + "\"");
    EXPECT_EQ(got.header("Accept-Ranges"), "bytes");
    // A download URL may carry a query; the path names the file.
    EXPECT_EQ(fetch(server, "/files/otelcol.tar.gz?attempt=2").body, "0123456789");
    EXPECT_EQ(fetch(server, "/files/missing.tar.gz").status, 404);
}

TEST(DevServerFiles, AnswersASingleRangeWithPartialContent) {
    testing::DevServerFixture server;
    auto file = server.putFile("f", "0123456789");

    auto tail = fetchRange(server, "/files/f", "bytes=4-");
    EXPECT_EQ(tail.status, 206);
    EXPECT_EQ(tail.header("Content-Range"), "bytes 4-9/10");
    EXPECT_EQ(tail.header("Content-Length"), "6");
    EXPECT_EQ(tail.header("ETag"), "\"" + file.sha256 + "\"");
    EXPECT_EQ(tail.header("Accept-Ranges"), "bytes");
    EXPECT_EQ(tail.body, "456789");

    auto middle = fetchRange(server, "/files/f", "bytes=2-5");
    EXPECT_EQ(middle.status, 206);
    EXPECT_EQ(middle.header("Content-Range"), "bytes 2-5/10");
    EXPECT_EQ(middle.header("Content-Length"), "4");
    EXPECT_EQ(middle.body, "2345");

    // An end past the file stops at its last byte; a suffix range is the last bytes.
    auto clamped = fetchRange(server, "/files/f", "bytes=8-100");
    EXPECT_EQ(clamped.header("Content-Range"), "bytes 8-9/10");
    EXPECT_EQ(clamped.body, "89");
    auto suffix = fetchRange(server, "/files/f", "bytes=-3");
    EXPECT_EQ(suffix.header("Content-Range"), "bytes 7-9/10");
    EXPECT_EQ(suffix.body, "789");
}

TEST(DevServerFiles, RefusesARangeStartingAtOrPastTheEnd) {
    testing::DevServerFixture server;
    server.putFile("f", "0123456789");
    for (const char* range : {"bytes=10-", "bytes=25-30"}) {
        auto got = fetchRange(server, "/files/f", range);
        EXPECT_EQ(got.status, 416) << range;
        EXPECT_EQ(got.header("Content-Range"), "bytes */10") << range;
    }
}

TEST(DevServerFiles, SendsTheWholeFileForRangesItDoesNotHonour) {
    testing::DevServerFixture server;
    server.putFile("f", "0123456789");
    for (const char* range : {"bytes=5-2", "bytes=x-", "bytes=0-1,4-5", "items=0-1", "bytes=3"}) {
        auto got = fetchRange(server, "/files/f", range);
        EXPECT_EQ(got.status, 200) << range;
        EXPECT_EQ(got.header("Content-Range"), "") << range;
        EXPECT_EQ(got.body, "0123456789") << range;
    }
}

TEST(DevServerFiles, HonoursIfRangeOnlyWhileTheFileIsUnchanged) {
    testing::DevServerFixture server;
    auto file = server.putFile("f", "0123456789");
    std::string etag = "\"" + file.sha256 + "\"";
    auto resumed = fetch(server, "/files/f", {{"Range", "bytes=6-"}, {"If-Range", etag}});
    EXPECT_EQ(resumed.status, 206);
    EXPECT_EQ(resumed.body, "6789");

    server.putFile("f", "abcdefghij");
    auto restarted = fetch(server, "/files/f", {{"Range", "bytes=6-"}, {"If-Range", etag}});
    EXPECT_EQ(restarted.status, 200);
    EXPECT_EQ(restarted.body, "abcdefghij");
}

TEST(DevServerFiles, CutDownloadsEndShortOfTheirContentLengthForTheArmedCount) {
    testing::DevServerFixture server;
    std::string content = patterned(4096);
    server.putFile("f", content);
    server.cutDownloads(1000, 2);

    auto whole = fetch(server, "/files/f");
    EXPECT_EQ(whole.status, 200);
    EXPECT_EQ(whole.header("Content-Length"), "4096");
    EXPECT_EQ(whole.body, content.substr(0, 1000));
    // The Content-Length is that of the range asked for.
    auto part = fetchRange(server, "/files/f", "bytes=1000-");
    EXPECT_EQ(part.status, 206);
    EXPECT_EQ(part.header("Content-Length"), "3096");
    EXPECT_EQ(part.body, content.substr(1000, 1000));
    // Count 2: the third download is whole again.
    EXPECT_EQ(fetch(server, "/files/f").body, content);
}

TEST(DevServerFiles, FailedDownloadsGetTheStatusForTheArmedCount) {
    testing::DevServerFixture server;
    server.putFile("f", "0123456789");
    server.failDownloads(503, 2);
    for (int i = 0; i < 2; ++i) {
        auto got = fetch(server, "/files/f");
        EXPECT_EQ(got.status, 503);
        EXPECT_THAT(got.body, HasSubstr("injected"));
    }
    auto after = fetch(server, "/files/f");
    EXPECT_EQ(after.status, 200);
    EXPECT_EQ(after.body, "0123456789");
}

// The most a body paced at `bytesPerSecond` in 4 KiB chunks can have sent `elapsed` after
// it started: a chunk at once, then one more each time a pause has passed.
std::size_t pacedBytesBy(std::chrono::steady_clock::duration elapsed, std::size_t bytesPerSecond) {
    auto pause = std::chrono::microseconds(4096ULL * 1000000 / bytesPerSecond);
    return 4096 * static_cast<std::size_t>(elapsed / pause + 1);
}

TEST(DevServerFiles, ThrottledDownloadsArePacedUntilTheThrottleIsLifted) {
    testing::DevServerFixture server;
    std::string content = patterned(64 * 1024);
    server.putFile("f", content);
    server.throttleDownloads(32 * 1024);  // two seconds for the whole file

    auto start = std::chrono::steady_clock::now();
    Poco::Net::HTTPClientSession session("127.0.0.1", server.server().port());
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest request("GET", "/files/f", Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    EXPECT_EQ(response.getContentLength64(), static_cast<Poco::Int64>(content.size()));
    std::atomic<std::size_t> received{0};
    std::string body;
    std::thread reader([&] {
        char buffer[1024];
        while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
            body.append(buffer, static_cast<std::size_t>(in.gcount()));
            received += static_cast<std::size_t>(in.gcount());
        }
    });
    std::this_thread::sleep_for(500ms);
    std::size_t early = received;
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_GT(early, 0U);
    EXPECT_LE(early, pacedBytesBy(elapsed, 32 * 1024));
    EXPECT_LT(early, content.size());

    server.throttleDownloads(0);  // the rest at full speed
    reader.join();
    EXPECT_EQ(body, content);
}

TEST(DevServerFiles, AClientThatGoesAwayEndsAThrottledDownload) {
    testing::DevServerFixture server;
    server.putFile("f", patterned(64 * 1024));
    server.throttleDownloads(8 * 1024);  // eight seconds for the whole file
    {
        Poco::Net::HTTPClientSession session("127.0.0.1", server.server().port());
        Poco::Net::HTTPRequest request("GET", "/files/f", Poco::Net::HTTPMessage::HTTP_1_1);
        session.sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::istream& in = session.receiveResponse(response);
        char buffer[100];
        ASSERT_TRUE(in.read(buffer, sizeof buffer));
        EXPECT_EQ(server.server().downloadsInProgress(), 1);
    }  // the client goes away mid-download
    auto deadline = std::chrono::steady_clock::now() + 3s;
    while (server.server().downloadsInProgress() > 0 &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(server.server().downloadsInProgress(), 0);
}

TEST(DevServerFiles, RecordsEachRequestsRangeAndTheLatestHeaders) {
    testing::DevServerFixture server;
    server.putFile("f", patterned(1000));
    EXPECT_EQ(server.fileRequestCount("f"), 0);
    fetch(server, "/files/f");
    fetchRange(server, "/files/f", "bytes=100-");
    fetch(server, "/files/f", {{"Range", "bytes=0-9"}, {"X-Download-Attempt", "3"}});

    EXPECT_EQ(server.fileRequestCount("f"), 3);
    EXPECT_EQ(server.fileRequestRanges("f"),
              (std::vector<std::string>{"", "bytes=100-", "bytes=0-9"}));
    auto headers = server.lastFileRequestHeaders("f");
    EXPECT_EQ(headers["X-Download-Attempt"], "3");
    EXPECT_EQ(headers["Range"], "bytes=0-9");
    EXPECT_EQ(headers.count("Host"), 1U);

    // Requests for a file the server does not have are recorded too.
    EXPECT_EQ(fetch(server, "/files/absent").status, 404);
    EXPECT_EQ(server.fileRequestCount("absent"), 1);
}

TEST(DevServerAdminApi, DescribesValidatesAndClearsDownloadFaults) {
    testing::DevServerFixture server;
    server.cutDownloads(10, 2);
    server.failDownloads(500, 3);
    server.throttleDownloads(4096);
    auto faults = server.request("GET", "/api/faults").json;
    ASSERT_TRUE(faults);
    EXPECT_EQ(faults->getValue<int>("download_cuts_left"), 2);
    EXPECT_EQ(faults->getValue<int>("cut_after_bytes"), 10);
    EXPECT_EQ(faults->getValue<int>("download_failures_left"), 3);
    EXPECT_EQ(faults->getValue<int>("download_failure_status"), 500);
    EXPECT_EQ(faults->getValue<int>("throttle_bytes_per_second"), 4096);

    server.clearFaults();
    faults = server.request("GET", "/api/faults").json;
    ASSERT_TRUE(faults);
    EXPECT_EQ(faults->getValue<int>("download_cuts_left"), 0);
    EXPECT_EQ(faults->getValue<int>("download_failures_left"), 0);
    EXPECT_EQ(faults->getValue<int>("throttle_bytes_per_second"), 0);

    for (const char* bad :
         {R"({"cut_downloads":{"count":1}})", R"({"cut_downloads":{"after_bytes":-1}})",
          R"({"cut_downloads":5})", R"({"fail_downloads":{"status":200}})",
          R"({"throttle_downloads":{}})"}) {
        auto reply = server.request("POST", "/api/faults", bad);
        EXPECT_EQ(reply.status, 400) << bad;
        EXPECT_THAT(reply.body, HasSubstr("_downloads")) << bad;
    }
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

// The agent-initiated CSR flow.

const std::string kOtherUid = "018fe0c4-0000-7000-8000-000000000001";

pb::AgentToServer withCsr(pb::AgentToServer m, const std::string& csrPem) {
    m.mutable_connection_settings_request()
        ->mutable_opamp()
        ->mutable_certificate_request()
        ->set_csr(csrPem);
    return m;
}

std::string sha256(const std::string& bytes) {
    Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
    sha.update(bytes.data(), static_cast<unsigned>(bytes.size()));
    const auto& digest = sha.digest();
    return std::string(digest.begin(), digest.end());
}

using opamp::ossl::Cert;
using opamp::ossl::Deleter;

Cert parseCert(const std::string& pem) {
    opamp::ossl::Bio bio = opamp::ossl::memoryBio(pem);
    return Cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

// Whether `certPem` verifies as a TLS client certificate issued by `caPem`.
bool verifiesAsClient(const std::string& certPem, const std::string& caPem) {
    Cert cert = parseCert(certPem);
    Cert ca = parseCert(caPem);
    if (!cert || !ca) {
        return false;
    }
    std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>> store(X509_STORE_new());
    std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>> context(X509_STORE_CTX_new());
    X509_STORE_add_cert(store.get(), ca.get());
    X509_STORE_CTX_init(context.get(), store.get(), cert.get(), nullptr);
    X509_STORE_CTX_set_purpose(context.get(), X509_PURPOSE_SSL_CLIENT);
    return X509_verify_cert(context.get()) == 1;
}

devserver::DevServer::Options withCsrCa(const testing::TestPki& pki) {
    devserver::DevServer::Options options;
    options.csrCaCertFile = pki.caCert.string();
    options.csrCaKeyFile = pki.caKey.string();
    return options;
}

class DevServerCsrTest : public ::testing::TestWithParam<std::string> {
  protected:
    DevServerCsrTest() : pki_(dir_.path(), {}), server_(withCsrCa(pki_)) {}

    testing::TempDir dir_;
    testing::TestPki pki_;
    testing::DevServerFixture server_;
};

TEST_P(DevServerCsrTest, SignsTheAgentsOwnCsrIntoAConnectionSettingsOffer) {
    RawAgent agent(server_.endpoint(GetParam()));
    ASSERT_TRUE(agent.waitConnected());
    auto csr = opamp::makeCertificateRequest(opamp::KeyType::EcP256, kUid.toString(), {"Example"},
                                             {"agent.example.com"});
    auto before = std::chrono::system_clock::now();
    auto answer = agent.exchange(withCsr(message(1, true), csr.csrPem));
    ASSERT_TRUE(answer);
    ASSERT_FALSE(answer->has_error_response()) << answer->error_response().error_message();
    EXPECT_EQ(answer->capabilities(), AgentRegistry::kServerCapabilities |
                                          pb::ServerCapabilities_AcceptsConnectionSettingsRequest);

    const auto& offer = answer->connection_settings();
    const auto& certificate = offer.opamp().certificate();
    EXPECT_TRUE(certificate.private_key().empty());  // the agent kept it
    EXPECT_EQ(certificate.ca_cert(), testing::readText(pki_.caCert));
    EXPECT_EQ(offer.hash(), sha256(certificate.cert()));
    EXPECT_TRUE(verifiesAsClient(certificate.cert(), certificate.ca_cert()));
    EXPECT_TRUE(opamp::certificateMatchesKey(certificate.cert(), csr.privateKeyPem));
    EXPECT_EQ(opamp::certificateCommonName(certificate.cert()), kUid.toString());
    Cert cert = parseCert(certificate.cert());
    ASSERT_TRUE(cert);
    EXPECT_EQ(X509_check_host(cert.get(), "agent.example.com", 0, 0, nullptr), 1);
    EXPECT_EQ(X509_check_ca(cert.get()), 0);
    auto notAfter = opamp::certificateNotAfter(certificate.cert());
    ASSERT_TRUE(notAfter);
    // OpenSSL stamps the time from time(), whole seconds from a coarse clock that can lag
    // system_clock by a tick: allow the whole second before `before`.
    EXPECT_GE(*notAfter,
              std::chrono::floor<std::chrono::seconds>(before) + std::chrono::hours(24 * 30) - 1s);
    EXPECT_LE(*notAfter, std::chrono::system_clock::now() + std::chrono::hours(24 * 30) + 1s);

    // Recorded like any answer.
    auto recorded = server_.serverMessages(kUid.toString());
    ASSERT_EQ(recorded.size(), 1U);
    EXPECT_EQ(recorded[0].connection_settings().opamp().certificate().cert(), certificate.cert());
}

TEST_P(DevServerCsrTest, RefusesACsrNamingAnotherAgentOrNone) {
    RawAgent agent(server_.endpoint(GetParam()));
    ASSERT_TRUE(agent.waitConnected());
    auto csr = opamp::makeCertificateRequest(opamp::KeyType::EcP256, kOtherUid, {}, {});
    auto answer = agent.exchange(withCsr(message(1, true), csr.csrPem));
    ASSERT_TRUE(answer);
    ASSERT_TRUE(answer->has_error_response());
    EXPECT_EQ(answer->error_response().type(), pb::ServerErrorResponseType_BadRequest);
    EXPECT_THAT(
        answer->error_response().error_message(),
        HasSubstr("\"" + kOtherUid + "\" is not the sender's instance UID " + kUid.toString()));
    // An error response comes alone; what else was due (the capabilities) comes next.
    EXPECT_FALSE(answer->has_connection_settings());
    EXPECT_EQ(answer->capabilities(), 0U);
    auto next = agent.exchange(message(2, false));
    ASSERT_TRUE(next);
    EXPECT_FALSE(next->has_error_response());
    EXPECT_NE(next->capabilities() & pb::ServerCapabilities_AcceptsConnectionSettingsRequest, 0U);

    answer = agent.exchange(withCsr(message(3, false), "-----BEGIN CERTIFICATE REQUEST-----\n"));
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->error_response().type(), pb::ServerErrorResponseType_BadRequest);
    EXPECT_THAT(answer->error_response().error_message(),
                HasSubstr("not a PEM certificate request"));
    EXPECT_EQ(server_.serverMessages(kUid.toString()).size(), 3U);
}

INSTANTIATE_TEST_SUITE_P(Transports, DevServerCsrTest, ::testing::Values("ws", "http"),
                         [](const auto& p) { return p.param; });

class DevServerWithoutCsrCaTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DevServerWithoutCsrCaTest, RefusesCsrsAndDoesNotClaimToAcceptThem) {
    testing::DevServerFixture server;
    RawAgent agent(server.endpoint(GetParam()));
    ASSERT_TRUE(agent.waitConnected());
    auto csr = opamp::makeCertificateRequest(opamp::KeyType::EcP256, kUid.toString(), {}, {});
    auto answer = agent.exchange(withCsr(message(1, true), csr.csrPem));
    ASSERT_TRUE(answer);
    ASSERT_TRUE(answer->has_error_response());
    EXPECT_EQ(answer->error_response().type(), pb::ServerErrorResponseType_BadRequest);
    EXPECT_THAT(answer->error_response().error_message(), HasSubstr("signs no CSRs"));
    auto next = agent.exchange(message(2, false));
    ASSERT_TRUE(next);
    EXPECT_EQ(next->capabilities(), AgentRegistry::kServerCapabilities);
    EXPECT_EQ(AgentRegistry::kServerCapabilities &
                  pb::ServerCapabilities_AcceptsConnectionSettingsRequest,
              0U);
}

INSTANTIATE_TEST_SUITE_P(Transports, DevServerWithoutCsrCaTest, ::testing::Values("ws", "http"),
                         [](const auto& p) { return p.param; });

TEST(DevServerCsr, NeedsTheCaCertificateAndItsOwnKey) {
    testing::TempDir dir;
    testing::TestPki pki(dir.path(), {});
    auto options = withCsrCa(pki);
    options.port = 0;
    options.adminPort = 0;
    options.csrCaKeyFile.clear();
    EXPECT_THROW(DevServer(options).start(), std::invalid_argument);
    options.csrCaKeyFile = pki.clientKey.string();
    try {
        DevServer(options).start();
        FAIL() << "started with another key";
    } catch (const std::runtime_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("is not the key of"));
    }
}

// A self-signed RSA CA written to `dir`: its certificate and key files.
std::pair<std::string, std::string> writeRsaCa(const std::filesystem::path& dir) {
    opamp::ossl::Key key(EVP_RSA_gen(2048));
    Cert ca(X509_new());
    X509_set_version(ca.get(), X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(ca.get()), 7);
    X509_gmtime_adj(X509_getm_notBefore(ca.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(ca.get()), 3600);
    X509_NAME* name = X509_get_subject_name(ca.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("RSA test CA"), -1, -1, 0);
    X509_set_issuer_name(ca.get(), name);
    X509_set_pubkey(ca.get(), key.get());
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, ca.get(), ca.get(), nullptr, nullptr, 0);
    X509_EXTENSION* constraints =
        X509V3_EXT_conf_nid(nullptr, &context, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(ca.get(), constraints, -1);
    X509_EXTENSION_free(constraints);
    X509_sign(ca.get(), key.get(), EVP_sha256());
    std::string certFile = (dir / "rsa-ca.pem").string();
    std::string keyFile = (dir / "rsa-ca-key.pem").string();
    opamp::ossl::Bio certOut(BIO_new_file(certFile.c_str(), "w"));
    PEM_write_bio_X509(certOut.get(), ca.get());
    opamp::ossl::Bio keyOut(BIO_new_file(keyFile.c_str(), "w"));
    PEM_write_bio_PrivateKey(keyOut.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    return {certFile, keyFile};
}

TEST(CsrSigner, SignsWithAnRsaCaAndGrantsNoMoreThanClientAuth) {
    testing::TempDir dir;
    auto [certFile, keyFile] = writeRsaCa(dir.path());
    CsrSigner signer(certFile, keyFile, std::chrono::hours(1));
    auto csr = opamp::makeCertificateRequest(opamp::KeyType::Ed25519, kUid.toString(), {}, {});
    std::string cert = signer.sign(csr.csrPem, kUid.toString());
    EXPECT_TRUE(verifiesAsClient(cert, signer.caCertPem()));
    EXPECT_TRUE(opamp::certificateMatchesKey(cert, csr.privateKeyPem));
    Cert parsed = parseCert(cert);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(X509_get_signature_nid(parsed.get()), NID_sha256WithRSAEncryption);
    EXPECT_EQ(X509_check_purpose(parsed.get(), X509_PURPOSE_SSL_SERVER, 0), 0);
    EXPECT_THROW(signer.sign(csr.csrPem, kOtherUid), std::invalid_argument);
}

// An agent gets its identity and host names, nothing more: an organization or other
// subject fields it asks for are not signed.
TEST(CsrSigner, SignsOnlyTheAgentsUidAndItsHostNames) {
    testing::TempDir dir;
    auto [certFile, keyFile] = writeRsaCa(dir.path());
    CsrSigner signer(certFile, keyFile, std::chrono::hours(1));
    auto csr = opamp::makeCertificateRequest(opamp::KeyType::EcP256, kUid.toString(),
                                             {"Some Other Org"}, {"agent.example.com"});
    Cert parsed = parseCert(signer.sign(csr.csrPem, kUid.toString()));
    ASSERT_TRUE(parsed);
    const X509_NAME* subject = X509_get_subject_name(parsed.get());
    EXPECT_EQ(X509_NAME_entry_count(subject), 1);
    EXPECT_EQ(X509_NAME_get_index_by_NID(subject, NID_organizationName, -1), -1);
    EXPECT_EQ(X509_check_host(parsed.get(), "agent.example.com", 0, 0, nullptr), 1);
}

// mTLS with a CSR CA: an agent connects without a certificate, asks for one, and connects
// with it; certificates from elsewhere are still refused.
class DevServerCsrTlsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DevServerCsrTlsTest, AnAgentWithoutACertificateGetsOneAndConnectsWithIt) {
    testing::TempDir dir;
    testing::TestPki pki(dir.path(), {"localhost", "127.0.0.1"});
    auto options = withCsrCa(pki);
    options.certFile = pki.serverCert.string();
    options.keyFile = pki.serverKey.string();
    options.clientCaFile = pki.caCert.string();
    testing::DevServerFixture server(options);

    config::TlsClientSettings tls;
    tls.caFile = pki.caCert.string();
    auto csr = opamp::makeCertificateRequest(opamp::KeyType::EcP256, kUid.toString(), {}, {});
    std::string cert;
    {
        RawAgent anonymous(server.endpoint(GetParam()), tls);
        ASSERT_TRUE(anonymous.waitConnected());
        auto answer = anonymous.exchange(withCsr(message(1, true), csr.csrPem));
        ASSERT_TRUE(answer);
        ASSERT_FALSE(answer->has_error_response()) << answer->error_response().error_message();
        cert = answer->connection_settings().opamp().certificate().cert();
        auto json = server.agent(kUid.toString());
        ASSERT_TRUE(json);
        EXPECT_EQ(json->getValue<std::string>("client_certificate"), "");
    }

    config::TlsClientSettings withIssued = tls;
    withIssued.certPem = cert;
    withIssued.keyPem = csr.privateKeyPem;
    RawAgent agent(server.endpoint(GetParam()), withIssued);
    ASSERT_TRUE(agent.waitConnected());
    ASSERT_TRUE(agent.exchange(message(2, false)));
    auto json = server.agent(kUid.toString());
    ASSERT_TRUE(json);
    EXPECT_EQ(json->getValue<std::string>("client_certificate"), kUid.toString());

    // A certificate the client CA did not issue does not get in.
    testing::TempDir otherDir;
    testing::TestPki other(otherDir.path(), {});
    config::TlsClientSettings stranger = tls;
    stranger.certFile = other.clientCert.string();
    stranger.keyFile = other.clientKey.string();
    RawAgent intruder(server.endpoint(GetParam()), stranger);
    if (GetParam() == "https") {
        intruder.send(message(3, false));  // HTTP connects with its first poll
    }
    EXPECT_TRUE(intruder.lost().pop()) << "a certificate from another CA got in";
}

INSTANTIATE_TEST_SUITE_P(Transports, DevServerCsrTlsTest, ::testing::Values("wss", "https"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace opampsup::devserver
