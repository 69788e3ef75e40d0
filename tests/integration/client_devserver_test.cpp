// The OpAMP client against the dev server, over ws, wss, http and https: the acceptance
// scenarios S9, S11, S17 and S18 for the client. Everything the server does is driven
// through its admin API, as a user would.

#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/config/ConfigLoader.h"
#include "core/opamp/Capabilities.h"
#include "core/opamp/Client.h"
#include "support/DevServerFixture.h"
#include "support/TempDir.h"
#include "support/TestPki.h"
#include "support/Waiter.h"

namespace opampsup::opamp {
namespace {

namespace pb = ::opamp::proto;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

const Uuid kUid = *Uuid::parse("018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f");
const std::string kUidText = kUid.toString();

bool isTls(const std::string& scheme) {
    return scheme == "wss" || scheme == "https";
}
bool isHttp(const std::string& scheme) {
    return scheme == "http" || scheme == "https";
}

// Capabilities the way the supervisor computes them from a config file (S9).
std::uint64_t capabilitiesFromConfig(const testing::TempDir& dir, const std::string& section) {
    auto exe = dir.writeExecutable("otelcol");
    config::LoadOptions options;
    options.platform = config::PlatformFacts{dir.path(), "otelcol", true, "linux"};
    auto loaded = config::loadConfigText(
        "server:\n  endpoint: ws://localhost:4320\nagent:\n"
        "  executable: " +
            exe.string() + "\n" + section,
        "supervisor.yaml", options);
    return agentCapabilities(loaded.config.capabilities);
}

class ClientDevServerTest : public ::testing::TestWithParam<std::string> {
  protected:
    ClientDevServerTest()
        : pki_(dir_.path(), {"localhost", "127.0.0.1"}),
          server_(isTls(GetParam())
                      ? std::make_unique<testing::DevServerFixture>(testing::DevServerFixture::Tls{
                            pki_.serverCert.string(), pki_.serverKey.string(), ""})
                      : std::make_unique<testing::DevServerFixture>()),
          loopThread_([this] { loop_.run(); }) {}

    ~ClientDevServerTest() override {
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

    struct Start {
        std::uint64_t capabilities = 0x2001;
        // Over HTTP this is also the polling interval, kept short so answers arrive quickly.
        std::chrono::seconds heartbeat = 1s;
        std::optional<config::TlsClientSettings> tls;
        std::string logFile;
    };

    static Start with(std::uint64_t capabilities, std::chrono::seconds heartbeat = 1s) {
        Start start;
        start.capabilities = capabilities;
        start.heartbeat = heartbeat;
        return start;
    }

    void startClient(const Start& start) {
        onLoop([&] {
            Client::Settings settings;
            settings.endpoint = server_->endpoint(GetParam());
            settings.userAgent = "client-devserver-test";
            settings.heartbeatInterval = start.heartbeat;
            settings.backoff = {100ms, 2s, 2.0};
            if (isTls(GetParam())) {
                settings.tls = start.tls;
                if (!settings.tls) {
                    config::TlsClientSettings tls;
                    tls.caFile = pki_.caCert.string();
                    settings.tls = tls;
                }
            }
            AgentState state(kUid, start.capabilities);
            pb::AgentDescription description;
            pb::KeyValue* kv = description.add_identifying_attributes();
            kv->set_key("service.name");
            kv->mutable_value()->set_string_value("otelcol-contrib");
            state.setAgentDescription(description);
            Client::Handlers handlers;
            handlers.connectionChanged = [this](bool up) { connection_.push({up, Clock::now()}); };
            handlers.restart = [this] { restarts_.push(true); };
            handlers.customMessage = [this](const pb::CustomMessage& m) { custom_.push(m); };
            telemetry::LoggerOptions logging;
            logging.level =
                start.logFile.empty() ? telemetry::LogLevel::Error : telemetry::LogLevel::Info;
            if (!start.logFile.empty()) {
                logging.outputPaths = {start.logFile};
            }
            client_ =
                std::make_unique<Client>(loop_, settings, state, handlers,
                                         telemetry::Logger::create(logging), [] { return 0.5; });
            client_->start();
            return 0;
        });
    }

    // Waits for the next connection change to `up`; returns when it happened.
    std::optional<Clock::time_point> waitConnection(bool up, std::chrono::seconds timeout = 10s) {
        auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            auto change = connection_.pop(
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
            if (change && change->first == up) {
                return change->second;
            }
        }
        return std::nullopt;
    }

    Poco::JSON::Object::Ptr waitForAgent() {
        return server_->waitForAgent(kUidText, [](const Poco::JSON::Object& agent) {
            return agent.getValue<bool>("connected") &&
                   agent.getValue<std::uint64_t>("message_count") > 0;
        });
    }

    testing::TempDir dir_;
    testing::TestPki pki_;
    std::unique_ptr<testing::DevServerFixture> server_;
    supervisor::EventLoop loop_;
    std::thread loopThread_;
    std::unique_ptr<Client> client_;
    testing::Waiter<std::pair<bool, Clock::time_point>> connection_;
    testing::Waiter<bool> restarts_;
    testing::Waiter<pb::CustomMessage> custom_;
};

// S18: the first message of a connection is the full state, sequence numbers rise by one,
// and the server's routine answers do not make the client talk back.
TEST_P(ClientDevServerTest, ConnectsWithFullStateAndConsecutiveSequenceNumbers) {
    startClient({});
    auto agent = waitForAgent();
    ASSERT_TRUE(agent) << "the agent never reached the dev server";
    EXPECT_EQ(agent->getValue<std::string>("transport"), isHttp(GetParam()) ? "http" : "websocket");

    auto messages = server_->waitForAgentMessages(
        kUidText, [](const pb::AgentToServer&) { return true; }, 3);
    ASSERT_GE(messages.size(), 3U);
    EXPECT_EQ(messages[0].sequence_num(), 1U);
    EXPECT_TRUE(messages[0].has_agent_description());
    EXPECT_EQ(messages[0].agent_description().identifying_attributes(0).key(), "service.name");
    for (std::size_t i = 1; i < messages.size(); ++i) {
        EXPECT_EQ(messages[i].sequence_num(), messages[i - 1].sequence_num() + 1);
        // Heartbeats carry no status: nothing changed.
        EXPECT_FALSE(messages[i].has_agent_description()) << "message " << i;
    }
    // The server never had to ask for the full state.
    for (const auto& answer : server_->serverMessages(kUidText)) {
        EXPECT_EQ(answer.flags() & pb::ServerToAgentFlags_ReportFullState, 0U);
    }
}

// A restarted server knows nothing: the client reconnects (or its next poll arrives) and
// the server, seeing an unknown agent, gets the full state.
TEST_P(ClientDevServerTest, ReconnectsToARestartedServerWithFullState) {
    startClient({});
    ASSERT_TRUE(waitForAgent());
    server_->restart();
    auto agent = server_->waitForAgent(kUidText, [](const Poco::JSON::Object& a) {
        return !a.getObject("status")->getObject("agent_description").isNull();
    });
    ASSERT_TRUE(agent) << "the restarted server never learned the agent's description";
}

// S9: the capabilities the server sees are those the config asks for.
TEST_P(ClientDevServerTest, CapabilitiesMatchTheConfig) {
    std::uint64_t allOff = capabilitiesFromConfig(dir_, R"(capabilities:
  reports_effective_config: false
  reports_own_metrics: false
  reports_own_logs: false
  reports_own_traces: false
  reports_health: false
  accepts_remote_config: false
  reports_remote_config: false
  accepts_restart_command: false
)");
    ASSERT_EQ(allOff, 0x2001U);
    startClient(with(allOff));
    auto agent = waitForAgent();
    ASSERT_TRUE(agent);
    EXPECT_EQ(agent->getValue<std::uint64_t>("capabilities"), 0x2001U);
    auto names = agent->getArray("capability_names");
    ASSERT_TRUE(names);
    ASSERT_EQ(names->size(), 2U);
    EXPECT_EQ(names->getElement<std::string>(0), "ReportsStatus");
    EXPECT_EQ(names->getElement<std::string>(1), "ReportsHeartbeat");
}

TEST_P(ClientDevServerTest, DefaultCapabilitiesReachTheServer) {
    std::uint64_t defaults = capabilitiesFromConfig(dir_, "");
    startClient(with(defaults));
    auto agent = waitForAgent();
    ASSERT_TRUE(agent);
    EXPECT_EQ(agent->getValue<std::uint64_t>("capabilities"), defaults);
}

// S11: a ReportFullState request is answered with everything, once.
TEST_P(ClientDevServerTest, ReportFullStateIsAnswered) {
    startClient({});
    ASSERT_TRUE(waitForAgent());
    // Wait until the connection is quiet: the first full state has been sent.
    ASSERT_EQ(
        server_
            ->waitForAgentMessages(
                kUidText, [](const pb::AgentToServer& m) { return m.has_agent_description(); }, 1)
            .size(),
        1U);
    server_->reportFullState(kUidText);
    auto full = server_->waitForAgentMessages(
        kUidText, [](const pb::AgentToServer& m) { return m.has_agent_description(); }, 2);
    ASSERT_EQ(full.size(), 2U) << "the client did not resend its full state";
    EXPECT_GT(full[1].sequence_num(), full[0].sequence_num());
}

// S11: heartbeats at the configured interval, with nothing else in them.
TEST_P(ClientDevServerTest, SendsHeartbeats) {
    startClient(with(0x2001, 1s));
    ASSERT_TRUE(waitForAgent());
    auto start = Clock::now();
    auto heartbeats = server_->waitForAgentMessages(
        kUidText, [](const pb::AgentToServer& m) { return m.sequence_num() > 1; }, 2, 10s);
    ASSERT_GE(heartbeats.size(), 2U);
    // Two heartbeats at a 1 s interval cannot arrive sooner than about a second apart.
    EXPECT_GE(Clock::now() - start, 900ms);
    for (const auto& m : heartbeats) {
        EXPECT_FALSE(m.has_health());
        EXPECT_FALSE(m.has_agent_description());
        EXPECT_EQ(m.capabilities(), 0x2001U);
    }
}

// S11: the restart command reaches the handler.
TEST_P(ClientDevServerTest, RestartCommandReachesTheAgent) {
    startClient(with(0x2001 | pb::AgentCapabilities_AcceptsRestartCommand));
    ASSERT_TRUE(waitForAgent());
    server_->restart(kUidText);
    EXPECT_TRUE(restarts_.pop(10s)) << "no restart command arrived";
}

// S11: custom messages both ways.
TEST_P(ClientDevServerTest, CustomMessagesBothWays) {
    startClient({});
    ASSERT_TRUE(waitForAgent());
    server_->customMessage(kUidText, "io.opentelemetry.test", "ping", "hello agent");
    auto received = custom_.pop(10s);
    ASSERT_TRUE(received) << "the custom message did not reach the client";
    EXPECT_EQ(received->capability(), "io.opentelemetry.test");
    EXPECT_EQ(received->type(), "ping");
    EXPECT_EQ(received->data(), "hello agent");

    onLoop([this] {
        pb::CustomMessage reply;
        reply.set_capability("io.opentelemetry.test");
        reply.set_type("pong");
        reply.set_data("hello server");
        return client_->sendCustomMessage(reply);
    });
    auto sent = server_->waitForAgentMessages(
        kUidText, [](const pb::AgentToServer& m) { return m.has_custom_message(); }, 1);
    ASSERT_EQ(sent.size(), 1U);
    EXPECT_EQ(sent[0].custom_message().type(), "pong");
    EXPECT_EQ(sent[0].custom_message().data(), "hello server");
}

// S17: an HTTP 503 or 429 with Retry-After delays the next attempt by at least that long,
// though the client's own backoff would retry within 200 ms.
TEST_P(ClientDevServerTest, HonoursRetryAfterOnRefusal) {
    startClient({});
    ASSERT_TRUE(waitConnection(true));
    for (const char* status : {"503", "429"}) {
        SCOPED_TRACE(status);
        // The client counts itself connected once the upgrade succeeds; the server can cut
        // the connection only once it has the agent's first message on it.
        ASSERT_TRUE(waitForAgent());
        server_->fault(std::string(R"({"http_status":)") + status +
                       R"(,"retry_after":"2","count":1})");
        // Over WebSocket the refusal meets the reconnect after a dropped connection; over
        // HTTP it meets the next poll.
        if (!isHttp(GetParam())) {
            server_->fault(R"({"drop_connections":true})");
        }
        auto lost = waitConnection(false);
        ASSERT_TRUE(lost);
        auto back = waitConnection(true);
        ASSERT_TRUE(back) << "the client did not come back after the Retry-After delay";
        EXPECT_GE(*back - *lost, 1900ms);
    }
}

// S17: ServerErrorResponse UNAVAILABLE with retry_info delays the reconnect by that long, and
// the full state is sent again afterwards: nothing the server missed is lost.
TEST_P(ClientDevServerTest, HonoursUnavailableRetryInfo) {
    startClient({});
    ASSERT_TRUE(waitConnection(true));
    ASSERT_TRUE(waitForAgent());
    server_->fault(R"({"error_response":"UNAVAILABLE","retry_after_ms":1500,"count":1})");
    onLoop([this] {
        pb::CustomMessage nudge;
        nudge.set_capability("io.opentelemetry.test");
        nudge.set_type("nudge");
        return client_->sendCustomMessage(nudge);
    });
    auto lost = waitConnection(false);
    ASSERT_TRUE(lost) << "the client ignored the UNAVAILABLE error";
    auto back = waitConnection(true);
    ASSERT_TRUE(back);
    EXPECT_GE(*back - *lost, 1400ms);
    auto full = server_->waitForAgentMessages(
        kUidText, [](const pb::AgentToServer& m) { return m.has_agent_description(); }, 2);
    EXPECT_EQ(full.size(), 2U) << "no full state after the server came back";
}

// S17: a server whose certificate does not verify is reported with the reason and retried
// with backoff, not in a tight loop.
TEST_P(ClientDevServerTest, TlsVerificationFailureIsReportedAndBackedOff) {
    if (!isTls(GetParam())) {
        GTEST_SKIP() << "TLS only";
    }
    config::TlsClientSettings untrusting;
    untrusting.caFile = pki_.otherCaCert.string();
    auto log = dir_.path() / "client.log";
    Start start = with(0x2001);
    start.tls = untrusting;
    start.logFile = log.string();
    startClient(start);
    // Backoff from 100 ms doubling to 2 s: within 3 s at most about six attempts; a tight
    // loop would make hundreds.
    std::this_thread::sleep_for(3s);
    onLoop([this] {
        client_->stop();
        return 0;
    });
    std::ifstream in(log);
    std::string line;
    int attempts = 0;
    std::string reason;
    std::string all;
    while (std::getline(in, line)) {
        all += line + "\n";
        if (line.find("Cannot connect to the OpAMP server") != std::string::npos) {
            ++attempts;
            reason = line;
        }
    }
    EXPECT_GE(attempts, 2) << all;
    EXPECT_LE(attempts, 8);
    EXPECT_THAT(reason, HasSubstr("certificate"));
    EXPECT_FALSE(server_->agent(kUidText)) << "an unverified server must never get a message";
}

INSTANTIATE_TEST_SUITE_P(Transports, ClientDevServerTest,
                         ::testing::Values("ws", "http", "wss", "https"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace opampsup::opamp
