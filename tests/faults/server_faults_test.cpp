// Faults of the OpAMP server, driven against the real supervisor managing the stand-in
// collector (see README.md in this directory for the whole table). In each, the collector
// keeps running its last good config (the same process), the supervisor says what is wrong
// in its log, and once the server is usable again the supervisor reconnects and reports the
// truth: health, the remote config status with the right hash, the effective config.
//
// Fault, and its test (ServerFaults.*):
// - killed and restarted repeatedly: KilledAndRestartedFiveTimesItIsToldTheTruthEachTime
// - accepts but never answers (a timeout): AServerThatAcceptsButNeverAnswersIsTimedOutAndLeft
// - a half-open WebSocket: AHalfOpenWebSocketIsFoundByTheKeepaliveAndReplaced
// - a 503 storm with Retry-After: A503StormWithRetryAfterAtStartIsWaitedOut
// - a 429 storm with Retry-After: A429StormAfterALostConnectionIsWaitedOut
// - a ServerErrorResponse storm: AServerErrorResponseStormIsWaitedOut
// - TLS, an untrusted certificate: AnUntrustedCertificateIsRetriedWithBackoffUntilFixed
// - TLS, a CA made again under the same name:
//   ACertificateFromAReissuedCaWithTheSameNameIsReportedAsSuch
// - a server that floods configs: AFloodOfRemoteConfigsEndsOnTheLastWithOneCollector

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "FaultProxy.h"
#include "FaultsE2e.h"
#include "support/TestPki.h"

namespace opampsup::faults {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// The retry_in_ms of every log line about a failed or lost connection, or a server that
// is unavailable, that holds `what`.
std::vector<long> retriesAfter(const std::string& log, const std::string& what) {
    static const std::regex retry(R"re("retry_in_ms":"(\d+)")re");
    std::vector<long> out;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
        const bool aboutTheConnection =
            line.find("\"msg\":\"Cannot connect to the OpAMP server\"") != std::string::npos ||
            line.find("\"msg\":\"Lost the connection to the OpAMP server\"") != std::string::npos ||
            line.find("\"msg\":\"The OpAMP server is unavailable; reconnecting later\"") !=
                std::string::npos;
        std::smatch m;
        if (aboutTheConnection && line.find(what) != std::string::npos &&
            std::regex_search(line, m, retry)) {
            out.push_back(std::stol(m[1].str()));
        }
    }
    return out;
}

class ServerFaults : public FaultsE2e {
  protected:
    // A supervisor for `endpoint`, connected and healthy, running a config the server pushed
    // that writes to out.jsonl, and its collector. `uid` is empty, or `collector` unset, when
    // a step failed (which has reported why).
    struct Applied {
        std::unique_ptr<Child> supervisor;
        std::filesystem::path out;
        std::string uid;
        std::string hash;
        std::optional<pid_t> collector;
    };
    Applied appliedSupervisor(const std::string& endpoint) {
        Applied a{startSupervisor(remoteConfigSupervisor(endpoint)), dir_.path() / "out.jsonl", "",
                  "", std::nullopt};
        const std::string uid = healthyAgent(*a.supervisor);
        if (uid.empty()) {
            return a;
        }
        a.hash = server_.pushConfig(uid, "", producing(a.out));
        if (!waitForTruth(uid, a.hash, a.out)) {
            ADD_FAILURE() << logOf(*a.supervisor);
            return a;
        }
        a.uid = uid;
        a.collector = theCollector();
        return a;
    }
};

// The server dies (its connections cut without a goodbye, or stopped in order) and comes
// back with no memory of the agent, five times: each time the supervisor reconnects and
// reports everything again, and the collector is never restarted.
TEST_F(ServerFaults, KilledAndRestartedFiveTimesItIsToldTheTruthEachTime) {
    auto [supervisor, out, uid, hash, collector] = appliedSupervisor(server_.endpoint("ws"));
    ASSERT_FALSE(uid.empty());
    ASSERT_TRUE(collector);

    for (int i = 1; i <= 5; ++i) {
        SCOPED_TRACE("server restart " + std::to_string(i));
        if (i % 2 == 1) {
            server_.fault(R"({"drop_connections": true})");
        }
        server_.server().stop();
        EXPECT_TRUE(grows(out)) << "the collector stopped while the server was away";
        server_.restart();
        ASSERT_TRUE(waitForTruth(uid, hash, out, 30s)) << logOf(*supervisor);
        EXPECT_EQ(collectorProcesses(), std::vector<pid_t>{*collector})
            << "the collector was restarted";
    }
    EXPECT_GE(testing::countOf(logOf(*supervisor), "Lost the connection to the OpAMP server"), 5U);
}

// A server that accepts the connection but never answers the WebSocket upgrade: the
// supervisor gives up after its connect timeout (30 s, not configurable), says so, and
// the next connection (answered) carries the whole state. The collector runs throughout.
TEST_F(ServerFaults, AServerThatAcceptsButNeverAnswersIsTimedOutAndLeft) {
    FaultProxy proxy(server_.server().port());
    proxy.holdNext(1);
    collectorConfig();
    auto supervisor = startSupervisor(supervisorConfig(
        proxy.via(server_.endpoint("ws")),
        "  reports_health: true\n  reports_effective_config: true\n", standinAgent()));
    ASSERT_TRUE(waitUntil([&] { return dataLines() >= 3; })) << logOf(*supervisor);
    ASSERT_TRUE(waitUntil([&] { return proxy.held() == 1; })) << logOf(*supervisor);
    const auto collector = theCollector();
    ASSERT_TRUE(collector);

    ASSERT_TRUE(waitUntil(
        [&] {
            return logOf(*supervisor).find("Cannot connect to the OpAMP server") !=
                   std::string::npos;
        },
        45s))
        << logOf(*supervisor);
    EXPECT_THAT(logOf(*supervisor), ::testing::ContainsRegex("Cannot connect to the OpAMP "
                                                             "server[^\n]*[Tt]ime ?out"));
    const std::string uid = instanceUid();
    ASSERT_TRUE(server_.waitForAgent(
        uid, [](const Poco::JSON::Object& agent) { return agent.getValue<bool>("connected"); },
        15s))
        << logOf(*supervisor);
    ASSERT_TRUE(waitForHealth(uid, [](const pb::ComponentHealth& h) { return h.healthy(); }))
        << logOf(*supervisor);
    EXPECT_TRUE(server_.agent(uid)->getObject("effective_config")->has(""));
    EXPECT_EQ(proxy.accepted(), 2) << "one held connection, then the one that worked";
    EXPECT_EQ(collectorProcesses(), std::vector<pid_t>{*collector});
    EXPECT_TRUE(waitUntil([&] { return dataLines() > 3; }));
}

// The connection goes silent without closing (a peer or NAT that vanished). Heartbeats go
// into the void; the WebSocket keepalive (30 s of silence, a ping, 30 s more; not
// configurable) finds it dead, and the supervisor reconnects. A config the server pushed
// into the dead connection arrives over the new one and is applied.
TEST_F(ServerFaults, AHalfOpenWebSocketIsFoundByTheKeepaliveAndReplaced) {
    FaultProxy proxy(server_.server().port());
    auto [supervisor, out, uid, hash, collector] =
        appliedSupervisor(proxy.via(server_.endpoint("ws")));
    ASSERT_FALSE(uid.empty());
    ASSERT_TRUE(collector);

    ASSERT_EQ(proxy.blackHoleOpenConnections(), 1);
    const auto next = dir_.path() / "next.jsonl";
    const std::string nextHash = server_.pushConfig(uid, "", producing(next));
    EXPECT_TRUE(grows(out)) << "the collector stopped";
    ASSERT_TRUE(waitUntil(
        [&] {
            return logOf(*supervisor).find("the server did not answer a WebSocket ping") !=
                   std::string::npos;
        },
        80s))
        << logOf(*supervisor);
    EXPECT_EQ(collectorProcesses(), std::vector<pid_t>{*collector})
        << "the collector was restarted while the connection was dead";
    ASSERT_TRUE(waitForTruth(uid, nextHash, next, 20s)) << logOf(*supervisor);
    EXPECT_EQ(proxy.accepted(), 2);
}

// Every WebSocket upgrade is refused with 503 and Retry-After: 1 four times: each retry
// waits at least the second asked for, the collector runs meanwhile, and the fifth attempt
// connects and reports.
TEST_F(ServerFaults, A503StormWithRetryAfterAtStartIsWaitedOut) {
    server_.fault(R"({"http_status": 503, "retry_after": "1", "count": 4})");
    auto supervisor = startSupervisor(remoteConfigSupervisor(server_.endpoint("ws")));
    const std::string uid = instanceUid();
    ASSERT_FALSE(uid.empty());
    // Four waits of at least a second, under a backoff ceiling of 1, 2, 4 and 8 s.
    ASSERT_TRUE(waitForHealth(
        uid, [](const pb::ComponentHealth& h) { return h.healthy(); }, 30s))
        << logOf(*supervisor);
    const std::vector<long> retries =
        retriesAfter(logOf(*supervisor), "the server refused the WebSocket upgrade: HTTP 503");
    ASSERT_EQ(retries.size(), 4U) << logOf(*supervisor);
    for (long ms : retries) {
        EXPECT_GE(ms, 1000) << "a retry sooner than the server's Retry-After";
    }
    const auto out = dir_.path() / "out.jsonl";
    const std::string hash = server_.pushConfig(uid, "", producing(out));
    EXPECT_TRUE(waitForTruth(uid, hash, out)) << logOf(*supervisor);
}

// The connection is cut and the server then refuses three reconnections with 429 and
// Retry-After: 1. The collector keeps running its config; the supervisor waits as asked
// and, connected again, reports everything again.
TEST_F(ServerFaults, A429StormAfterALostConnectionIsWaitedOut) {
    auto [supervisor, out, uid, hash, collector] = appliedSupervisor(server_.endpoint("ws"));
    ASSERT_FALSE(uid.empty());
    ASSERT_TRUE(collector);
    const std::size_t before = server_.agentMessages(uid).size();

    server_.fault(R"({"http_status": 429, "retry_after": "1", "count": 3})");
    server_.fault(R"({"drop_connections": true})");
    ASSERT_TRUE(waitUntil(
        [&] {
            return retriesAfter(logOf(*supervisor), "HTTP 429").size() == 3 &&
                   serverView(uid).connected;
        },
        30s))
        << logOf(*supervisor);
    for (long ms : retriesAfter(logOf(*supervisor), "HTTP 429")) {
        EXPECT_GE(ms, 1000) << "a retry sooner than the server's Retry-After";
    }
    ASSERT_TRUE(waitForTruth(uid, hash, out)) << logOf(*supervisor);
    auto all = server_.agentMessages(uid);
    EXPECT_TRUE(std::any_of(all.begin() + static_cast<std::ptrdiff_t>(before), all.end(),
                            [](const pb::AgentToServer& m) {
                                return m.has_agent_description() && m.has_health() &&
                                       m.has_remote_config_status();
                            }))
        << "no full state after the reconnection";
    EXPECT_EQ(collectorProcesses(), std::vector<pid_t>{*collector});
}

// The server answers three messages in a row with ServerErrorResponse UNAVAILABLE and a
// retry delay of 1 s: each time the supervisor drops the connection, waits as asked, and
// reconnects; then it reports everything again. The collector is not touched.
TEST_F(ServerFaults, AServerErrorResponseStormIsWaitedOut) {
    server_.offerHeartbeatInterval(1);
    auto [supervisor, out, uid, hash, collector] = appliedSupervisor(server_.endpoint("ws"));
    ASSERT_FALSE(uid.empty());
    ASSERT_TRUE(collector);

    // The next message (a heartbeat within the second) gets the first error, and each
    // reconnection's first message the next ones.
    const std::size_t before = server_.agentMessages(uid).size();
    server_.fault(R"({"error_response": "UNAVAILABLE", "retry_after_ms": 1000, "count": 3,
                      "message": "overloaded, come back later"})");
    ASSERT_TRUE(waitUntil(
        [&] { return retriesAfter(logOf(*supervisor), "overloaded, come back later").size() >= 3; },
        30s))
        << logOf(*supervisor);
    const auto retries = retriesAfter(logOf(*supervisor), "overloaded, come back later");
    EXPECT_EQ(retries.size(), 3U);
    for (long ms : retries) {
        EXPECT_GE(ms, 1000) << "a retry sooner than the server's retry_info";
    }
    ASSERT_TRUE(waitForTruth(uid, hash, out)) << logOf(*supervisor);
    // Each reconnection began with the whole state, the last one (answered) too.
    auto all = server_.agentMessages(uid);
    EXPECT_GE(std::count_if(all.begin() + static_cast<std::ptrdiff_t>(before), all.end(),
                            [](const pb::AgentToServer& m) {
                                return m.has_agent_description() && m.has_health() &&
                                       m.has_remote_config_status();
                            }),
              3);
    EXPECT_EQ(collectorProcesses(), std::vector<pid_t>{*collector});
}

// The server presents a certificate the supervisor does not trust: the handshake fails,
// the log says why, the supervisor retries with backoff (not in a tight loop) and the
// collector runs. Once the server presents a trusted certificate, the next attempt connects
// and reports.
TEST_F(ServerFaults, AnUntrustedCertificateIsRetriedWithBackoffUntilFixed) {
    std::filesystem::create_directories(dir_.path() / "trusted");
    std::filesystem::create_directories(dir_.path() / "rogue");
    testing::TestPki trusted(dir_.path() / "trusted", {"127.0.0.1"});
    testing::TestPki rogue(dir_.path() / "rogue", {"127.0.0.1"}, "rogue CA");
    devserver::DevServer::Options rogueOptions;
    rogueOptions.certFile = rogue.serverCert.string();
    rogueOptions.keyFile = rogue.serverKey.string();
    testing::DevServerFixture rogueServer(rogueOptions);
    devserver::DevServer::Options goodOptions;
    goodOptions.certFile = trusted.serverCert.string();
    goodOptions.keyFile = trusted.serverKey.string();
    testing::DevServerFixture goodServer(goodOptions);
    FaultProxy proxy(rogueServer.server().port());

    collectorConfig();
    auto supervisor = startSupervisor(supervisorConfig(
        proxy.via(goodServer.endpoint("wss")) + "\n  tls:\n    ca_file: " + trusted.caCert.string(),
        "  reports_health: true\n  reports_effective_config: true\n", standinAgent()));
    ASSERT_TRUE(waitUntil([&] { return dataLines() >= 3; })) << logOf(*supervisor);
    const auto collector = theCollector();
    ASSERT_TRUE(collector);
    ASSERT_TRUE(waitUntil([&] {
        return logOf(*supervisor).find("Cannot connect to the OpAMP server") != std::string::npos;
    })) << logOf(*supervisor);
    EXPECT_THAT(logOf(*supervisor), ::testing::ContainsRegex("Cannot connect to the OpAMP "
                                                             "server[^\n]*certificate verify"));
    // Four attempts, each after a longer wait (full jitter under a doubling ceiling): the
    // waits add up to well over half a second unless it retries in a tight loop.
    ASSERT_TRUE(waitUntil([&] { return proxy.accepted() >= 4; }, 20s)) << logOf(*supervisor);
    const std::vector<long> retries = retriesAfter(logOf(*supervisor), "certificate");
    ASSERT_GE(retries.size(), 3U) << logOf(*supervisor);
    EXPECT_GE(retries[0] + retries[1] + retries[2], 500) << "retried in a tight loop";
    EXPECT_EQ(rogueServer.request("GET", "/api/agents").body.find("instance_uid"),
              std::string::npos)
        << "the untrusted server got a message";

    proxy.setUpstream(goodServer.server().port());
    const std::string uid = instanceUid();
    ASSERT_TRUE(goodServer.waitForAgent(
        uid, [](const Poco::JSON::Object& agent) { return agent.getValue<bool>("connected"); },
        40s))
        << logOf(*supervisor);
    EXPECT_FALSE(goodServer
                     .waitForAgentMessages(
                         uid, [](const pb::AgentToServer& m) { return m.health().healthy(); }, 1)
                     .empty())
        << logOf(*supervisor);
    EXPECT_EQ(collectorProcesses(), std::vector<pid_t>{*collector});
}

// A CA made again with the same name but a new key (a lost key, a rotation done in
// place) no longer verifies the server. The supervisor's log must say it is the server's
// certificate that failed, as it does for any other untrusted certificate (it used to log
// OpenSSL's first queued error, "asn1 encoding routines::EVP lib").
TEST_F(ServerFaults, ACertificateFromAReissuedCaWithTheSameNameIsReportedAsSuch) {
    std::filesystem::create_directories(dir_.path() / "old");
    std::filesystem::create_directories(dir_.path() / "reissued");
    testing::TestPki old(dir_.path() / "old", {"127.0.0.1"});
    testing::TestPki reissued(dir_.path() / "reissued", {"127.0.0.1"});
    devserver::DevServer::Options options;
    options.certFile = reissued.serverCert.string();
    options.keyFile = reissued.serverKey.string();
    testing::DevServerFixture tlsServer(options);
    collectorConfig();
    auto supervisor = startSupervisor(supervisorConfig(
        tlsServer.endpoint("wss") + "\n  tls:\n    ca_file: " + old.caCert.string(),
        "  reports_health: true\n", standinAgent()));
    ASSERT_TRUE(waitUntil([&] {
        return logOf(*supervisor).find("Cannot connect to the OpAMP server") != std::string::npos;
    })) << logOf(*supervisor);
    EXPECT_THAT(logOf(*supervisor),
                ::testing::ContainsRegex("Cannot connect to the OpAMP server[^\n]*certificate "
                                         "verify failed: certificate signature failure"))
        << "the reason does not name the certificate";
    EXPECT_TRUE(waitUntil([&] { return dataLines() >= 3; })) << logOf(*supervisor);
}

// Thirty configs pushed back to back, each writing elsewhere: the supervisor ends on the
// last one, APPLIED and running, with never more than one collector at a time and no
// leftover validation files; the earlier ones do not run.
TEST_F(ServerFaults, AFloodOfRemoteConfigsEndsOnTheLastWithOneCollector) {
    auto supervisor = startSupervisor(remoteConfigSupervisor(server_.endpoint("ws")));
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    constexpr int kConfigs = 30;
    std::string last;
    std::filesystem::path lastOut;
    for (int i = 0; i < kConfigs; ++i) {
        lastOut = dir_.path() / ("flood-" + std::to_string(i) + ".jsonl");
        last = server_.pushConfig(uid, "", producing(lastOut));
    }
    std::size_t most = 0;
    std::string problem = "not checked";
    waitUntil(
        [&] {
            most = std::max(most, collectorProcesses().size());
            problem = untruth(uid, last, lastOut);
            return problem.empty();
        },
        60s);
    EXPECT_EQ(problem, "") << logOf(*supervisor);
    EXPECT_LE(most, 1U) << "two collectors ran at once";
    EXPECT_FALSE(supervisor->poll()) << logOf(*supervisor);
    EXPECT_EQ(persistedStateProblems(), std::vector<std::string>{});
    pb::AgentRemoteConfig received;
    ASSERT_TRUE(
        received.ParseFromString(testing::readFile(storage() / "last_recv_remote_config.dat")));
    EXPECT_EQ(opamp::hex(received.config_hash()), last);
    for (const auto& entry : std::filesystem::directory_iterator(storage())) {
        EXPECT_THAT(entry.path().filename().string(), ::testing::Not(HasSubstr("validate-config")));
    }
    // Only the last config's output grows.
    std::vector<std::size_t> sizes;
    for (int i = 0; i + 1 < kConfigs; ++i) {
        sizes.push_back(
            testing::completeLines(dir_.path() / ("flood-" + std::to_string(i) + ".jsonl")).size());
    }
    EXPECT_TRUE(grows(lastOut));
    for (int i = 0; i + 1 < kConfigs; ++i) {
        EXPECT_EQ(
            testing::completeLines(dir_.path() / ("flood-" + std::to_string(i) + ".jsonl")).size(),
            sizes[static_cast<std::size_t>(i)])
            << "config " << i << " still runs";
    }
}

}  // namespace
}  // namespace opampsup::faults
