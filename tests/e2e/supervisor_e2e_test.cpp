// The whole product as a user runs it: the real opampsupervisor binary, managing the
// stand-in collector (otelcol-standin) as its child, connected to a dev server on loopback.
// Scenarios S2, S10, S16 and the crash and stop parts of S7 in DESIGN.md.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include "SupervisorE2e.h"
#include "core/opamp/Hex.h"
#include "core/remoteconfig/RemoteConfigFiles.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "support/ChildRun.h"
#include "support/DevServerFixture.h"
#include "support/NotifySocket.h"
#include "support/TempDir.h"
#include "support/TestOtlpReceiver.h"
#include "support/TestPki.h"
#include "support/TestTokenServer.h"

namespace opampsup {
namespace {

namespace pb = ::opamp::proto;
using testing::Child;
using ::testing::HasSubstr;
using testing::kDeadline;
using ::testing::Not;
using testing::processAlive;
using testing::readFile;
using testing::waitUntil;

using e2e::attributes;
using e2e::permissionsOf;
using e2e::SupervisorE2e;

// S2 over both transports: local config only, no remote config capability; the collector
// runs with the composed config, data flows, and the server sees the description, the
// components, health and the effective config, with the launch secret kept from it. Then
// S16's orderly half: SIGTERM stops the collector and says goodbye.
class LocalConfig : public SupervisorE2e, public ::testing::WithParamInterface<std::string> {};

TEST_P(LocalConfig, RunsTheCollectorReportsItAndStopsInOrder) {
    collectorConfig();
    auto config = supervisorConfig(server_.endpoint(GetParam()),
                                   "  reports_effective_config: true\n"
                                   "  reports_health: true\n"
                                   "  reports_available_components: true\n",
                                   standinAgent("  description:\n"
                                                "    identifying_attributes:\n"
                                                "      service.namespace: e2e\n"
                                                "    non_identifying_attributes:\n"
                                                "      custom.key: custom-value\n"));
    auto supervisor = startSupervisor(config);
    const std::string uid = instanceUid();
    ASSERT_FALSE(uid.empty()) << logOf(*supervisor);

    // The description as the collector reported it at bootstrap, with the overrides.
    auto described = server_.waitForAgentMessages(
        uid, [](const pb::AgentToServer& m) { return m.has_agent_description(); }, 1);
    ASSERT_FALSE(described.empty()) << logOf(*supervisor);
    const pb::AgentToServer& first = described.front();
    auto identifying = attributes(first.agent_description().identifying_attributes());
    EXPECT_EQ(identifying["service.name"], "otelcol-standin");
    EXPECT_EQ(identifying["service.version"], "0.130.0");
    EXPECT_EQ(identifying["service.instance.id"], uid);
    EXPECT_EQ(identifying["service.namespace"], "e2e");
    auto other = attributes(first.agent_description().non_identifying_attributes());
    EXPECT_EQ(other["custom.key"], "custom-value");
    EXPECT_EQ(other["os.type"], "linux");
    EXPECT_FALSE(other["host.name"].empty());
    EXPECT_EQ(first.capabilities() & pb::AgentCapabilities_AcceptsRemoteConfig, 0U);
    EXPECT_NE(first.capabilities() & pb::AgentCapabilities_ReportsAvailableComponents, 0U);

    // The component map, learned from the collector, once the server asks for it.
    auto components = server_.waitForAgentMessages(
        uid,
        [](const pb::AgentToServer& m) {
            return m.has_available_components() &&
                   m.available_components().components().count("receivers") == 1;
        },
        1);
    ASSERT_FALSE(components.empty());
    EXPECT_EQ(components.front()
                  .available_components()
                  .components()
                  .at("receivers")
                  .sub_component_map()
                  .count("standin"),
              1U);

    auto healthy = waitForHealth(uid, [](const pb::ComponentHealth& h) {
        return h.healthy() && h.component_health_map().count("pipeline:metrics") == 1;
    });
    ASSERT_TRUE(healthy) << logOf(*supervisor);
    ASSERT_TRUE(waitUntil([&] { return dataLines() >= 3; })) << logOf(*supervisor);

    // The effective config the collector runs: the local file plus the injected extension,
    // without the per-launch secret that authenticates the collector to the supervisor.
    auto effective = server_.waitForAgentMessages(
        uid,
        [](const pb::AgentToServer& m) {
            return m.has_effective_config() &&
                   m.effective_config().config_map().config_map().count("") == 1 &&
                   m.effective_config().config_map().config_map().at("").body().find("pipelines") !=
                       std::string::npos;
        },
        1);
    ASSERT_FALSE(effective.empty());
    const std::string runningConfig = readFile(storage() / "effective.yaml");
    YAML::Node onDisk = YAML::Load(runningConfig);
    const std::string secretHeader =
        onDisk["extensions"]["opamp"]["server"]["ws"]["headers"]["Authorization"].as<std::string>();
    ASSERT_THAT(secretHeader, HasSubstr("Secret "));
    const std::string secret = secretHeader.substr(std::string("Secret ").size());
    for (const auto& message : server_.agentMessages(uid)) {
        for (const auto& [name, file] : message.effective_config().config_map().config_map()) {
            EXPECT_THAT(file.body(), Not(HasSubstr(secret)));
        }
    }
    YAML::Node reported =
        YAML::Load(effective.front().effective_config().config_map().config_map().at("").body());
    EXPECT_TRUE(reported["receivers"]["standin"]);
    EXPECT_EQ(reported["service"]["extensions"][0].as<std::string>(), "opamp");

    EXPECT_EQ(permissionsOf(storage()), 0700);
    EXPECT_EQ(permissionsOf(storage() / "effective.yaml"), 0600);
    EXPECT_EQ(permissionsOf(storage() / "agent.log"), 0600);
    EXPECT_EQ(permissionsOf(storage() / "persistent_state.yaml"), 0600);

    // S16, orderly: SIGTERM stops the collector, says goodbye to the server, exits 0.
    auto pids = collectorPids(*supervisor);
    ASSERT_GE(pids.size(), 2U) << "a bootstrap run and the real run";
    const long collector = pids.back();
    ASSERT_TRUE(processAlive(static_cast<pid_t>(collector)));
    supervisor->signal(SIGTERM);
    auto code = supervisor->waitExit();
    ASSERT_TRUE(code) << logOf(*supervisor);
    EXPECT_EQ(*code, 0) << logOf(*supervisor);
    EXPECT_FALSE(processAlive(static_cast<pid_t>(collector)));
    auto goodbye = server_.waitForAgentMessages(
        uid, [](const pb::AgentToServer& m) { return m.has_agent_disconnect(); }, 1);
    EXPECT_EQ(goodbye.size(), 1U);
    EXPECT_THAT(logOf(*supervisor), HasSubstr("Shutdown complete"));
    // The bootstrap collector reports several times before it stops; the bootstrap ends
    // once (it used to end with each report: one OpAMP client and config each time).
    const std::string log = logOf(*supervisor);
    std::size_t ends = 0;
    for (auto at = log.find("Bootstrap done"); at != std::string::npos;
         at = log.find("Bootstrap done", at + 1)) {
        ++ends;
    }
    EXPECT_EQ(ends, 1U) << log;
}

INSTANTIATE_TEST_SUITE_P(Transports, LocalConfig, ::testing::Values("ws", "http"));

// The start-up log says what will run and with which identity, and never shows a secret.
TEST_F(SupervisorE2e, StartupLogShowsThePlanWithSecretsRedacted) {
    collectorConfig();
    auto log = dir_.path() / "supervisor.log";
    auto config =
        dir_.write("supervisor.yaml",
                   "server:\n  endpoint: " + server_.endpoint("ws") +
                       "\n  headers:\n    Authorization: Bearer sekrit\nagent:\n" +
                       standinAgent("  args: [--feature-gates, service.AllowNoPipelines]\n") +
                       "storage:\n  directory: " + storage().string() +
                       "\ntelemetry:\n  logs:\n    output_paths: [" + log.string() + "]\n");
    auto supervisor = startSupervisor(config);
    const std::string uid = instanceUid();
    ASSERT_FALSE(uid.empty());
    // The log goes to the configured file only.
    ASSERT_TRUE(
        waitUntil([&] { return readFile(log).find("Collector started") != std::string::npos; }));
    supervisor->signal(SIGTERM);
    ASSERT_EQ(supervisor->waitExit(), 0);

    const std::string content = readFile(log);
    EXPECT_THAT(content, HasSubstr(std::string(OTELCOL_STANDIN_PATH) + " --config " +
                                   (storage() / "effective.yaml").string() +
                                   " --feature-gates service.AllowNoPipelines"));
    EXPECT_THAT(content, HasSubstr("Authorization: [REDACTED]"));
    EXPECT_THAT(content, HasSubstr("\"capabilities\":\"0x2845\""));
    EXPECT_THAT(content, HasSubstr("\"instance_uid\":\"" + uid + "\""));
    EXPECT_THAT(content, Not(HasSubstr("sekrit")));
    EXPECT_EQ(std::filesystem::status(storage()).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_all);
}

// S16, killed: the collector dies with the supervisor; the next start keeps the instance
// UID and takes the description from the bootstrap cache, with no bootstrap run.
TEST_F(SupervisorE2e, KilledSupervisorTakesTheCollectorAlongAndResumesFromStorage) {
    collectorConfig();
    auto config =
        supervisorConfig(server_.endpoint("ws"), "  reports_health: true\n", standinAgent());
    auto supervisor = startSupervisor(config);
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const long collector = collectorPids(*supervisor).back();

    supervisor->signal(SIGKILL);
    ASSERT_TRUE(supervisor->waitExit());
    EXPECT_TRUE(waitUntil([&] { return !processAlive(static_cast<pid_t>(collector)); }))
        << "the collector outlived its supervisor";
    // What a kill in the middle of a write or a validation leaves behind.
    const std::vector<std::filesystem::path> leftovers = {
        storage() / ".persistent_state.yaml.tmp-123456",
        storage() / "validate-config-0badc0de.yaml"};
    for (const auto& leftover : leftovers) {
        std::ofstream(leftover) << "half written";
    }

    auto again = startSupervisor(config);
    ASSERT_TRUE(waitUntil([&] { return collectorPids(*again).size() == 1; }));
    ASSERT_TRUE(waitUntil([&] { return dataLines() >= 2; })) << logOf(*again);
    EXPECT_THAT(logOf(*again), HasSubstr("Collector description from the bootstrap cache"));
    EXPECT_THAT(logOf(*again), Not(HasSubstr("Bootstrapping")));
    EXPECT_TRUE(server_.waitForAgent(uid, [](const Poco::JSON::Object& agent) {
        return agent.getValue<bool>("connected") && agent.getValue<int>("message_count") > 2;
    })) << "the restarted supervisor speaks for the same instance UID";
    for (const auto& leftover : leftovers) {
        EXPECT_FALSE(std::filesystem::exists(leftover)) << leftover;
    }
    EXPECT_THAT(logOf(*again),
                HasSubstr("\"msg\":\"Removed what an interrupted run left in storage\",\"files\":"
                          "\".persistent_state.yaml.tmp-123456, validate-config-0badc0de.yaml\""));
}

// telemetry: the supervisor's own log records, metrics and spans reach an OTLP/HTTP
// backend, with the configured resource, the logs up to the last record before it exits.
TEST_F(SupervisorE2e, OwnTelemetryIsExportedOverOtlp) {
    testing::TestOtlpReceiver backend;
    collectorConfig();
    const std::string exporter =
        "            otlp:\n              protocol: http/protobuf\n"
        "              endpoint: " +
        backend.origin() + "\n";
    auto config = supervisorConfig(
        server_.endpoint("ws"), "  reports_health: true\n  accepts_remote_config: true\n",
        standinAgent(),
        "telemetry:\n  logs:\n    processors:\n      - batch:\n          schedule_delay: 100\n"
        "          exporter:\n" +
            exporter +
            "  metrics:\n    readers:\n      - periodic:\n          interval: 200\n"
            "          exporter:\n" +
            exporter + "  traces:\n    processors:\n      - simple:\n          exporter:\n" +
            exporter +
            "  resource:\n    attributes: [{name: deployment.environment, value: e2e}]\n");
    auto supervisor = startSupervisor(config);
    auto requestsTo = [&](const std::string& path) {
        std::vector<std::string> bodies;
        for (const auto& request : backend.requests()) {
            if (request.path == path) {
                bodies.push_back(request.body);
            }
        }
        return bodies;
    };
    auto resourceOf = [](const auto& resource) {
        std::map<std::string, std::string> attrs;
        for (const auto& kv : resource.attributes()) {
            attrs[kv.key()] = kv.value().string_value();
        }
        return attrs;
    };
    auto logBodies = [&] {
        std::vector<std::string> bodies;
        for (const std::string& body : requestsTo("/v1/logs")) {
            ::opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest message;
            EXPECT_TRUE(message.ParseFromString(body));
            for (const auto& resource : message.resource_logs()) {
                auto attrs = resourceOf(resource.resource());
                EXPECT_EQ(attrs["service.name"], "opamp-supervisor");
                EXPECT_EQ(attrs["deployment.environment"], "e2e");
                for (const auto& scope : resource.scope_logs()) {
                    for (const auto& record : scope.log_records()) {
                        bodies.push_back(record.body().string_value());
                    }
                }
            }
        }
        return bodies;
    };
    auto connectedAndSending = [&] {
        auto bodies = requestsTo("/v1/metrics");
        for (auto it = bodies.rbegin(); it != bodies.rend(); ++it) {
            ::opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest message;
            EXPECT_TRUE(message.ParseFromString(*it));
            std::map<std::string, std::int64_t> values;
            for (const auto& resource : message.resource_metrics()) {
                for (const auto& scope : resource.scope_metrics()) {
                    for (const auto& metric : scope.metrics()) {
                        for (const auto& point : metric.has_sum() ? metric.sum().data_points()
                                                                  : metric.gauge().data_points()) {
                            std::string key = metric.name();
                            for (const auto& kv : point.attributes()) {
                                key += "." + kv.value().string_value();
                            }
                            values[key] = point.as_int();
                        }
                    }
                }
            }
            return values["opampsupervisor.opamp.connected"] == 1 &&
                   values["opampsupervisor.opamp.messages.sent"] > 0 &&
                   values["opampsupervisor.opamp.messages.received"] > 0 &&
                   values["opampsupervisor.collector.healthy"] == 1;
        }
        return false;
    };
    auto spanNames = [&] {
        std::vector<std::string> names;
        for (const std::string& body : requestsTo("/v1/traces")) {
            ::opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest message;
            EXPECT_TRUE(message.ParseFromString(body));
            for (const auto& resource : message.resource_spans()) {
                for (const auto& scope : resource.scope_spans()) {
                    for (const auto& span : scope.spans()) {
                        names.push_back(span.name());
                    }
                }
            }
        }
        return names;
    };
    ASSERT_TRUE(waitUntil([&] {
        auto bodies = logBodies();
        return std::find(bodies.begin(), bodies.end(), "Collector started") != bodies.end();
    })) << logOf(*supervisor);
    EXPECT_THAT(logBodies(), ::testing::Contains("Supervisor configuration loaded"));
    EXPECT_TRUE(waitUntil(connectedAndSending)) << "no metrics of a connected, healthy agent";
    EXPECT_TRUE(waitUntil([&] {
        return !spanNames().empty() && spanNames().front() == "GetBootstrapInfo";
    })) << "no bootstrap span";

    // A remote config: onMessage, and under it processRemoteConfigMessage until APPLIED.
    const std::string uid = instanceUid();
    server_.pushConfig(uid, "", readFile(dir_.path() / "collector.yaml"));
    auto spanNamed = [&](const std::string& name) {
        std::optional<::opentelemetry::proto::trace::v1::Span> found;
        for (const std::string& body : requestsTo("/v1/traces")) {
            ::opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest message;
            EXPECT_TRUE(message.ParseFromString(body));
            for (const auto& resource : message.resource_spans()) {
                for (const auto& scope : resource.scope_spans()) {
                    for (const auto& span : scope.spans()) {
                        if (span.name() == name) {
                            found = span;
                        }
                    }
                }
            }
        }
        return found;
    };
    ASSERT_TRUE(waitUntil([&] { return spanNamed("processRemoteConfigMessage").has_value(); }))
        << logOf(*supervisor);
    auto apply = *spanNamed("processRemoteConfigMessage");
    auto message = spanNamed("onMessage");
    ASSERT_TRUE(message);
    EXPECT_EQ(apply.parent_span_id(), message->span_id());
    EXPECT_EQ(apply.trace_id(), message->trace_id());
    EXPECT_NE(apply.status().code(), ::opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
    supervisor->signal(SIGTERM);
    ASSERT_EQ(supervisor->waitExit(), 0);
    EXPECT_THAT(logBodies(), ::testing::Contains("Shutdown complete"));
}

// An OTLP backend that is down changes nothing for the supervisor: the collector runs and
// reports, and the exit is not held up for long.
TEST_F(SupervisorE2e, AnOtlpBackendThatIsDownChangesNothing) {
    std::string gone;
    {
        testing::TestOtlpReceiver backend;
        gone = backend.origin();
    }
    collectorConfig();
    const std::string exporter =
        "            otlp:\n              endpoint: " + gone + "\n              timeout: 1000\n";
    auto config = supervisorConfig(
        server_.endpoint("ws"), "  reports_health: true\n", standinAgent(),
        "telemetry:\n  logs:\n    processors:\n      - simple:\n          exporter:\n" + exporter +
            "  metrics:\n    readers:\n      - periodic:\n          interval: 100\n"
            "          exporter:\n" +
            exporter);
    auto supervisor = startSupervisor(config);
    ASSERT_FALSE(healthyAgent(*supervisor).empty());
    ASSERT_TRUE(waitUntil([&] { return dataLines() >= 3; })) << logOf(*supervisor);
    const auto stopping = std::chrono::steady_clock::now();
    supervisor->signal(SIGTERM);
    ASSERT_EQ(supervisor->waitExit(std::chrono::seconds(20)), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - stopping, std::chrono::seconds(10));
    EXPECT_THAT(logOf(*supervisor), HasSubstr("OTLP export to " + gone));
}

// S10: a collector that never connects (here a program without the opamp extension) gives
// an error that names the endpoint, the extension and the collector's last output; the
// supervisor reports it as health and keeps running.
TEST_F(SupervisorE2e, BootstrapFailureNamesTheEndpointAndTheCollectorsLastOutput) {
    auto fake = dir_.write("otelcol-without-opamp",
                           "#!/bin/sh\necho 'this collector has no opamp extension' >&2\n"
                           "exec sleep 600\n");
    std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
    auto config = supervisorConfig(
        server_.endpoint("ws"), "  reports_health: true\n",
        "  executable: " + fake.string() + "\n  bootstrap_timeout: 1s\n  stop_timeout: 2s\n");
    auto supervisor = startSupervisor(config);
    const std::string uid = instanceUid();
    ASSERT_FALSE(uid.empty());

    auto failed = waitForHealth(uid, [](const pb::ComponentHealth& h) {
        return !h.healthy() && h.last_error().find("bootstrap failed") != std::string::npos;
    });
    ASSERT_TRUE(failed) << logOf(*supervisor);
    EXPECT_THAT(failed->last_error(), HasSubstr("never connected to the supervisor's OpAMP "
                                                "server at ws://127.0.0.1:"));
    EXPECT_THAT(failed->last_error(), HasSubstr("opamp extension"));
    EXPECT_THAT(failed->last_error(), HasSubstr("this collector has no opamp extension"));
    EXPECT_THAT(logOf(*supervisor), HasSubstr("Bootstrap failed"));

    // The server still learns who this is, from what the supervisor knows itself.
    auto described = server_.waitForAgentMessages(
        uid, [](const pb::AgentToServer& m) { return m.has_agent_description(); }, 1);
    ASSERT_FALSE(described.empty());
    auto identifying = attributes(described.front().agent_description().identifying_attributes());
    EXPECT_EQ(identifying["service.name"], "otelcol-without-opamp");
    EXPECT_EQ(identifying["service.instance.id"], uid);

    supervisor->signal(SIGTERM);
    auto code = supervisor->waitExit();
    ASSERT_TRUE(code);
    EXPECT_EQ(*code, 0);
}

// A crashing collector is restarted with backoff, and each crash is reported as health
// with the exit code and when the next attempt comes.
TEST_F(SupervisorE2e, CrashingCollectorIsRestartedWithBackoffAndReported) {
    collectorConfig("    crash_after: 200ms\n    exit_code: 3\n");
    auto config = supervisorConfig(server_.endpoint("ws"), "  reports_health: true\n",
                                   standinAgent("  restart_backoff:\n"
                                                "    initial_interval: 100ms\n"
                                                "    max_interval: 400ms\n"));
    auto supervisor = startSupervisor(config);
    const std::string uid = instanceUid();
    ASSERT_FALSE(uid.empty());

    auto crashed = waitForHealth(uid, [](const pb::ComponentHealth& h) {
        return !h.healthy() && h.last_error().find("attempt 3") != std::string::npos;
    });
    ASSERT_TRUE(crashed) << logOf(*supervisor);
    EXPECT_THAT(crashed->last_error(), HasSubstr("the collector exited with exit code 3"));
    EXPECT_THAT(crashed->last_error(), HasSubstr("restarting in"));
    // The bootstrap run and at least three runs after it.
    EXPECT_GE(collectorPids(*supervisor).size(), 4U);
}

// A collector that ignores SIGTERM is killed after agent.stop_timeout, and the supervisor
// still stops in order.
TEST_F(SupervisorE2e, CollectorIgnoringStopIsKilledAfterTheStopTimeout) {
    collectorConfig("    ignore_stop_signal: true\n");
    auto config = supervisorConfig(server_.endpoint("ws"), "  reports_health: true\n",
                                   standinAgent("  stop_timeout: 1s\n"));
    auto supervisor = startSupervisor(config);
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const long collector = collectorPids(*supervisor).back();

    supervisor->signal(SIGTERM);
    auto code = supervisor->waitExit();
    ASSERT_TRUE(code) << logOf(*supervisor);
    EXPECT_EQ(*code, 0);
    EXPECT_FALSE(processAlive(static_cast<pid_t>(collector)));
    EXPECT_THAT(logOf(*supervisor), HasSubstr("The collector did not stop in time; killing it"));
    EXPECT_EQ(server_
                  .waitForAgentMessages(
                      uid, [](const pb::AgentToServer& m) { return m.has_agent_disconnect(); }, 1)
                  .size(),
              1U);
}

// No server: the collector runs anyway, and the supervisor connects when one appears.
TEST_F(SupervisorE2e, CollectorRunsWhileTheServerIsUnreachable) {
    collectorConfig();
    // A port nothing listens on: the dev server's, after it is stopped.
    std::string endpoint = server_.endpoint("ws");
    server_.server().stop();
    auto config = supervisorConfig(endpoint, "  reports_health: true\n", standinAgent());
    auto supervisor = startSupervisor(config);
    ASSERT_TRUE(waitUntil([&] { return dataLines() >= 3; })) << logOf(*supervisor);
    EXPECT_THAT(logOf(*supervisor), Not(HasSubstr("Connected to the OpAMP server")));

    server_.restart();
    const std::string uid = instanceUid();
    EXPECT_TRUE(server_.waitForAgent(
        uid, [](const Poco::JSON::Object& agent) { return agent.getValue<bool>("connected"); },
        std::chrono::seconds(30)))
        << logOf(*supervisor);
}

// agent.env adds to the environment the collector inherits and agent.env_unset removes from
// it; the stand-in expands them in its config as the collector does.
// S3 with agent.startup_fallback_configs: with no remote config persisted and the server
// down, the fallback runs instead of the local config; the first connection switches to the
// local config, and a later outage does not bring the fallback back.
TEST_F(SupervisorE2e, StartupFallbackRunsUntilTheFirstConnection) {
    collectorConfig();
    const auto fallbackData = dir_.path() / "fallback.jsonl";
    const auto fallback =
        dir_.write("fallback.yaml",
                   "receivers:\n  standin:\n    interval: 50ms\nexporters:\n  file:\n"
                   "    path: " +
                       fallbackData.string() +
                       "\nservice:\n  pipelines:\n    logs:\n      receivers: [standin]\n"
                       "      exporters: [file]\n");
    std::string endpoint = server_.endpoint("ws");
    server_.server().stop();
    auto config =
        supervisorConfig(endpoint, "  reports_health: true\n  accepts_remote_config: true\n",
                         standinAgent("  startup_fallback_configs: [" + fallback.string() + "]\n"));
    auto supervisor = startSupervisor(config);
    ASSERT_TRUE(waitUntil([&] { return testing::completeLines(fallbackData).size() >= 3; }))
        << logOf(*supervisor);
    EXPECT_EQ(dataLines(), 0U) << "the local config runs beside the fallback";

    server_.restart();
    ASSERT_TRUE(waitUntil([&] { return dataLines() >= 3; }, std::chrono::seconds(30)))
        << logOf(*supervisor);
    const std::size_t fallbackLines = testing::completeLines(fallbackData).size();
    server_.server().stop();
    const std::size_t before = dataLines();
    EXPECT_TRUE(waitUntil([&] { return dataLines() > before + 3; }));
    EXPECT_EQ(testing::completeLines(fallbackData).size(), fallbackLines);
}

// healthcheck: GET /health answers 200 once the collector's config is composed, even while
// the OpAMP server is unreachable (upstream's BackendConnError case).
TEST_F(SupervisorE2e, HealthEndpointIsUpWhileTheServerIsUnreachable) {
    collectorConfig();
    std::uint16_t port = 0;
    {
        Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
        port = probe.address().port();
    }
    std::string endpoint = server_.endpoint("ws");
    server_.server().stop();
    auto supervisor = startSupervisor(
        supervisorConfig(endpoint, "  reports_health: true\n", standinAgent(),
                         "healthcheck:\n  endpoint: 127.0.0.1:" + std::to_string(port) + "\n"));
    ASSERT_TRUE(waitUntil([&] { return dataLines() >= 1; })) << logOf(*supervisor);
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    Poco::Net::HTTPRequest request("GET", "/health", Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::ostringstream body;
    Poco::StreamCopier::copyStream(session.receiveResponse(response), body);
    EXPECT_EQ(response.getStatus(), Poco::Net::HTTPResponse::HTTP_OK);
    EXPECT_EQ(body.str(), "OK\n");
}

// As upstream: a fallback config the collector refuses stops the start, in its own words.
TEST_F(SupervisorE2e, AStartupFallbackTheCollectorRefusesStopsTheStart) {
    collectorConfig();
    const auto fallback = dir_.write("fallback.yaml", "receivers:\n  nosuch: {}\n");
    auto supervisor = startSupervisor(supervisorConfig(
        server_.endpoint("ws"), "  reports_health: true\n",
        standinAgent("  startup_fallback_configs: [" + fallback.string() + "]\n")));
    EXPECT_EQ(supervisor->waitExit(), 1);
    EXPECT_THAT(logOf(*supervisor),
                HasSubstr("agent.startup_fallback_configs: the collector refused them: "));
    EXPECT_THAT(logOf(*supervisor), HasSubstr("unknown type: \\\"nosuch\\\""));
}

TEST_F(SupervisorE2e, CollectorEnvironmentIsTheSupervisorsPlusEnvMinusEnvUnset) {
    dir_.write("collector.yaml",
               "receivers:\n  standin:\n    interval: 50ms\nexporters:\n  file:\n    path: " +
                   (dir_.path() / "${env:E2E_ADDED}-${env:E2E_KEPT}-${env:E2E_REMOVED:-removed}")
                       .string() +
                   "\nservice:\n  pipelines:\n    metrics:\n      receivers: [standin]\n"
                   "      exporters: [file]\n");
    auto config = supervisorConfig(server_.endpoint("ws"), "  reports_health: true\n",
                                   standinAgent("  env:\n    E2E_ADDED: added\n"
                                                "  env_unset: [E2E_REMOVED]\n"));
    auto supervisor = std::make_unique<Child>(
        dir_, OPAMPSUPERVISOR_PATH, std::vector<std::string>{"--config", config.string()},
        std::map<std::string, std::string>{{"E2E_KEPT", "kept"}, {"E2E_REMOVED", "present"}});
    EXPECT_TRUE(waitUntil([&] {
        return std::filesystem::exists(dir_.path() / "added-kept-removed");
    })) << logOf(*supervisor);
}

// A Unix-socket local server is accepted by the config loader but not served yet: the
// supervisor refuses to start rather than ignore the setting.
TEST_F(SupervisorE2e, UnixSocketLocalServerIsRefusedAtStart) {
    collectorConfig();
    auto config = supervisorConfig(
        server_.endpoint("ws"), "  reports_health: true\n",
        standinAgent("  opamp_server_socket:\n    transport: unix\n    endpoint: " +
                     (dir_.path() / "opamp.sock").string() + "\n"));
    auto supervisor = startSupervisor(config);
    auto code = supervisor->waitExit();
    ASSERT_TRUE(code);
    EXPECT_EQ(*code, 1);
    EXPECT_THAT(logOf(*supervisor), HasSubstr("agent.opamp_server_socket: this build serves"));
    EXPECT_TRUE(collectorPids(*supervisor).empty());
}

// The server's Restart command restarts the collector; it is not reported as a crash.
TEST_F(SupervisorE2e, RestartCommandRestartsTheCollector) {
    collectorConfig();
    auto config = supervisorConfig(server_.endpoint("ws"),
                                   "  reports_health: true\n  accepts_restart_command: true\n",
                                   standinAgent());
    auto supervisor = startSupervisor(config);
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    auto first = waitForHealth(uid, [](const pb::ComponentHealth& h) { return h.healthy(); });
    ASSERT_TRUE(first);
    const std::size_t before = collectorPids(*supervisor).size();
    server_.restart(uid);
    ASSERT_TRUE(waitUntil([&] { return collectorPids(*supervisor).size() == before + 1; }))
        << logOf(*supervisor);
    // The new process is admitted by the supervisor's OpAMP server and reports its own
    // health (a later start time): it was given the new launch secret.
    EXPECT_TRUE(waitForHealth(uid, [&](const pb::ComponentHealth& h) {
        return h.healthy() && h.start_time_unix_nano() > first->start_time_unix_nano();
    })) << logOf(*supervisor);
    EXPECT_THAT(logOf(*supervisor), HasSubstr("Restarting the collector at the server's request"));
    EXPECT_THAT(logOf(*supervisor), Not(HasSubstr("the collector exited")));
    EXPECT_THAT(logOf(*supervisor), Not(HasSubstr("Refused a connection")));
}

// Under systemd (Type=notify with WatchdogSec): READY=1 once the collector runs, the status
// as it changes, watchdog pings from the supervisor's loop, then STOPPING=1 on SIGINT and an
// orderly exit 0 well within the stop timeout (S16).
TEST_F(SupervisorE2e, TellsSystemdReadyStatusWatchdogAndStopping) {
    collectorConfig();
    auto config =
        supervisorConfig(server_.endpoint("ws"), "  reports_health: true\n", standinAgent());
    testing::NotifySocket systemd(dir_.path());
    Child supervisor(dir_, OPAMPSUPERVISOR_PATH, {"--config", config.string()},
                     {{"NOTIFY_SOCKET", systemd.address()}, {"WATCHDOG_USEC", "400000"}});
    auto startsWith = [](const std::string& prefix) {
        return [prefix](const std::string& m) { return m.rfind(prefix, 0) == 0; };
    };
    auto ready = systemd.waitFor(startsWith("READY=1"), kDeadline);
    ASSERT_TRUE(ready) << logOf(supervisor);
    EXPECT_THAT(*ready, HasSubstr("\nSTATUS=Collector running (pid "));
    EXPECT_THAT(*ready, HasSubstr("\nMAINPID=" + std::to_string(supervisor.pid())));
    const std::string uid = healthyAgent(supervisor);
    ASSERT_FALSE(uid.empty());
    EXPECT_TRUE(systemd.waitFor(
        [](const std::string& m) {
            return m.find("STATUS=Collector running") == 0 &&
                   m.find("), healthy; OpAMP server connected") != std::string::npos;
        },
        kDeadline))
        << logOf(supervisor);
    // Every 200 ms: a few arrive within a couple of seconds.
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(systemd.waitFor(startsWith("WATCHDOG=1"), std::chrono::seconds(2)))
            << logOf(supervisor);
    }
    EXPECT_THAT(logOf(supervisor), HasSubstr("Sending the service manager a sign of life"));

    const long collector = collectorPids(supervisor).back();
    const auto asked = std::chrono::steady_clock::now();
    supervisor.signal(SIGINT);
    auto stopping = systemd.waitFor(startsWith("STOPPING=1"), kDeadline);
    ASSERT_TRUE(stopping) << logOf(supervisor);
    EXPECT_THAT(*stopping, HasSubstr("STATUS=Stopping"));
    auto code = supervisor.waitExit();
    ASSERT_TRUE(code) << logOf(supervisor);
    EXPECT_EQ(*code, 0) << logOf(supervisor);
    EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(10))
        << "within agent.stop_timeout (10 s): the collector stopped when asked";
    EXPECT_FALSE(processAlive(static_cast<pid_t>(collector)));
    EXPECT_EQ(server_
                  .waitForAgentMessages(
                      uid, [](const pb::AgentToServer& m) { return m.has_agent_disconnect(); }, 1)
                  .size(),
              1U);
    EXPECT_EQ(
        std::count_if(systemd.received().begin(), systemd.received().end(), startsWith("READY=1")),
        1);
}

// server.auth end to end, over both transports: the server only lets in agents that send
// an accepted Authorization header.
class Auth : public SupervisorE2e, public ::testing::WithParamInterface<std::string> {
  protected:
    std::unique_ptr<Child> startWithAuth(const std::string& id, const std::string& settings) {
        collectorConfig();
        // Polls every second over HTTP (the server's heartbeat offer, which needs the
        // capability), so a refusal is met soon.
        server_.offerHeartbeatInterval(1);
        auto config = dir_.write(
            "supervisor.yaml",
            "server:\n  endpoint: " + server_.endpoint(GetParam()) + "\n  auth: " + id +
                "\ncapabilities:\n  reports_health: true\n  accepts_opamp_connection_settings: "
                "true\n" +
                "agent:\n" + standinAgent() + "storage:\n  directory: " + storage().string() +
                "\nextensions:\n  " + id + ":\n" + settings);
        return std::make_unique<Child>(
            dir_, OPAMPSUPERVISOR_PATH,
            std::vector<std::string>{"--config", config.string(), "--feature-gates",
                                     "opampsupervisor.Extensions"});
    }
};

// The token opens the connection; when the server stops taking it (it expired early or was
// revoked), the 401 makes the supervisor fetch a new one and get back in. No token is logged.
TEST_P(Auth, AnOAuth2TokenIsFetchedAndRenewedWhenTheServerRefusesIt) {
    testing::TestTokenServer tokens;
    server_.requireAuthorization({"Bearer tok-1"});
    auto supervisor = startWithAuth("oauth2client",
                                    "    client_id: supervisor\n"
                                    "    client_secret: s3cret\n"
                                    "    token_url: " +
                                        tokens.url() + "\n");
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    EXPECT_EQ(tokens.grants(), 1);

    server_.requireAuthorization({"Bearer tok-2"});
    server_.restart();  // a new server: every agent connects (or polls) again
    EXPECT_TRUE(waitUntil([&] { return !server_.agentMessages(uid).empty(); }))
        << logOf(*supervisor);
    EXPECT_EQ(tokens.grants(), 2);
    EXPECT_THAT(logOf(*supervisor), HasSubstr("HTTP 401"));
    EXPECT_THAT(logOf(*supervisor), Not(HasSubstr("tok-")));
}

INSTANTIATE_TEST_SUITE_P(Transports, Auth, ::testing::Values("ws", "http"));

// A bearer token from a file, read at each connect.
TEST_F(SupervisorE2e, ABearerTokenFileAuthenticatesTheSupervisor) {
    auto token = dir_.write("token", "from-file\n");
    server_.requireAuthorization({"Bearer from-file"});
    collectorConfig();
    auto config =
        dir_.write("supervisor.yaml",
                   "server:\n  endpoint: " + server_.endpoint("ws") +
                       "\n  auth: bearertokenauth\ncapabilities:\n  reports_health: "
                       "true\nagent:\n" +
                       standinAgent() + "storage:\n  directory: " + storage().string() +
                       "\nextensions:\n  bearertokenauth:\n    filename: " + token.string() + "\n");
    Child supervisor(
        dir_, OPAMPSUPERVISOR_PATH,
        {"--config", config.string(), "--feature-gates", "opampsupervisor.Extensions"});
    EXPECT_FALSE(healthyAgent(supervisor).empty());
}

// A token server that cannot be reached: the supervisor says so, keeps retrying with
// backoff, and runs the collector meanwhile.
TEST_F(SupervisorE2e, ATokenServerThatIsDownIsReportedAndTheCollectorRuns) {
    std::uint16_t closedPort = 0;
    {
        Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
        closedPort = probe.address().port();
    }
    server_.requireAuthorization({"Bearer never"});
    collectorConfig();
    auto config = dir_.write(
        "supervisor.yaml",
        "server:\n  endpoint: " + server_.endpoint("ws") + "\n  auth: oauth2client\nagent:\n" +
            standinAgent() + "storage:\n  directory: " + storage().string() +
            "\nextensions:\n  oauth2client:\n    client_id: a\n    client_secret: b\n"
            "    token_url: http://127.0.0.1:" +
            std::to_string(closedPort) + "/token\n");
    Child supervisor(
        dir_, OPAMPSUPERVISOR_PATH,
        {"--config", config.string(), "--feature-gates", "opampsupervisor.Extensions"});
    EXPECT_TRUE(waitUntil([&] {
        return logOf(supervisor)
                   .find(
                       "cannot authenticate to the OpAMP server: cannot reach "
                       "the token server http://127.0.0.1:" +
                       std::to_string(closedPort)) != std::string::npos;
    })) << logOf(supervisor);
    EXPECT_TRUE(waitUntil([&] { return dataLines() >= 2; })) << logOf(supervisor);
}

// Remote configuration (the first part of S1, S3, S4 and S6): a pushed config is applied
// as a transaction and reported truthfully; a bad one fails with the collector's own words
// and the last working config runs again.
class RemoteConfig : public SupervisorE2e, public ::testing::WithParamInterface<std::string> {
  protected:
    // Over HTTP a pushed config waits for the next poll: the server offers a 1 s heartbeat
    // (the polling interval), as a real server would for a responsive fleet.
    void SetUp() override { server_.offerHeartbeatInterval(1); }

    std::filesystem::path remoteConfig(const std::string& agentExtra = "",
                                       const std::string& otherSections = "",
                                       const std::string& extraCapabilities = "") {
        return supervisorConfig(server_.endpoint(GetParam()),
                                "  reports_health: true\n  reports_effective_config: true\n"
                                "  accepts_remote_config: true\n"
                                "  accepts_opamp_connection_settings: true\n" +
                                    extraCapabilities,
                                std::string("  executable: ") + OTELCOL_STANDIN_PATH +
                                    "\n  config_apply_timeout: 3s\n" + agentExtra,
                                otherSections);
    }

    std::string producing(const std::filesystem::path& out, const std::string& extra = "") {
        return "receivers:\n  standin:\n    interval: 50ms\n" + extra +
               "exporters:\n  file:\n    path: " + out.string() +
               "\nservice:\n  pipelines:\n    traces:\n      receivers: [standin]\n"
               "      exporters: [file]\n";
    }

    // The statuses the agent reported for `hash`, in order.
    std::vector<pb::RemoteConfigStatuses> statuses(const std::string& uid,
                                                   const std::string& hash) {
        std::vector<pb::RemoteConfigStatuses> out;
        for (const auto& m : server_.agentMessages(uid)) {
            if (m.has_remote_config_status() &&
                opamp::hex(m.remote_config_status().last_remote_config_hash()) == hash &&
                (out.empty() || out.back() != m.remote_config_status().status())) {
                out.push_back(m.remote_config_status().status());
            }
        }
        return out;
    }
};

TEST_P(RemoteConfig, AppliedThenUnchangedThenBadThenRestoredAcrossARestart) {
    auto config = remoteConfig();
    auto supervisor = startSupervisor(config);
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());

    // S1: APPLYING, then APPLIED once the collector runs it healthy; data flows.
    const auto good = dir_.path() / "good.jsonl";
    const std::string hash = server_.pushConfig(uid, "", producing(good));
    ASSERT_TRUE(waitForStatus(uid, hash, pb::RemoteConfigStatuses_APPLIED)) << logOf(*supervisor);
    EXPECT_EQ(statuses(uid, hash),
              (std::vector<pb::RemoteConfigStatuses>{pb::RemoteConfigStatuses_APPLYING,
                                                     pb::RemoteConfigStatuses_APPLIED}));
    ASSERT_TRUE(waitUntil([&] { return testing::completeLines(good).size() >= 3; }))
        << logOf(*supervisor);
    auto effective = server_.waitForAgentMessages(
        uid,
        [&](const pb::AgentToServer& m) {
            return m.has_effective_config() &&
                   m.effective_config().config_map().config_map().count("") == 1 &&
                   m.effective_config().config_map().config_map().at("").body().find(
                       good.string()) != std::string::npos;
        },
        1);
    EXPECT_FALSE(effective.empty()) << "the effective config lacks the remote keys";
    // The persisted files hold exactly what the server sent, and the status as upstream has it.
    std::string sent;
    for (const auto& m : server_.serverMessages(uid)) {
        if (m.has_remote_config() && opamp::hex(m.remote_config().config_hash()) == hash) {
            sent = m.remote_config().SerializeAsString();
        }
    }
    ASSERT_FALSE(sent.empty());
    EXPECT_EQ(readFile(storage() / "last_recv_remote_config.dat"), sent);
    EXPECT_EQ(readFile(storage() / "last_working_remote_config.dat"), sent);
    EXPECT_EQ(readFile(storage() / "persistent_state.yaml"),
              "instance_id: " + uid +
                  "\nlast_remote_config_status:\n  status: 1\n"
                  "  last_remote_config_hash: " +
                  hash + "\n  error_message: \"\"\n");

    // S6: the same config again changes nothing and restarts nothing.
    const std::size_t runs = collectorPids(*supervisor).size();
    server_.pushConfig(uid, "", producing(good));
    EXPECT_TRUE(waitUntil([&] {
        return server_.agent(uid)
                   ->getObject("remote_config_status")
                   ->getValue<std::string>("status") == "RemoteConfigStatuses_APPLIED";
    }));
    EXPECT_EQ(collectorPids(*supervisor).size(), runs);

    // S4: an unknown component fails with the collector's error, and the good one runs again.
    const std::string bad = server_.pushConfig(uid, "",
                                               producing(dir_.path() / "bad.jsonl") +
                                                   "processors:\n"
                                                   "  nosuch: {}\n");
    auto failed = waitForStatus(uid, bad, pb::RemoteConfigStatuses_FAILED);
    ASSERT_TRUE(failed) << logOf(*supervisor);
    EXPECT_THAT(failed->error_message(), HasSubstr("the collector refused the config: "));
    EXPECT_THAT(failed->error_message(), HasSubstr("unknown type: \"nosuch\""));
    // `validate` caught it: it never ran, so it was never APPLYING and nothing restarted.
    EXPECT_EQ(statuses(uid, bad),
              (std::vector<pb::RemoteConfigStatuses>{pb::RemoteConfigStatuses_FAILED}));
    EXPECT_EQ(collectorPids(*supervisor).size(), runs);
    EXPECT_TRUE(std::filesystem::directory_iterator(storage()) !=
                std::filesystem::directory_iterator());
    for (const auto& entry : std::filesystem::directory_iterator(storage())) {
        EXPECT_THAT(entry.path().filename().string(), Not(HasSubstr("validate-config")));
    }
    // S4: a config that passes validate but cannot start fails with the collector's own
    // error, and the last working config runs again.
    const std::string unstartable =
        server_.pushConfig(uid, "", producing("/nonexistent-dir/out.jsonl"));
    failed = waitForStatus(uid, unstartable, pb::RemoteConfigStatuses_FAILED);
    ASSERT_TRUE(failed) << logOf(*supervisor);
    EXPECT_THAT(failed->error_message(),
                HasSubstr("cannot start pipelines: open /nonexistent-dir/out.jsonl: no such file "
                          "or directory"));
    EXPECT_EQ(statuses(uid, unstartable),
              (std::vector<pb::RemoteConfigStatuses>{pb::RemoteConfigStatuses_APPLYING,
                                                     pb::RemoteConfigStatuses_FAILED}));
    // S4: invalid YAML is refused before anything runs.
    const std::string broken = server_.pushConfig(uid, "", "receivers: [unclosed\n");
    failed = waitForStatus(uid, broken, pb::RemoteConfigStatuses_FAILED);
    ASSERT_TRUE(failed) << logOf(*supervisor);
    EXPECT_THAT(failed->error_message(),
                HasSubstr("cannot compose the collector's config: the remote config is not valid "
                          "YAML: line"));
    const std::size_t before = testing::completeLines(good).size();
    EXPECT_TRUE(waitUntil([&] { return testing::completeLines(good).size() > before + 2; }))
        << "the last working config does not run again\n"
        << logOf(*supervisor);

    // S3: a restarted supervisor runs the last working config before any server message.
    supervisor->signal(SIGTERM);
    ASSERT_EQ(supervisor->waitExit(), 0);
    server_.server().stop();
    std::filesystem::remove(good);
    std::map<std::string, std::string> persisted;
    for (const char* name : {"last_recv_remote_config.dat", "last_working_remote_config.dat",
                             "persistent_state.yaml"}) {
        persisted[name] = readFile(storage() / name);
    }
    auto again = startSupervisor(config);
    ASSERT_TRUE(waitUntil([&] { return testing::completeLines(good).size() >= 2; }))
        << logOf(*again);
    // The restart read the persisted state and changed none of it.
    for (const auto& [name, bytes] : persisted) {
        EXPECT_EQ(readFile(storage() / name), bytes) << name;
    }
    EXPECT_EQ(persisted["last_recv_remote_config.dat"], sent)
        << "the refused configs must not have replaced the good one";
}

// A config whose collector does not become healthy in agent.config_apply_timeout fails
// with that reason, and the collector goes back to what ran before.
TEST_P(RemoteConfig, ApplyTimeoutFailsAndRestores) {
    auto config = remoteConfig();
    auto supervisor = startSupervisor(config);
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const std::string slow =
        server_.pushConfig(uid, "", producing(dir_.path() / "slow.jsonl", "    slow_start: 30s\n"));
    auto failed = waitForStatus(uid, slow, pb::RemoteConfigStatuses_FAILED);
    ASSERT_TRUE(failed) << logOf(*supervisor);
    EXPECT_THAT(failed->error_message(),
                HasSubstr("the collector did not become healthy within 3s"));
    EXPECT_TRUE(waitForHealth(uid, [&](const pb::ComponentHealth& h) {
        return h.healthy() && h.start_time_unix_nano() > 0 &&
               collectorPids(*supervisor).size() >= 4;  // bootstrap, first, slow, restored
    })) << logOf(*supervisor);
}

// S15: a config that breaks a local restriction is FAILED naming the rule, the component
// and the key, while the collector keeps running what it ran; a restart does not run it.
TEST_P(RemoteConfig, RestrictionsRefuseAConfigWithoutTouchingTheCollector) {
    auto config = remoteConfig("", "remote_config_restrictions:\n  allowed_path_prefixes: [" +
                                       dir_.path().string() +
                                       "]\n  components:\n    receivers:\n      deny: [host*]\n");
    auto supervisor = startSupervisor(config);
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const auto good = dir_.path() / "good.jsonl";
    const std::string hash = server_.pushConfig(uid, "", producing(good));
    ASSERT_TRUE(waitForStatus(uid, hash, pb::RemoteConfigStatuses_APPLIED)) << logOf(*supervisor);
    const std::size_t runs = collectorPids(*supervisor).size();

    const std::string outside = server_.pushConfig(uid, "", producing("/var/tmp/elsewhere.jsonl"));
    auto refused = waitForStatus(uid, outside, pb::RemoteConfigStatuses_FAILED);
    ASSERT_TRUE(refused) << logOf(*supervisor);
    EXPECT_EQ(refused->error_message(),
              "remote_config_restrictions.allowed_path_prefixes: remote config file \"\": "
              "exporters::file::path is \"/var/tmp/elsewhere.jsonl\", which is not under " +
                  dir_.path().string());

    const std::string secret =
        server_.pushConfig(uid, "", producing(good, "    attributes:\n      key: ${env:HOME}\n"));
    auto providers = waitForStatus(uid, secret, pb::RemoteConfigStatuses_FAILED);
    ASSERT_TRUE(providers) << logOf(*supervisor);
    EXPECT_THAT(providers->error_message(),
                HasSubstr("remote_config_restrictions.allowed_config_providers: "));

    const std::string denied =
        server_.pushConfig(uid, "", "receivers:\n  hostmetrics: {}\n" + producing(good).substr(11));
    auto component = waitForStatus(uid, denied, pb::RemoteConfigStatuses_FAILED);
    ASSERT_TRUE(component) << logOf(*supervisor);
    EXPECT_THAT(component->error_message(),
                HasSubstr("components.receivers.deny: remote config file \"\": receiver "
                          "\"hostmetrics\" has the type \"hostmetrics\", which is denied"));
    EXPECT_EQ(collectorPids(*supervisor).size(), runs);
    const std::size_t before = testing::completeLines(good).size();
    EXPECT_TRUE(waitUntil([&] { return testing::completeLines(good).size() > before + 2; }));

    // A refused config never becomes the last received one: a restart cannot run it.
    {
        storage::StateStore store(storage());
        remoteconfig::Loaded saved = remoteconfig::loadRemoteConfigFiles(store);
        ASSERT_TRUE(saved.lastReceived);
        EXPECT_EQ(opamp::hex(saved.lastReceived->config_hash()), hash);
    }
    // The refusal is persisted as upstream persists statuses, and a restart runs the good
    // config and says at once that the refused one FAILED.
    YAML::Node state = YAML::LoadFile((storage() / "persistent_state.yaml").string());
    EXPECT_EQ(state["last_remote_config_status"]["status"].as<int>(), 3);
    EXPECT_EQ(state["last_remote_config_status"]["last_remote_config_hash"].as<std::string>(),
              denied);
    supervisor->signal(SIGTERM);
    ASSERT_EQ(supervisor->waitExit(), 0);
    const std::size_t messages = server_.agentMessages(uid).size();
    std::filesystem::remove(good);
    auto again = startSupervisor(config);
    ASSERT_TRUE(waitUntil([&] { return testing::completeLines(good).size() >= 2; }))
        << logOf(*again);
    ASSERT_TRUE(waitUntil([&] { return server_.agentMessages(uid).size() > messages; }));
    const pb::AgentToServer first = server_.agentMessages(uid).at(messages);
    EXPECT_EQ(first.remote_config_status().status(), pb::RemoteConfigStatuses_FAILED);
    EXPECT_EQ(opamp::hex(first.remote_config_status().last_remote_config_hash()), denied);
}

// S6, second half: an empty config map stops the collector, is APPLIED and healthy; the
// next config starts it again.
TEST_P(RemoteConfig, EmptyConfigMapStopsTheCollector) {
    auto supervisor = startSupervisor(remoteConfig());
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const auto out = dir_.path() / "out.jsonl";
    const std::string hash = server_.pushConfig(uid, "", producing(out));
    ASSERT_TRUE(waitForStatus(uid, hash, pb::RemoteConfigStatuses_APPLIED)) << logOf(*supervisor);
    const long running = collectorPids(*supervisor).back();

    const std::size_t messages = server_.agentMessages(uid).size();
    const std::string empty = server_.pushConfig(uid, "", "");
    ASSERT_TRUE(waitForStatus(uid, empty, pb::RemoteConfigStatuses_APPLIED)) << logOf(*supervisor);
    EXPECT_TRUE(waitUntil([&] { return !processAlive(static_cast<pid_t>(running)); }));
    EXPECT_TRUE(waitUntil([&] {
        auto all = server_.agentMessages(uid);
        return std::any_of(all.begin() + static_cast<std::ptrdiff_t>(messages), all.end(),
                           [](const pb::AgentToServer& m) {
                               return m.has_health() && m.health().healthy() &&
                                      m.health().last_error().empty();
                           });
    })) << "no healthy report after the collector stopped";

    const std::string back = server_.pushConfig(uid, "", producing(dir_.path() / "again.jsonl"));
    ASSERT_TRUE(waitForStatus(uid, back, pb::RemoteConfigStatuses_APPLIED)) << logOf(*supervisor);
    EXPECT_TRUE(processAlive(static_cast<pid_t>(collectorPids(*supervisor).back())));
}

// S5: with a soak period, a config that turns unhealthy or crashes after its first healthy
// report is FAILED and rolled back, and the rollback is reported truthfully.
TEST_P(RemoteConfig, TurningBadWithinTheSoakPeriodFailsAndRollsBack) {
    auto supervisor = startSupervisor(remoteConfig("  config_soak_period: 3s\n"));
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const auto good = dir_.path() / "good.jsonl";
    const std::string hash = server_.pushConfig(uid, "", producing(good));
    ASSERT_TRUE(waitForStatus(uid, hash, pb::RemoteConfigStatuses_APPLIED)) << logOf(*supervisor);

    const std::string sick = server_.pushConfig(
        uid, "", producing(dir_.path() / "sick.jsonl", "    unhealthy_after: 300ms\n"));
    auto failed = waitForStatus(uid, sick, pb::RemoteConfigStatuses_FAILED);
    ASSERT_TRUE(failed) << logOf(*supervisor);
    EXPECT_THAT(failed->error_message(),
                HasSubstr("the collector turned unhealthy within the soak period of 3s"));
    std::size_t before = testing::completeLines(good).size();
    EXPECT_TRUE(waitUntil([&] { return testing::completeLines(good).size() > before + 2; }))
        << "the last working config does not run again\n"
        << logOf(*supervisor);

    const std::string crashing = server_.pushConfig(
        uid, "", producing(dir_.path() / "crash.jsonl", "    crash_after: 300ms\n"));
    failed = waitForStatus(uid, crashing, pb::RemoteConfigStatuses_FAILED);
    ASSERT_TRUE(failed) << logOf(*supervisor);
    EXPECT_THAT(failed->error_message(), HasSubstr("the collector exited with exit code 2"));
    before = testing::completeLines(good).size();
    EXPECT_TRUE(waitUntil([&] { return testing::completeLines(good).size() > before + 2; }))
        << "the last working config does not run again\n"
        << logOf(*supervisor);
    EXPECT_EQ(statuses(uid, hash).back(), pb::RemoteConfigStatuses_APPLIED);
}

// S7: a config that turned healthy (so APPLIED) but then crashes again and again with no
// stable run is FAILED with the reason, and the config before it runs again.
TEST_P(RemoteConfig, ACrashLoopAfterApplyRollsBack) {
    auto supervisor = startSupervisor(
        remoteConfig("  restart_backoff:\n    initial_interval: 100ms\n    max_interval: 400ms\n"));
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const auto good = dir_.path() / "good.jsonl";
    const std::string hash = server_.pushConfig(uid, "", producing(good));
    ASSERT_TRUE(waitForStatus(uid, hash, pb::RemoteConfigStatuses_APPLIED)) << logOf(*supervisor);

    const std::string looping = server_.pushConfig(
        uid, "", producing(dir_.path() / "loop.jsonl", "    crash_after: 300ms\n"));
    ASSERT_TRUE(waitForStatus(uid, looping, pb::RemoteConfigStatuses_APPLIED))
        << logOf(*supervisor);
    auto failed = waitForStatus(uid, looping, pb::RemoteConfigStatuses_FAILED);
    ASSERT_TRUE(failed) << logOf(*supervisor);
    EXPECT_THAT(failed->error_message(),
                HasSubstr("the collector crashed 3 times on this config after it was applied"));
    EXPECT_THAT(failed->error_message(), HasSubstr("exit code 2"));
    const std::size_t before = testing::completeLines(good).size();
    EXPECT_TRUE(waitUntil([&] { return testing::completeLines(good).size() > before + 2; }))
        << "the config before it does not run again";
    storage::StateStore store(storage());
    remoteconfig::Loaded saved = remoteconfig::loadRemoteConfigFiles(store);
    ASSERT_TRUE(saved.lastWorking);
    EXPECT_EQ(opamp::hex(saved.lastWorking->config_hash()), hash);
}

// S13: own telemetry offers are rendered into the collector's service.telemetry (an OTLP
// http/protobuf exporter per signal), kept across a restart, and removed by an empty
// endpoint.
TEST_P(RemoteConfig, OwnTelemetryOffersReachTheCollectorsConfig) {
    auto config = remoteConfig();
    auto supervisor = startSupervisor(config);
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const std::size_t runs = collectorPids(*supervisor).size();
    server_.offerConnectionSettings(
        uid, R"({"ownMetrics": {"destinationEndpoint": "https://metrics.example.com:4318",
                 "headers": {"headers": [{"key": "X-Tenant", "value": "blue"}]},
                 "tls": {"caPemContents": "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"}}})");
    auto otlpOf = [&] {
        YAML::Node effective = YAML::LoadFile((storage() / "effective.yaml").string());
        return effective["service"]["telemetry"]["metrics"]["readers"][0]["periodic"]["exporter"]
                        ["otlp"];
    };
    ASSERT_TRUE(waitUntil([&] { return otlpOf().IsDefined(); })) << logOf(*supervisor);
    YAML::Node otlp = otlpOf();
    EXPECT_EQ(otlp["endpoint"].as<std::string>(), "https://metrics.example.com:4318");
    EXPECT_EQ(otlp["headers"][0]["name"].as<std::string>(), "X-Tenant");
    EXPECT_EQ(otlp["certificate"].as<std::string>(),
              (storage() / "own_telemetry_metrics_ca.pem").string());
    EXPECT_EQ(permissionsOf(storage() / "own_telemetry_metrics_ca.pem"), 0600);
    EXPECT_TRUE(waitUntil([&] { return collectorPids(*supervisor).size() == runs + 1; }))
        << "the collector was not restarted with its new telemetry";
    ASSERT_TRUE(waitForHealth(uid, [](const pb::ComponentHealth& h) { return h.healthy(); }));

    // Kept across a restart of the supervisor, with the server away.
    supervisor->signal(SIGTERM);
    ASSERT_EQ(supervisor->waitExit(), 0);
    std::filesystem::remove(storage() / "effective.yaml");
    const std::size_t messages = server_.agentMessages(uid).size();
    auto again = startSupervisor(config);
    ASSERT_TRUE(waitUntil([&] { return collectorPids(*again).size() >= 1; })) << logOf(*again);
    ASSERT_TRUE(waitUntil([&] { return otlpOf().IsDefined(); })) << logOf(*again);

    // An empty endpoint takes the section away.
    ASSERT_TRUE(waitUntil([&] { return server_.agentMessages(uid).size() > messages; }));
    server_.offerConnectionSettings(uid, R"({"ownMetrics": {"destinationEndpoint": ""}})");
    EXPECT_TRUE(waitUntil([&] { return !otlpOf().IsDefined(); })) << logOf(*again);
}

// Other connections: what the server offers in other_connections reaches the collector's
// config through ${opamp:other_connections...} references, is kept across a restart, and a
// config that refers to a connection the server has not offered is FAILED, naming it.
TEST_P(RemoteConfig, OtherConnectionsAreResolvedInTheCollectorsConfig) {
    auto config = remoteConfig("", "",
                               "  accepts_other_connection_settings: true\n"
                               "  reports_connection_settings_status: true\n");
    auto supervisor = startSupervisor(config);
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    EXPECT_FALSE(server_
                     .waitForAgentMessages(
                         uid,
                         [](const pb::AgentToServer& m) {
                             return (m.capabilities() &
                                     pb::AgentCapabilities_AcceptsOtherConnectionSettings) != 0;
                         },
                         1)
                     .empty());
    const std::filesystem::path reference("${opamp:other_connections.sink.other_settings.path}");

    const std::string early = server_.pushConfig(uid, "", producing(reference));
    auto failed = waitForStatus(uid, early, pb::RemoteConfigStatuses_FAILED);
    ASSERT_TRUE(failed) << logOf(*supervisor);
    EXPECT_THAT(failed->error_message(),
                HasSubstr("the server has not offered an other connection named \"sink\""));

    const auto first = dir_.path() / "first.jsonl";
    server_.offerConnectionSettings(
        uid, R"({"otherConnections": {"sink": {"otherSettings": {"path": ")" + first.string() +
                 R"("}}}})");
    ASSERT_TRUE(waitUntil([&] {
        return readFile(storage() / "other_connections.dat").find(first.string()) !=
               std::string::npos;
    })) << logOf(*supervisor);
    const std::string hash =
        server_.pushConfig(uid, "", producing(reference, "    log_lines: 0\n"));
    ASSERT_TRUE(waitForStatus(uid, hash, pb::RemoteConfigStatuses_APPLIED)) << logOf(*supervisor);
    ASSERT_TRUE(waitUntil([&] { return testing::completeLines(first).size() >= 3; }))
        << logOf(*supervisor);

    // A new offer moves the data, with the collector restarted on the resolved config.
    const auto second = dir_.path() / "second.jsonl";
    server_.offerConnectionSettings(
        uid, R"({"otherConnections": {"sink": {"otherSettings": {"path": ")" + second.string() +
                 R"("}}}})");
    ASSERT_TRUE(waitUntil([&] { return testing::completeLines(second).size() >= 3; }))
        << logOf(*supervisor);
    EXPECT_EQ(permissionsOf(storage() / "other_connections.dat"), 0600);

    // An offer that takes away what the running config refers to is refused whole.
    const std::string kept = readFile(storage() / "other_connections.dat");
    server_.offerConnectionSettings(
        uid,
        R"({"hash": "CQk=", "otherConnections": {"elsewhere": {"destinationEndpoint": "x"}}})");
    auto refused = server_.waitForAgentMessages(
        uid,
        [](const pb::AgentToServer& m) {
            return m.has_connection_settings_status() &&
                   m.connection_settings_status().status() ==
                       pb::ConnectionSettingsStatuses_FAILED &&
                   opamp::hex(m.connection_settings_status().last_connection_settings_hash()) ==
                       "0909";
        },
        1);
    ASSERT_FALSE(refused.empty()) << logOf(*supervisor);
    EXPECT_THAT(refused.front().connection_settings_status().error_message(),
                HasSubstr("has not offered an other connection named \"sink\""));
    EXPECT_EQ(readFile(storage() / "other_connections.dat"), kept);
    const std::size_t lines = testing::completeLines(second).size();
    EXPECT_TRUE(waitUntil([&] { return testing::completeLines(second).size() > lines + 2; }))
        << "the collector stopped producing";

    // Kept across a restart of the supervisor.
    supervisor->signal(SIGTERM);
    ASSERT_EQ(supervisor->waitExit(), 0);
    std::filesystem::remove(storage() / "effective.yaml");
    auto again = startSupervisor(config);
    ASSERT_TRUE(waitUntil([&] {
        return readFile(storage() / "effective.yaml").find(second.string()) != std::string::npos;
    })) << logOf(*again);
}

// S11: custom capabilities and messages pass between the server and a collector component
// both ways through the supervisor.
TEST_P(RemoteConfig, CustomMessagesTravelBothWays) {
    auto supervisor = startSupervisor(remoteConfig());
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const std::string hash = server_.pushConfig(
        uid, "",
        producing(dir_.path() / "out.jsonl", "    echo_custom_capability: io.example.echo\n"));
    ASSERT_TRUE(waitForStatus(uid, hash, pb::RemoteConfigStatuses_APPLIED)) << logOf(*supervisor);
    ASSERT_FALSE(server_
                     .waitForAgentMessages(
                         uid,
                         [](const pb::AgentToServer& m) {
                             return m.custom_capabilities().capabilities_size() == 1 &&
                                    m.custom_capabilities().capabilities(0) == "io.example.echo";
                         },
                         1)
                     .empty())
        << "the collector's custom capabilities did not reach the server";
    server_.customMessage(uid, "io.example.echo", "ping", "hello");
    auto echoed = server_.waitForAgentMessages(
        uid,
        [](const pb::AgentToServer& m) {
            return m.custom_message().capability() == "io.example.echo" &&
                   m.custom_message().type() == "echo";
        },
        1);
    ASSERT_FALSE(echoed.empty()) << logOf(*supervisor);
    EXPECT_EQ(echoed.front().custom_message().data(), "hello");
}

// S8: a UID the server assigns is adopted: persisted, spoken for by the collector (restarted
// with it), and kept across a restart of the supervisor.
TEST_P(RemoteConfig, AServerAssignedInstanceUidIsAdoptedAndKept) {
    auto config = remoteConfig();
    auto supervisor = startSupervisor(config);
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const std::string assigned = "018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f";
    server_.assignInstanceUid(uid, assigned);
    ASSERT_TRUE(waitForHealth(assigned, [](const pb::ComponentHealth& h) { return h.healthy(); }))
        << logOf(*supervisor);
    EXPECT_EQ(instanceUid(), assigned);
    // The collector is restarted to speak for the new UID.
    EXPECT_TRUE(waitUntil([&] {
        YAML::Node effective = YAML::LoadFile((storage() / "effective.yaml").string());
        return effective["extensions"]["opamp"]["instance_uid"].as<std::string>() == assigned;
    })) << logOf(*supervisor);
    auto described = server_.waitForAgentMessages(
        assigned, [](const pb::AgentToServer& m) { return m.has_agent_description(); }, 1);
    EXPECT_FALSE(described.empty()) << "the description was not sent again under the new UID";

    supervisor->signal(SIGTERM);
    ASSERT_EQ(supervisor->waitExit(), 0);
    const std::size_t before = server_.agentMessages(assigned).size();
    auto again = startSupervisor(config);
    EXPECT_TRUE(waitUntil([&] { return server_.agentMessages(assigned).size() > before; }))
        << logOf(*again);
    EXPECT_EQ(instanceUid(), assigned);
}

// Ours: `opampsupervisor status` shows the running supervisor through its loopback status
// endpoint, and says when none runs.
TEST_P(RemoteConfig, StatusCommandShowsTheRunningSupervisor) {
    auto config = remoteConfig();
    auto supervisor = startSupervisor(config);
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const std::string hash = server_.pushConfig(uid, "", producing(dir_.path() / "out.jsonl"));
    ASSERT_TRUE(waitForStatus(uid, hash, pb::RemoteConfigStatuses_APPLIED)) << logOf(*supervisor);
    ASSERT_TRUE(waitForHealth(uid, [](const pb::ComponentHealth& h) { return h.healthy(); }));

    auto status = [&](std::vector<std::string> extra) {
        std::vector<std::string> args{"status", "--config", config.string()};
        args.insert(args.end(), extra.begin(), extra.end());
        auto child = std::make_unique<Child>(dir_, OPAMPSUPERVISOR_PATH, args);
        child->waitExit();
        return child;
    };
    std::unique_ptr<Child> human;
    ASSERT_TRUE(waitUntil([&] {
        human = status({});
        return human->out().find("health          healthy") != std::string::npos;
    })) << human->out()
        << human->err();
    EXPECT_EQ(human->waitExit(), 0);
    const std::string out = human->out();
    EXPECT_THAT(out, HasSubstr("instance uid    " + uid + "\n"));
    EXPECT_THAT(out, HasSubstr("server          " + server_.endpoint(GetParam()) + ", connected"));
    EXPECT_THAT(out, HasSubstr("collector       running, pid " +
                               std::to_string(collectorPids(*supervisor).back()) + ", up "));
    EXPECT_THAT(out, HasSubstr("remote config   APPLIED " + hash + "\n"));
    EXPECT_THAT(out, HasSubstr("last working    " + hash + "\n"));

    auto json = status({"--json"});
    EXPECT_EQ(json->waitExit(), 0);
    YAML::Node parsed = YAML::Load(json->out());
    EXPECT_EQ(parsed["remote_config"]["hash"].as<std::string>(), hash);
    EXPECT_EQ(parsed["collector"]["restarts"].as<int>(), 1);  // the apply restarted it once

    supervisor->signal(SIGTERM);
    ASSERT_EQ(supervisor->waitExit(), 0);
    auto none = status({});
    EXPECT_EQ(none->waitExit(), 3);
    EXPECT_THAT(none->err(), HasSubstr("not running"));
}

// S12: an OpAMP connection settings offer moves the supervisor to another server, is
// reported (APPLYING, then APPLIED) and kept across a restart; an offer that cannot connect
// is FAILED and the supervisor goes back to the server it had.
TEST_P(RemoteConfig, ConnectionSettingsOfferMovesToAnotherServerAndABadOneFallsBack) {
    testing::DevServerFixture other;
    other.offerHeartbeatInterval(1);
    auto config =
        supervisorConfig(server_.endpoint(GetParam()),
                         "  reports_health: true\n  accepts_opamp_connection_settings: true\n"
                         "  reports_connection_settings_status: true\n",
                         standinAgent());
    collectorConfig();
    {
        // A short timeout for the bad offer below.
        std::string text = testing::readFile(config);
        text.replace(text.find("server:\n"), 8, "server:\n  connection_settings_timeout: 2s\n");
        config = dir_.write("supervisor.yaml", text);
    }
    auto supervisor = startSupervisor(config);
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());

    server_.offerConnectionSettings(uid,
                                    "{\"hash\": \"AQID\", \"opamp\": {\"destinationEndpoint\": \"" +
                                        other.endpoint(GetParam()) + "\"}}");
    auto statusIs = [](pb::ConnectionSettingsStatuses status, const std::string& hash) {
        return [status, hash](const pb::AgentToServer& m) {
            return m.has_connection_settings_status() &&
                   m.connection_settings_status().status() == status &&
                   opamp::hex(m.connection_settings_status().last_connection_settings_hash()) ==
                       hash;
        };
    };
    if (GetParam() == "ws") {
        // Over HTTP the APPLYING report races the disconnection from the first server.
        EXPECT_FALSE(server_
                         .waitForAgentMessages(
                             uid, statusIs(pb::ConnectionSettingsStatuses_APPLYING, "010203"), 1)
                         .empty())
            << "the first server was not told the offer is being applied";
    }
    EXPECT_FALSE(
        other
            .waitForAgentMessages(uid, statusIs(pb::ConnectionSettingsStatuses_APPLIED, "010203"),
                                  1, std::chrono::seconds(20))
            .empty())
        << logOf(*supervisor);
    EXPECT_TRUE(std::filesystem::exists(storage() / "opamp_connection_settings.dat"));
    EXPECT_EQ(permissionsOf(storage() / "opamp_connection_settings.dat"), 0600);

    // Kept across a restart: the supervisor goes straight to the second server.
    supervisor->signal(SIGTERM);
    ASSERT_EQ(supervisor->waitExit(), 0);
    const std::size_t firstServerMessages = server_.agentMessages(uid).size();
    const std::size_t otherMessages = other.agentMessages(uid).size();
    supervisor = startSupervisor(config);
    ASSERT_TRUE(waitUntil([&] { return other.agentMessages(uid).size() > otherMessages; },
                          std::chrono::seconds(20)))
        << logOf(*supervisor);
    EXPECT_EQ(server_.agentMessages(uid).size(), firstServerMessages);

    // An offer of a server that is not there: FAILED, and back to the second server.
    std::string nowhere = server_.endpoint(GetParam());
    server_.server().stop();
    ASSERT_TRUE(other.waitForAgent(
        uid, [](const Poco::JSON::Object& agent) { return agent.getValue<bool>("connected"); }));
    other.offerConnectionSettings(
        uid, "{\"hash\": \"BAU=\", \"opamp\": {\"destinationEndpoint\": \"" + nowhere + "\"}}");
    auto failed = other.waitForAgentMessages(
        uid, statusIs(pb::ConnectionSettingsStatuses_FAILED, "0405"), 1, std::chrono::seconds(30));
    ASSERT_FALSE(failed.empty()) << logOf(*supervisor);
    EXPECT_THAT(failed.front().connection_settings_status().error_message(),
                HasSubstr("could not connect to " + nowhere + " within 2s; back to " +
                          other.endpoint(GetParam())));
}

// As upstream's TestSupervisorDoesNotTightlyLoopWhenRestoredLastWorkingRemoteConfigFails: a
// restored config that fails in its turn is restarted with the crash backoff, never in a
// tight loop.
TEST_P(RemoteConfig, ARestoredConfigThatFailsIsRestartedWithBackoff) {
    auto supervisor = startSupervisor(remoteConfig());
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    // Healthy at first (so APPLIED and the last working one), then it crashes after 1 s.
    const std::string fragile = server_.pushConfig(
        uid, "", producing(dir_.path() / "fragile.jsonl", "    crash_after: 1s\n"));
    ASSERT_TRUE(waitForStatus(uid, fragile, pb::RemoteConfigStatuses_APPLIED))
        << logOf(*supervisor);
    // A config that cannot start: FAILED, and back to the fragile one.
    const std::string broken = server_.pushConfig(uid, "", producing("/nonexistent-dir/out.jsonl"));
    ASSERT_TRUE(waitForStatus(uid, broken, pb::RemoteConfigStatuses_FAILED)) << logOf(*supervisor);
    // It crashes again and again, and each restart waits longer: the third is announced
    // at least 2 s away (restart_backoff: 1 s doubling, with jitter down to half a step).
    auto third = waitForHealth(
        uid,
        [](const pb::ComponentHealth& h) {
            return h.last_error().find(", attempt 3") != std::string::npos;
        },
        std::chrono::seconds(30));
    ASSERT_TRUE(third) << logOf(*supervisor);
    EXPECT_THAT(third->last_error(), HasSubstr("the collector exited with exit code 2"));
    EXPECT_THAT(third->last_error(), ::testing::ContainsRegex("restarting in [2-4] s, attempt 3"));
}

// With automatic_config_rollback off (the Go supervisor's default), a failed config stays:
// FAILED is reported, and no last working config is kept.
TEST_P(RemoteConfig, WithoutRollbackAFailedConfigStays) {
    auto supervisor = startSupervisor(remoteConfig("  automatic_config_rollback: false\n"));
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const std::string slow =
        server_.pushConfig(uid, "", producing(dir_.path() / "slow.jsonl", "    slow_start: 30s\n"));
    ASSERT_TRUE(waitForStatus(uid, slow, pb::RemoteConfigStatuses_FAILED)) << logOf(*supervisor);
    const long pid = collectorPids(*supervisor).back();
    EXPECT_EQ(collectorPids(*supervisor).size(), 3U);  // bootstrap, first, slow: no restore
    EXPECT_TRUE(processAlive(static_cast<pid_t>(pid)));
    EXPECT_FALSE(std::filesystem::exists(storage() / "last_working_remote_config.dat"));
}

// use_hup_config_reload: the collector reloads in place (same process), and the transaction
// is the same: APPLIED once it reports healthy on the new config.
TEST_P(RemoteConfig, HupReloadAppliesInPlace) {
    auto supervisor = startSupervisor(remoteConfig("  use_hup_config_reload: true\n"));
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const auto first = dir_.path() / "first.jsonl";
    const std::string one = server_.pushConfig(uid, "", producing(first));
    ASSERT_TRUE(waitForStatus(uid, one, pb::RemoteConfigStatuses_APPLIED)) << logOf(*supervisor);
    ASSERT_TRUE(waitUntil([&] { return testing::completeLines(first).size() >= 2; }));
    const std::vector<long> pids = collectorPids(*supervisor);

    const auto second = dir_.path() / "second.jsonl";
    const std::string two = server_.pushConfig(uid, "", producing(second));
    ASSERT_TRUE(waitForStatus(uid, two, pb::RemoteConfigStatuses_APPLIED)) << logOf(*supervisor);
    EXPECT_EQ(statuses(uid, two),
              (std::vector<pb::RemoteConfigStatuses>{pb::RemoteConfigStatuses_APPLYING,
                                                     pb::RemoteConfigStatuses_APPLIED}));
    EXPECT_TRUE(waitUntil([&] { return testing::completeLines(second).size() >= 2; }))
        << logOf(*supervisor);
    EXPECT_EQ(collectorPids(*supervisor), pids) << "the collector was restarted, not reloaded";
    EXPECT_THAT(logOf(*supervisor), HasSubstr("Reloading the collector's config (SIGHUP)"));
}

INSTANTIATE_TEST_SUITE_P(Transports, RemoteConfig, ::testing::Values("ws", "http"));

// agent.run_as: every run of the collector (bootstrap, the validation of a remote config,
// the run itself) is nobody's, and nobody reaches only the files written for the collector.
// Needs root, as the service has.
class RunAs : public RemoteConfig {
  protected:
    // "Uid:" or "Gid:" of a process: real, effective, saved and file-system ids.
    static std::string idsOf(long pid, const std::string& field) {
        std::ifstream status("/proc/" + std::to_string(pid) + "/status");
        for (std::string line; std::getline(status, line);) {
            if (line.rfind(field, 0) == 0) {
                std::istringstream values(line.substr(field.size()));
                std::string id;
                std::string all;
                while (values >> id) {
                    all += (all.empty() ? "" : " ") + id;
                }
                return all;
            }
        }
        return "";
    }

    static long groupOf(const std::filesystem::path& path) {
        struct stat info {};
        return stat(path.c_str(), &info) == 0 ? static_cast<long>(info.st_gid) : -1;
    }
};

TEST_P(RunAs, TheCollectorRunsAsTheAccountAndReachesOnlyItsOwnFiles) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "starting the collector as another user needs root";
    }
    namespace fs = std::filesystem;
    // nobody must reach the collector's binary (the build tree may be root's alone) and
    // write its output.
    fs::permissions(dir_.path(), fs::perms::others_exec, fs::perm_options::add);
    const fs::path binary = dir_.path() / "otelcol";
    fs::copy_file(OTELCOL_STANDIN_PATH, binary);
    fs::permissions(binary, fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec);
    const fs::path out = dir_.path() / "out";
    fs::create_directory(out);
    ASSERT_EQ(::chown(out.c_str(), 65534, 65534), 0);

    auto config = supervisorConfig(server_.endpoint(GetParam()),
                                   "  reports_health: true\n  reports_effective_config: true\n"
                                   "  accepts_remote_config: true\n",
                                   "  executable: " + binary.string() +
                                       "\n  config_apply_timeout: 3s\n"
                                       "  run_as:\n    user: nobody\n");
    auto supervisor = startSupervisor(config);
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    EXPECT_NE(logOf(*supervisor).find(R"("user":"nobody:nogroup")"), std::string::npos)
        << logOf(*supervisor);

    // A remote config is validated and run by nobody, whose output lands in nobody's files.
    const fs::path good = out / "good.jsonl";
    const std::string hash = server_.pushConfig(uid, "", producing(good));
    ASSERT_TRUE(waitForStatus(uid, hash, pb::RemoteConfigStatuses_APPLIED)) << logOf(*supervisor);
    ASSERT_TRUE(waitUntil([&] { return testing::completeLines(good).size() >= 3; }))
        << logOf(*supervisor);
    const std::vector<long> pids = collectorPids(*supervisor);
    ASSERT_FALSE(pids.empty());
    EXPECT_EQ(idsOf(pids.back(), "Uid:"), "65534 65534 65534 65534");
    EXPECT_EQ(idsOf(pids.back(), "Gid:"), "65534 65534 65534 65534");
    EXPECT_EQ(idsOf(pids.back(), "Groups:"), "65534");

    // The storage lets nobody through to the collector's config, and to nothing else.
    EXPECT_EQ(permissionsOf(storage()), 0710);
    EXPECT_EQ(groupOf(storage()), 65534);
    EXPECT_EQ(permissionsOf(storage() / "effective.yaml"), 0640);
    EXPECT_EQ(groupOf(storage() / "effective.yaml"), 65534);
    for (const char* name : {"persistent_state.yaml", "last_recv_remote_config.dat"}) {
        EXPECT_EQ(permissionsOf(storage() / name), 0600) << name;
    }
}

INSTANTIATE_TEST_SUITE_P(Transports, RunAs, ::testing::Values("ws"));

// The agent-initiated CSR flow (server.certificate_request): against a server that signs
// requests and verifies the client certificates it is shown, the supervisor asks for a
// certificate, connects with it, keeps it across a restart without asking again, and never
// sends its private key.
class CertificateRequest : public SupervisorE2e,
                           public ::testing::WithParamInterface<std::string> {};

TEST_P(CertificateRequest, TheIssuedCertificateIsUsedAndKept) {
    // The server's own CA and the CA that signs agents' certificates are different ones,
    // as on a real server: the second must not become trusted for the server.
    std::filesystem::create_directories(dir_.path() / "server-pki");
    std::filesystem::create_directories(dir_.path() / "agent-pki");
    testing::TestPki pki(dir_.path() / "server-pki", {"127.0.0.1"});
    testing::TestPki agents(dir_.path() / "agent-pki", {"unused"});
    devserver::DevServer::Options options;
    options.certFile = pki.serverCert.string();
    options.keyFile = pki.serverKey.string();
    options.clientCaFile = agents.caCert.string();
    options.csrCaCertFile = agents.caCert.string();
    options.csrCaKeyFile = agents.caKey.string();
    options.heartbeatIntervalSeconds = 1;
    testing::DevServerFixture tlsServer(options);
    collectorConfig();
    auto config = supervisorConfig(tlsServer.endpoint(GetParam()) +
                                       "\n  tls:\n    ca_file: " + pki.caCert.string() +
                                       "\n  certificate_request:\n    enabled: true\n"
                                       "    key_type: ecdsa-p256",
                                   "  reports_health: true\n  accepts_opamp_connection_settings: "
                                   "true\n  reports_connection_settings_status: true\n",
                                   standinAgent());
    auto supervisor = startSupervisor(config);
    const std::string uid = instanceUid();
    ASSERT_FALSE(uid.empty()) << logOf(*supervisor);
    auto usesIssuedCertificate = [&](const Poco::JSON::Object& agent) {
        return agent.optValue<std::string>("client_certificate", "") == uid &&
               agent.optValue<bool>("connected", false);
    };
    ASSERT_TRUE(tlsServer.waitForAgent(uid, usesIssuedCertificate, std::chrono::seconds(30)))
        << logOf(*supervisor);
    auto requests = [&] {
        std::size_t n = 0;
        for (const auto& m : tlsServer.agentMessages(uid)) {
            EXPECT_EQ(m.SerializeAsString().find("PRIVATE KEY"), std::string::npos)
                << "a private key went to the server";
            if (m.has_connection_settings_request()) {
                EXPECT_THAT(m.connection_settings_request().opamp().certificate_request().csr(),
                            HasSubstr("-----BEGIN CERTIFICATE REQUEST-----"));
                ++n;
            }
        }
        return n;
    };
    EXPECT_EQ(requests(), 1U);
    EXPECT_EQ(permissionsOf(storage() / "opamp_connection_settings.dat"), 0600);
    EXPECT_TRUE(waitUntil([&] {
        return !std::filesystem::exists(storage() / "opamp_csr_key.pem");
    })) << "the key of the answered request was left behind";
    // The server can see the new connection before the supervisor's loop has logged it.
    EXPECT_TRUE(waitUntil([&] {
        return logOf(*supervisor).find("Connected with the certificate the server issued") !=
               std::string::npos;
    })) << logOf(*supervisor);

    // After a restart it connects with the certificate at once and does not ask again.
    supervisor->signal(SIGTERM);
    ASSERT_EQ(supervisor->waitExit(), 0);
    tlsServer.restart();
    supervisor = startSupervisor(config);
    ASSERT_TRUE(tlsServer.waitForAgent(uid, usesIssuedCertificate, std::chrono::seconds(30)))
        << logOf(*supervisor);
    ASSERT_TRUE(waitUntil([&] { return tlsServer.agentMessages(uid).size() >= 3; }));
    EXPECT_EQ(requests(), 0U) << "asked for a certificate it already had";
}

INSTANTIATE_TEST_SUITE_P(Transports, CertificateRequest, ::testing::Values("wss", "https"));

}  // namespace
}  // namespace opampsup
