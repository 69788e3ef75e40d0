#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/config/ConfigLoader.h"
#include "support/TempDir.h"

namespace opampsup::config {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class ConfigLoaderTest : public ::testing::Test {
  protected:
    ConfigLoaderTest() {
        executable_ = dir_.writeExecutable("otelcol-contrib");
        options_.sources.env = [this](const std::string& name) -> std::optional<std::string> {
            auto it = env_.find(name);
            if (it == env_.end()) {
                return std::nullopt;
            }
            return it->second;
        };
        options_.platform = PlatformFacts{"/default/storage", "otelcol-contrib", true};
    }

    // Replaces EXE and DIR in the text with this test's executable and directory.
    std::string fill(std::string yaml) const {
        for (auto [token, value] : {std::pair{std::string("EXE"), executable_.string()},
                                    std::pair{std::string("DIR"), dir_.path().string()}}) {
            for (auto pos = yaml.find(token); pos != std::string::npos;
                 pos = yaml.find(token, pos + value.size())) {
                yaml.replace(pos, token.size(), value);
            }
        }
        return yaml;
    }

    LoadResult load(const std::string& yaml) {
        return loadConfigText(fill(yaml), "supervisor.yaml", options_);
    }

    // Loads text that must fail and returns the problems as "line:column: key: reason".
    std::vector<std::string> problems(const std::string& yaml) {
        try {
            load(yaml);
        } catch (const ConfigError& e) {
            std::vector<std::string> out;
            for (const ConfigProblem& p : e.problems()) {
                EXPECT_EQ(p.file, "supervisor.yaml");
                out.push_back(std::to_string(p.line) + ":" + std::to_string(p.column) + ": " +
                              (p.keyPath.empty() ? "" : p.keyPath + ": ") + p.reason);
            }
            return out;
        }
        ADD_FAILURE() << "config loaded, but problems were expected:\n" << fill(yaml);
        return {};
    }

    std::string onlyProblem(const std::string& yaml) {
        std::vector<std::string> found = problems(yaml);
        EXPECT_EQ(found.size(), 1U) << ::testing::PrintToString(found);
        return found.empty() ? "" : found.front();
    }

    std::vector<std::string> warnings(const std::string& yaml) {
        std::vector<std::string> out;
        for (const ConfigProblem& w : load(yaml).warnings) {
            out.push_back(std::to_string(w.line) + ":" + std::to_string(w.column) + ": " +
                          w.keyPath + ": " + w.reason);
        }
        return out;
    }

    testing::TempDir dir_;
    std::filesystem::path executable_;
    std::map<std::string, std::string> env_;
    LoadOptions options_;
};

constexpr const char* kMinimal = R"(server:
  endpoint: ws://127.0.0.1:4320/v1/opamp
agent:
  executable: EXE
)";

TEST_F(ConfigLoaderTest, MinimalConfigGetsUpstreamDefaults) {
    SupervisorConfig c = load(kMinimal).config;
    EXPECT_EQ(c.server.endpoint, "ws://127.0.0.1:4320/v1/opamp");
    EXPECT_TRUE(c.server.headers.empty());
    EXPECT_FALSE(c.server.tls.has_value());
    EXPECT_EQ(c.server.auth, "");

    const Capabilities& caps = c.capabilities;
    EXPECT_FALSE(caps.acceptsRemoteConfig);
    EXPECT_FALSE(caps.reportsRemoteConfig);
    EXPECT_FALSE(caps.acceptsRestartCommand);
    EXPECT_FALSE(caps.acceptsOpampConnectionSettings);
    EXPECT_TRUE(caps.reportsEffectiveConfig);
    EXPECT_TRUE(caps.reportsOwnMetrics);
    EXPECT_FALSE(caps.reportsOwnLogs);
    EXPECT_FALSE(caps.reportsOwnTraces);
    EXPECT_TRUE(caps.reportsHealth);
    EXPECT_FALSE(caps.reportsAvailableComponents);
    EXPECT_TRUE(caps.reportsHeartbeat);
    EXPECT_FALSE(caps.acceptsPackages);
    EXPECT_FALSE(caps.reportsPackageStatuses);
    EXPECT_FALSE(caps.reportsConnectionSettingsStatus);

    EXPECT_EQ(c.storage.directory, "/default/storage");

    const AgentSettings& a = c.agent;
    EXPECT_EQ(a.executable, executable_);
    EXPECT_EQ(a.instanceId, "");
    EXPECT_EQ(a.orphanDetectionInterval, 5s);
    EXPECT_TRUE(a.description.identifyingAttributes.empty());
    EXPECT_TRUE(a.description.nonIdentifyingAttributes.empty());
    EXPECT_FALSE(a.description.includeResourceAttributes);
    EXPECT_EQ(a.configApplyTimeout, 5s);
    EXPECT_EQ(a.bootstrapTimeout, 3s);
    EXPECT_EQ(a.opampServerPort, 0);
    EXPECT_FALSE(a.passthroughLogs);
    EXPECT_EQ(a.collectorCrashLogSnippetKib, 0U);
    EXPECT_TRUE(a.automaticConfigRollback);  // ours: upstream's default is false
    EXPECT_FALSE(a.useHupConfigReload);
    EXPECT_EQ(a.validateConfig, std::nullopt);  // validate when the collector can
    EXPECT_EQ(a.configSoakPeriod, 0s);
    EXPECT_TRUE(a.configFiles.empty());
    EXPECT_TRUE(a.args.empty());
    EXPECT_FALSE(a.env.has_value());
    EXPECT_TRUE(a.startupFallbackConfigs.empty());
    EXPECT_EQ(a.package.agentBinary, "otelcol-contrib");
    EXPECT_EQ(a.package.archive, "");
    EXPECT_EQ(a.package.verifierType, "");

    const LogSettings& logs = c.telemetry.logs;
    EXPECT_EQ(logs.level, "info");
    EXPECT_EQ(logs.outputPaths, std::vector<std::string>{"stdout"});
    EXPECT_EQ(logs.errorOutputPaths, std::vector<std::string>{"stderr"});
    EXPECT_EQ(logs.encoding, "json");
    EXPECT_EQ(c.telemetry.metrics.level, "basic");
    EXPECT_EQ(c.telemetry.traces.level, "basic");

    EXPECT_EQ(c.healthcheck.endpoint, "");
    EXPECT_TRUE(c.extensions.empty());
    EXPECT_EQ(c.sourceFile, "supervisor.yaml");
}

TEST_F(ConfigLoaderTest, ReadsEveryKey) {
    dir_.write("ca.pem", "ca");
    dir_.write("cert.pem", "cert");
    dir_.write("key.pem", "key");
    dir_.write("local.yaml", "receivers: {}\n");
    dir_.write("fallback.yaml", "receivers: {}\n");
    dir_.write("fulcio.pem", "roots\n");
    dir_.write("release.pub", "key\n");
    options_.featureGates = {kExtensionsFeatureGate};
    env_ = {{"TOKEN", "t0k3n"}};
    SupervisorConfig c = load(R"(
server:
  endpoint: wss://opamp.example.com:4320/v1/opamp
  headers:
    Authorization: Bearer abc
    X-Multi: [one, two]
  tls:
    insecure: false
    insecure_skip_verify: true
    ca_file: DIR/ca.pem
    cert_file: DIR/cert.pem
    key_file: DIR/key.pem
    min_version: "1.2"
    max_version: "1.3"
    cipher_suites: [TLS_AES_128_GCM_SHA256]
    curve_preferences: [X25519]
    include_system_ca_certs_pool: true
    server_name_override: opamp.internal
    reload_interval: 1h
  auth: bearertokenauth
capabilities:
  accepts_remote_config: true
  reports_remote_config: false
  accepts_restart_command: true
  accepts_opamp_connection_settings: true
  reports_effective_config: false
  reports_own_metrics: false
  reports_own_logs: true
  reports_own_traces: true
  reports_health: false
  reports_available_components: true
  reports_heartbeat: false
  accepts_packages: true
  reports_package_statuses: true
  reports_connection_settings_status: true
storage:
  directory: DIR/storage
agent:
  executable: EXE
  instance_id: 018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f
  orphan_detection_interval: 2s
  description:
    identifying_attributes:
      client.id: "01"
    non_identifying_attributes:
      env: prod
    include_resource_attributes: true
  config_apply_timeout: 1m30s
  bootstrap_timeout: 10s
  opamp_server_port: 4321
  passthrough_logs: true
  collector_crash_log_snippet_kib: 64
  automatic_config_rollback: false
  use_hup_config_reload: true
  validate_config: true
  config_soak_period: 30s
  config_files: [DIR/local.yaml, $OPAMP_EXTENSION_CONFIG, $REMOTE_CONFIG]
  args: [--feature-gates, exporter.foo]
  env:
    GOMEMLIMIT: 200MiB
  env_unset: [HTTPS_PROXY]
  startup_fallback_configs: [DIR/fallback.yaml]
  package:
    agent_binary: otelcol
    archive: tar.gz
    verifier:
      type: cosign
      cosign:
        github_workflow_repository: open-telemetry/opentelemetry-collector-releases
        identities:
          - issuer: https://token.actions.githubusercontent.com
            subject_regex: ^https://github.com/open-telemetry/.*$
        root_certificates: [DIR/fulcio.pem]
      public_key:
        keys: [DIR/release.pub]
    allow_unsigned: true
    allow_downgrade: true
    max_download_size_mib: 300
    health_timeout: 2m
    soak_period: 30s
telemetry:
  logs:
    level: debug
    output_paths: [stderr, DIR/supervisor.log]
    error_output_paths: [stderr]
    encoding: console
    processors:
      - batch:
          exporter:
            otlp:
              protocol: http/protobuf
              endpoint: https://backend:4318
  metrics:
    level: detailed
    readers:
      - periodic:
          exporter:
            otlp:
              endpoint: https://backend:4318
  traces:
    level: normal
    propagators: [tracecontext]
    processors:
      - batch: {}
  resource:
    service.name: my-supervisor
healthcheck:
  endpoint: localhost:13133
  response_headers:
    X-Served-By: supervisor
  read_timeout: 5s
  read_header_timeout: 1s
  write_timeout: 5s
  idle_timeout: 30s
extensions:
  bearertokenauth:
    token: ${TOKEN}
)")
                             .config;
    EXPECT_EQ(c.server.endpoint, "wss://opamp.example.com:4320/v1/opamp");
    EXPECT_EQ(c.server.headers.at("Authorization"), std::vector<std::string>{"Bearer abc"});
    EXPECT_EQ(c.server.headers.at("X-Multi"), (std::vector<std::string>{"one", "two"}));
    ASSERT_TRUE(c.server.tls.has_value());
    const TlsClientSettings& tls = *c.server.tls;
    EXPECT_FALSE(tls.insecure);
    EXPECT_TRUE(tls.insecureSkipVerify);
    EXPECT_EQ(tls.caFile, dir_.path() / "ca.pem");
    EXPECT_EQ(tls.certFile, dir_.path() / "cert.pem");
    EXPECT_EQ(tls.keyFile, dir_.path() / "key.pem");
    EXPECT_EQ(tls.minVersion, "1.2");
    EXPECT_EQ(tls.maxVersion, "1.3");
    EXPECT_EQ(tls.cipherSuites, std::vector<std::string>{"TLS_AES_128_GCM_SHA256"});
    EXPECT_EQ(tls.curvePreferences, std::vector<std::string>{"X25519"});
    EXPECT_TRUE(tls.includeSystemCaCertsPool);
    EXPECT_EQ(tls.serverNameOverride, "opamp.internal");
    EXPECT_EQ(tls.reloadInterval, 1h);
    EXPECT_EQ(c.server.auth, "bearertokenauth");

    const Capabilities& caps = c.capabilities;
    EXPECT_TRUE(caps.acceptsRemoteConfig);
    EXPECT_TRUE(caps.acceptsRestartCommand);
    EXPECT_TRUE(caps.acceptsOpampConnectionSettings);
    EXPECT_FALSE(caps.reportsEffectiveConfig);
    EXPECT_FALSE(caps.reportsOwnMetrics);
    EXPECT_TRUE(caps.reportsOwnLogs);
    EXPECT_TRUE(caps.reportsOwnTraces);
    EXPECT_FALSE(caps.reportsHealth);
    EXPECT_TRUE(caps.reportsAvailableComponents);
    EXPECT_FALSE(caps.reportsHeartbeat);
    EXPECT_TRUE(caps.acceptsPackages);
    EXPECT_TRUE(caps.reportsPackageStatuses);
    EXPECT_TRUE(caps.reportsConnectionSettingsStatus);

    EXPECT_EQ(c.storage.directory, dir_.path() / "storage");

    const AgentSettings& a = c.agent;
    EXPECT_EQ(a.instanceId, "018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f");
    EXPECT_EQ(a.orphanDetectionInterval, 2s);
    EXPECT_EQ(a.description.identifyingAttributes.at("client.id"), "01");
    EXPECT_EQ(a.description.nonIdentifyingAttributes.at("env"), "prod");
    EXPECT_TRUE(a.description.includeResourceAttributes);
    EXPECT_EQ(a.configApplyTimeout, 90s);
    EXPECT_EQ(a.bootstrapTimeout, 10s);
    EXPECT_EQ(a.opampServerPort, 4321);
    EXPECT_TRUE(a.passthroughLogs);
    EXPECT_EQ(a.collectorCrashLogSnippetKib, 64U);
    EXPECT_FALSE(a.automaticConfigRollback);
    EXPECT_TRUE(a.useHupConfigReload);
    EXPECT_EQ(a.validateConfig, std::optional<bool>(true));
    EXPECT_EQ(a.configSoakPeriod, 30s);
    EXPECT_EQ(a.configFiles,
              (std::vector<std::string>{(dir_.path() / "local.yaml").string(),
                                        "$OPAMP_EXTENSION_CONFIG", "$REMOTE_CONFIG"}));
    EXPECT_EQ(a.args, (std::vector<std::string>{"--feature-gates", "exporter.foo"}));
    ASSERT_TRUE(a.env.has_value());
    EXPECT_EQ(a.env->at("GOMEMLIMIT"), "200MiB");
    EXPECT_EQ(a.envUnset, (std::vector<std::string>{"HTTPS_PROXY"}));
    EXPECT_EQ(a.startupFallbackConfigs,
              std::vector<std::filesystem::path>{dir_.path() / "fallback.yaml"});
    EXPECT_EQ(a.package.agentBinary, "otelcol");
    EXPECT_EQ(a.package.archive, "tar.gz");
    EXPECT_EQ(a.package.verifierType, "cosign");
    EXPECT_EQ(a.package.cosignGithubWorkflowRepository,
              "open-telemetry/opentelemetry-collector-releases");
    ASSERT_EQ(a.package.cosignIdentities.size(), 1U);
    EXPECT_EQ(a.package.cosignIdentities[0].issuer, "https://token.actions.githubusercontent.com");
    EXPECT_EQ(a.package.cosignIdentities[0].subjectRegex, "^https://github.com/open-telemetry/.*$");
    EXPECT_EQ(a.package.cosignRootCertificates,
              std::vector<std::filesystem::path>{dir_.path() / "fulcio.pem"});
    EXPECT_EQ(a.package.publicKeys,
              std::vector<std::filesystem::path>{dir_.path() / "release.pub"});
    EXPECT_TRUE(a.package.allowUnsigned);
    EXPECT_TRUE(a.package.allowDowngrade);
    EXPECT_EQ(a.package.maxDownloadSizeMib, 300U);
    EXPECT_EQ(a.package.healthTimeout, 2min);
    EXPECT_EQ(a.package.soakPeriod, 30s);

    const TelemetrySettings& t = c.telemetry;
    EXPECT_EQ(t.logs.level, "debug");
    EXPECT_EQ(t.logs.outputPaths,
              (std::vector<std::string>{"stderr", (dir_.path() / "supervisor.log").string()}));
    EXPECT_EQ(t.logs.encoding, "console");
    EXPECT_THAT(t.logs.processorsYaml, HasSubstr("https://backend:4318"));
    EXPECT_EQ(t.metrics.level, "detailed");
    EXPECT_THAT(t.metrics.readersYaml, HasSubstr("periodic"));
    EXPECT_EQ(t.traces.level, "normal");
    EXPECT_EQ(t.traces.propagators, std::vector<std::string>{"tracecontext"});
    EXPECT_THAT(t.traces.processorsYaml, HasSubstr("batch"));
    EXPECT_THAT(t.resourceYaml, HasSubstr("my-supervisor"));

    EXPECT_EQ(c.healthcheck.endpoint, "localhost:13133");
    EXPECT_EQ(c.healthcheck.responseHeaders.at("X-Served-By"), "supervisor");
    EXPECT_EQ(c.healthcheck.readTimeout, 5s);
    EXPECT_EQ(c.healthcheck.readHeaderTimeout, 1s);
    EXPECT_EQ(c.healthcheck.writeTimeout, 5s);
    EXPECT_EQ(c.healthcheck.idleTimeout, 30s);
    ASSERT_EQ(c.extensions.count("bearertokenauth"), 1U);
    EXPECT_THAT(c.extensions.at("bearertokenauth"), HasSubstr("token"));
    ASSERT_TRUE(c.server.authExtension);
    EXPECT_EQ(std::get<BearerTokenAuth>(c.server.authExtension->settings).token, "t0k3n");
}

TEST_F(ConfigLoaderTest, ExpandsEnvironmentReferencesBeforeTypes) {
    env_ = {{"OPAMP_HOST", "opamp.example.com"}, {"PORT", "4999"}, {"ROLLBACK", "false"}};
    SupervisorConfig c = load(R"(server:
  endpoint: wss://${OPAMP_HOST}:4320/v1/opamp
agent:
  executable: EXE
  opamp_server_port: ${env:PORT}
  automatic_config_rollback: ${ROLLBACK}
  bootstrap_timeout: ${env:BOOT:-7s}
)")
                             .config;
    EXPECT_EQ(c.server.endpoint, "wss://opamp.example.com:4320/v1/opamp");
    EXPECT_EQ(c.agent.opampServerPort, 4999);
    EXPECT_FALSE(c.agent.automaticConfigRollback);
    EXPECT_EQ(c.agent.bootstrapTimeout, 7s);
}

TEST_F(ConfigLoaderTest, ExpandsReferencesInsideVerbatimSections) {
    env_ = {{"TOKEN", "t0k3n"}};
    options_.featureGates = {kExtensionsFeatureGate};
    SupervisorConfig c = load(std::string(kMinimal) + R"(extensions:
  bearertokenauth:
    token: ${TOKEN}
)")
                             .config;
    EXPECT_THAT(c.extensions.at("bearertokenauth"), HasSubstr("t0k3n"));
}

TEST_F(ConfigLoaderTest, EmptySectionsKeepDefaults) {
    SupervisorConfig c =
        load(std::string(kMinimal) + "capabilities:\ntelemetry:\nstorage:\n").config;
    EXPECT_TRUE(c.capabilities.reportsHealth);
    EXPECT_EQ(c.storage.directory, "/default/storage");
}

TEST_F(ConfigLoaderTest, EmptyEnvMapMeansNoAdditions) {
    SupervisorConfig c = load(std::string(kMinimal) + "  env: {}\n").config;
    ASSERT_TRUE(c.agent.env.has_value());
    EXPECT_TRUE(c.agent.env->empty());
}

// ---- errors --------------------------------------------------------------------------------

TEST_F(ConfigLoaderTest, EnvUnsetProblems) {
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  env_unset: [A, \"B=1\"]\n"),
              "5:18: agent.env_unset[1]: \"B=1\" is not an environment variable name");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  env:\n    A: x\n  env_unset: [A]\n"),
              "7:15: agent.env_unset[0]: \"A\" is also set in agent.env");
}

TEST_F(ConfigLoaderTest, UnknownKeysAreErrorsWithSuggestions) {
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "capabilites:\n  reports_health: true\n"),
              "5:1: capabilites: unknown key (did you mean \"capabilities\"?)");
    EXPECT_EQ(onlyProblem(R"(server:
  endpoint: ws://localhost:4320/v1/opamp
agent:
  executable: EXE
  bootstrap_timout: 5s
)"),
              "5:3: agent.bootstrap_timout: unknown key (did you mean \"bootstrap_timeout\"?)");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "frobnicate: 1\n"),
              "5:1: frobnicate: unknown key");
}

TEST_F(ConfigLoaderTest, WrongTypesNameTheKeyAndPlace) {
    EXPECT_EQ(onlyProblem(R"(server:
  endpoint: [ws://localhost]
agent:
  executable: EXE
)"),
              "2:13: server.endpoint: expected a string, got a list");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "capabilities:\n  reports_health: yes\n"),
              "6:19: capabilities.reports_health: expected a boolean (true or false), got \"yes\"");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "capabilities: true\n"),
              "5:15: capabilities: expected a map, got a scalar");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  args: --verbose\n"),
              "5:9: agent.args: expected a list of strings, got a scalar");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  args: [ok, {a: b}]\n"),
              "5:14: agent.args[1]: expected a string, got a map");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  opamp_server_port: 80.5\n"),
              "5:22: agent.opamp_server_port: expected a whole number, got \"80.5\"");
}

TEST_F(ConfigLoaderTest, BadDurations) {
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  bootstrap_timeout: 5x\n"),
              "5:22: agent.bootstrap_timeout: invalid duration \"5x\": unknown unit \"x\" "
              "(valid units: ns, us, ms, s, m, h)");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  config_apply_timeout: 5\n"),
              "5:25: agent.config_apply_timeout: invalid duration \"5\": missing unit (valid "
              "units: ns, us, ms, s, m, h)");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  orphan_detection_interval: 0s\n"),
              "5:30: agent.orphan_detection_interval: must be greater than zero");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  bootstrap_timeout: -1s\n"),
              "5:22: agent.bootstrap_timeout: must be greater than zero");
}

TEST_F(ConfigLoaderTest, EndpointProblems) {
    EXPECT_EQ(onlyProblem("server:\n  endpoint: ftp://localhost/x\nagent:\n  executable: EXE\n"),
              "2:13: server.endpoint: unsupported scheme \"ftp\" in \"ftp://localhost/x\" (use "
              "ws:// or wss:// for WebSocket, http:// or https:// for HTTP polling)");
    EXPECT_EQ(onlyProblem("server:\n  endpoint: ws:///v1/opamp\nagent:\n  executable: EXE\n"),
              "2:13: server.endpoint: \"ws:///v1/opamp\" has no host");
    EXPECT_EQ(onlyProblem("server:\n  headers: {}\nagent:\n  executable: EXE\n"),
              "2:3: server.endpoint: is required");
    EXPECT_EQ(onlyProblem("server:\n  endpoint: \"\"\nagent:\n  executable: EXE\n"),
              "2:13: server.endpoint: must not be empty");
    EXPECT_EQ(onlyProblem("agent:\n  executable: EXE\n"), "1:1: server.endpoint: is required");
    EXPECT_THAT(
        onlyProblem("server:\n  endpoint: ws://local host:99999\nagent:\n  executable: EXE\n"),
        HasSubstr("2:13: server.endpoint: \"ws://local host:99999\" is not a valid URL"));
}

TEST_F(ConfigLoaderTest, ExecutableProblems) {
    EXPECT_EQ(onlyProblem("server:\n  endpoint: ws://localhost:4320\n"),
              "1:1: agent.executable: is required");
    EXPECT_EQ(onlyProblem("server:\n  endpoint: ws://localhost:4320\nagent:\n  executable: "
                          "/no/such/otelcol\n"),
              "4:15: agent.executable: cannot find \"/no/such/otelcol\"");
    EXPECT_EQ(onlyProblem("server:\n  endpoint: ws://localhost:4320\nagent:\n  executable: ''\n"),
              "4:15: agent.executable: must not be empty");
    EXPECT_EQ(onlyProblem("server:\n  endpoint: ws://localhost:4320\nagent:\n  executable: DIR\n"),
              "4:15: agent.executable: \"" + dir_.path().string() + "\" is not a file");
    auto plain = dir_.write("not-executable", "data");
    std::filesystem::permissions(
        plain, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
        std::filesystem::perm_options::replace);
    EXPECT_EQ(onlyProblem("server:\n  endpoint: ws://localhost:4320\nagent:\n  executable: " +
                          plain.string() + "\n"),
              "4:15: agent.executable: \"" + plain.string() + "\" is not executable");
}

TEST_F(ConfigLoaderTest, RangeChecks) {
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  opamp_server_port: 70000\n"),
              "5:22: agent.opamp_server_port: must be between 0 and 65535, got 70000");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  opamp_server_port: -1\n"),
              "5:22: agent.opamp_server_port: must be between 0 and 65535, got -1");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  collector_crash_log_snippet_kib: 2048\n"),
              "5:36: agent.collector_crash_log_snippet_kib: must be between 0 and 1024, got 2048");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  opamp_server_port: 99999999999999999999999\n"),
              "5:22: agent.opamp_server_port: number \"99999999999999999999999\" is out of range");
}

TEST_F(ConfigLoaderTest, ConfigFileTokens) {
    EXPECT_EQ(
        onlyProblem(std::string(kMinimal) + "  config_files: [$REMOTE_CONFIG, $OWN_CONFIG]\n"),
        "5:34: agent.config_files[1]: unknown special entry \"$OWN_CONFIG\" (expected "
        "$OWN_TELEMETRY_CONFIG, $OPAMP_EXTENSION_CONFIG or $REMOTE_CONFIG)");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  config_files: [\"\"]\n"),
              "5:18: agent.config_files[0]: must not be empty");
}

TEST_F(ConfigLoaderTest, HupReloadIsRejectedWhereThereIsNoSighup) {
    options_.platform.supportsHupReload = false;
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  use_hup_config_reload: true\n"),
              "5:26: agent.use_hup_config_reload: is not supported on this OS (it has no SIGHUP)");
    EXPECT_NO_THROW(load(std::string(kMinimal) + "  use_hup_config_reload: false\n"));
}

TEST_F(ConfigLoaderTest, RunAsIsLookedUpWhenLoaded) {
    config::SupervisorConfig cfg =
        load(std::string(kMinimal) + "  run_as:\n    user: nobody\n    group: root\n").config;
    ASSERT_TRUE(cfg.agent.runAs.has_value());
    EXPECT_EQ(cfg.agent.runAs->user, "nobody");
    EXPECT_EQ(cfg.agent.runAs->uid, 65534);
    EXPECT_EQ(cfg.agent.runAs->group, "root");
    EXPECT_EQ(cfg.agent.runAs->gid, 0);
    cfg = load(std::string(kMinimal) + "  run_as:\n    user: root\n").config;
    ASSERT_TRUE(cfg.agent.runAs.has_value());
    EXPECT_EQ(cfg.agent.runAs->group, "root");  // the user's primary group
    EXPECT_FALSE(load(kMinimal).config.agent.runAs.has_value());
}

TEST_F(ConfigLoaderTest, RunAsProblemsAreNamed) {
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  run_as:\n    user: no-such-user-here\n"),
              "6:11: agent.run_as.user: no such user \"no-such-user-here\"");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) +
                          "  run_as:\n    user: root\n    group: no-such-group-here\n"),
              "7:12: agent.run_as.group: no such group \"no-such-group-here\"");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  run_as:\n    group: root\n"),
              "6:5: agent.run_as.user: is required");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  run_as:\n    user: \"\"\n"),
              "6:11: agent.run_as.user: must not be empty");
    options_.platform.supportsRunAs = false;
    options_.platform.osType = "windows";
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  run_as:\n    user: root\n"),
              "6:5: agent.run_as: is not supported on windows: run the supervisor's service under "
              "the account the collector should have");
}

TEST_F(ConfigLoaderTest, StartupFallbackConfigsMustExist) {
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  startup_fallback_configs: [DIR/nope.yaml]\n"),
              "5:30: agent.startup_fallback_configs[0]: file \"" +
                  (dir_.path() / "nope.yaml").string() + "\" does not exist or is not a file");
}

TEST_F(ConfigLoaderTest, PackageSettingsProblems) {
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  package:\n    archive: zip\n"),
              "6:14: agent.package.archive: invalid value \"zip\" (expected one of: \"\", tar.gz)");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) +
                          "  package:\n    agent_binary: \"\"\n    archive: tar.gz\n"),
              "6:5: agent.package.agent_binary: must be set when archive is tar.gz");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  package:\n    verifier:\n      type: gpg\n"),
              "7:13: agent.package.verifier.type: invalid value \"gpg\" (expected one of: \"\", "
              "cosign, public_key)");
    std::vector<std::string> found = problems(std::string(kMinimal) + R"(  package:
    verifier:
      cosign:
        identities:
          - issuer: a
            issuer_regex: b
          - subject_regex: "(unclosed"
            issuer: x
)");
    ASSERT_EQ(found.size(), 3U) << ::testing::PrintToString(found);
    EXPECT_EQ(found[0],
              "9:13: agent.package.verifier.cosign.identities[0]: set exactly one of "
              "issuer and issuer_regex");
    EXPECT_EQ(found[1],
              "9:13: agent.package.verifier.cosign.identities[0]: set exactly one of "
              "subject and subject_regex");
    EXPECT_THAT(found[2], HasSubstr("11:13: agent.package.verifier.cosign.identities[1]: invalid "
                                    "regular expression \"(unclosed\""));
}

TEST_F(ConfigLoaderTest, AcceptingPackagesNeedsAVerifierWithWhatItChecksAgainst) {
    const std::string accepts = "capabilities:\n  accepts_packages: true\n";
    EXPECT_THAT(
        onlyProblem(accepts + kMinimal),
        HasSubstr("agent.package.verifier.type: capabilities.accepts_packages needs a verifier "
                  "(cosign or public_key), or agent.package.allow_unsigned: true"));
    EXPECT_NO_THROW(load(accepts + kMinimal + "  package:\n    allow_unsigned: true\n"));
    EXPECT_THAT(
        onlyProblem(accepts + kMinimal + "  package:\n    verifier:\n      type: public_key\n"),
        HasSubstr("agent.package.verifier.public_key.keys: must name at least one PEM public key "
                  "file"));
    std::vector<std::string> found =
        problems(accepts + kMinimal + "  package:\n    verifier:\n      type: cosign\n");
    ASSERT_EQ(found.size(), 2U) << ::testing::PrintToString(found);
    EXPECT_THAT(found[0], HasSubstr("agent.package.verifier.cosign.root_certificates: must name"));
    EXPECT_THAT(found[1], HasSubstr("agent.package.verifier.cosign.identities: must list"));
    EXPECT_THAT(onlyProblem(std::string(kMinimal) +
                            "  package:\n    verifier:\n      public_key:\n        keys: "
                            "[/nonexistent.pub]\n"),
                HasSubstr("agent.package.verifier.public_key.keys[0]: file \"/nonexistent.pub\" "
                          "does not exist or is not a file"));
    EXPECT_THAT(onlyProblem(std::string(kMinimal) + "  package:\n    soak_period: -1s\n"),
                HasSubstr("agent.package.soak_period: must not be negative"));
    EXPECT_THAT(onlyProblem(std::string(kMinimal) + "  package:\n    max_download_size_mib: 0\n"),
                HasSubstr("agent.package.max_download_size_mib"));
}

TEST_F(ConfigLoaderTest, TelemetryProblems) {
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "telemetry:\n  logs:\n    level: verbose\n"),
              "7:12: telemetry.logs.level: invalid value \"verbose\" (expected one of: debug, "
              "info, warn, error, dpanic, panic, fatal)");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "telemetry:\n  logs:\n    encoding: text\n"),
              "7:15: telemetry.logs.encoding: invalid value \"text\" (expected one of: json, "
              "console)");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "telemetry:\n  metrics:\n    level: all\n"),
              "7:12: telemetry.metrics.level: invalid value \"all\" (expected one of: none, basic, "
              "normal, detailed)");
    SupervisorConfig c =
        load(std::string(kMinimal) + "telemetry:\n  logs:\n    level: WARN\n").config;
    EXPECT_EQ(c.telemetry.logs.level, "warn");
}

TEST_F(ConfigLoaderTest, StopTimeoutRestartBackoffAndLogSize) {
    SupervisorConfig c = load(std::string(kMinimal) + R"(  stop_timeout: 3s
  log_max_size_mib: 8
  restart_backoff:
    initial_interval: 500ms
    max_interval: 30s
    multiplier: 1.5
    reset_after: 2m
)")
                             .config;
    EXPECT_EQ(c.agent.stopTimeout, std::chrono::seconds(3));
    EXPECT_EQ(c.agent.logMaxSizeMib, 8U);
    EXPECT_EQ(c.agent.restartBackoff.initialInterval, std::chrono::milliseconds(500));
    EXPECT_EQ(c.agent.restartBackoff.maxInterval, std::chrono::seconds(30));
    EXPECT_DOUBLE_EQ(c.agent.restartBackoff.multiplier, 1.5);
    EXPECT_EQ(c.agent.restartBackoff.resetAfter, std::chrono::minutes(2));

    SupervisorConfig defaults = load(kMinimal).config;
    EXPECT_EQ(defaults.agent.stopTimeout, std::chrono::seconds(10));
    EXPECT_EQ(defaults.agent.restartBackoff.initialInterval, std::chrono::seconds(1));
    EXPECT_EQ(defaults.agent.logMaxSizeMib, 64U);

    std::vector<std::string> found = problems(std::string(kMinimal) + R"(  restart_backoff:
    initial_interval: 2m
    max_interval: 1m
    multiplier: fast
)");
    ASSERT_EQ(found.size(), 2U) << ::testing::PrintToString(found);
    EXPECT_THAT(found[0],
                ::testing::HasSubstr("agent.restart_backoff.multiplier: must be a number"));
    EXPECT_THAT(found[1], ::testing::HasSubstr("initial_interval must not exceed max_interval"));
}

TEST_F(ConfigLoaderTest, TlsProblems) {
    dir_.write("ca.pem", "ca");
    std::vector<std::string> found = problems(R"(server:
  endpoint: wss://localhost:4320
  tls:
    ca_file: /no/ca.pem
    cert_pem: "---"
    min_version: "1.4"
agent:
  executable: EXE
)");
    ASSERT_EQ(found.size(), 3U) << ::testing::PrintToString(found);
    EXPECT_EQ(found[0],
              "4:14: server.tls.ca_file: file \"/no/ca.pem\" does not exist or is not a "
              "file");
    EXPECT_EQ(found[1],
              "6:18: server.tls.min_version: invalid TLS version \"1.4\" (expected 1.0, "
              "1.1, 1.2 or 1.3)");
    EXPECT_EQ(found[2],
              "4:5: server.tls: a client or server certificate needs both the "
              "certificate and its key");
    EXPECT_EQ(onlyProblem(R"(server:
  endpoint: wss://localhost:4320
  tls:
    min_version: "1.3"
    max_version: "1.2"
agent:
  executable: EXE
)"),
              "4:18: server.tls.min_version: min_version 1.3 is newer than max_version 1.2");
    EXPECT_EQ(onlyProblem(R"(server:
  endpoint: wss://localhost:4320
  tls:
    ca_pem: x
    ca_file: DIR/ca.pem
agent:
  executable: EXE
)"),
              "4:5: server.tls: set ca_file or ca_pem, not both");
    EXPECT_EQ(onlyProblem(R"(server:
  endpoint: wss://localhost:4320
  tls:
    cipher_suites: [TLS_AES_128_GCM_SHA256, ECDHE-RSA-AES128-GCM-SHA256]
agent:
  executable: EXE
)"),
              "4:45: server.tls.cipher_suites: unknown cipher suite "
              "\"ECDHE-RSA-AES128-GCM-SHA256\" (use Go's names, such as "
              "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
    EXPECT_EQ(onlyProblem(R"(server:
  endpoint: wss://localhost:4320
  tls:
    curve_preferences: [X25519, P-256]
agent:
  executable: EXE
)"),
              "4:33: server.tls.curve_preferences: unsupported curve \"P-256\" (expected "
              "X25519, P256, P384 or P521)");
}

TEST_F(ConfigLoaderTest, HealthCheckProblems) {
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "healthcheck:\n  endpoint: localhost\n"),
              "6:13: healthcheck.endpoint: \"localhost\" is not host:port with a port from 0 to "
              "65535");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "healthcheck:\n  endpoint: localhost:70000\n"),
              "6:13: healthcheck.endpoint: \"localhost:70000\" is not host:port with a port from "
              "0 to 65535");
    EXPECT_THAT(warnings(std::string(kMinimal) + "healthcheck:\n  endpoint: :0\n  cors: {}\n"),
                ::testing::ElementsAre("7:9: healthcheck.cors: is accepted for compatibility and "
                                       "ignored"));
}

// Unlike the Go supervisor's, no feature gate is needed; the gate's flag is still accepted.
TEST_F(ConfigLoaderTest, ExtensionsNeedNoFeatureGate) {
    EXPECT_NO_THROW(load(std::string(kMinimal) +
                         "extensions:\n  basicauth:\n    client_auth: {username: u}\n"));
    options_.featureGates = {kExtensionsFeatureGate};
    EXPECT_NO_THROW(load(std::string(kMinimal) +
                         "extensions:\n  basicauth:\n    client_auth: {username: u}\n"));
    EXPECT_EQ(onlyProblem(R"(server:
  endpoint: ws://localhost:4320
  auth: oauth2client
agent:
  executable: EXE
)"),
              "0:0: server.auth: refers to extension \"oauth2client\", which is not defined "
              "under extensions");
}

TEST_F(ConfigLoaderTest, ShapeProblemsInMapsAndLists) {
    EXPECT_EQ(onlyProblem("server:\n  endpoint: ws://localhost:4320\n  headers:\n    X-A: {b: "
                          "c}\nagent:\n  executable: EXE\n"),
              "4:10: server.headers.X-A: expected a string or a list of strings, got a map");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  env:\n    A: [1, 2]\n"),
              "6:8: agent.env.A: expected a string, got a list");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) +
                          "  package:\n    verifier:\n      cosign:\n        identities: x\n"),
              "8:21: agent.package.verifier.cosign.identities: expected a list, got a scalar");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "? [a, b]\n: c\n"),
              "5:3: keys must be plain strings");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "storage:\n  directory: \"\"\n"),
              "6:14: storage.directory: must not be empty");
}

TEST_F(ConfigLoaderTest, TlsFileAndPemAreExclusive) {
    dir_.write("cert.pem", "cert");
    dir_.write("key.pem", "key");
    std::vector<std::string> found = problems(R"(server:
  endpoint: wss://localhost:4320
  tls:
    cert_file: DIR/cert.pem
    cert_pem: x
    key_file: DIR/key.pem
    key_pem: y
agent:
  executable: EXE
)");
    EXPECT_THAT(found,
                ::testing::ElementsAre("4:5: server.tls: set cert_file or cert_pem, not both",
                                       "4:5: server.tls: set key_file or key_pem, not both"));
    EXPECT_EQ(onlyProblem(std::string(kMinimal) +
                          "healthcheck:\n  endpoint: localhost:0\n  tls:\n    client_ca_file: "
                          "/no/ca.pem\n"),
              "8:21: healthcheck.tls.client_ca_file: file \"/no/ca.pem\" does not exist or is "
              "not a file");
}

TEST_F(ConfigLoaderTest, LocalServerOnAUnixSocket) {
    SupervisorConfig c = load(std::string(kMinimal) +
                              "  opamp_server_socket:\n    transport: unix\n    endpoint: "
                              "/run/otelcol/opamp.sock\n  opamp_server_socket_mode: \"0660\"\n")
                             .config;
    ASSERT_TRUE(c.agent.opampServerSocket.has_value());
    EXPECT_EQ(c.agent.opampServerSocket->transport, "unix");
    EXPECT_EQ(c.agent.opampServerSocket->endpoint, "/run/otelcol/opamp.sock");
    EXPECT_EQ(c.agent.opampServerSocketMode, 0660U);
    EXPECT_FALSE(load(kMinimal).config.agent.opampServerSocket.has_value());
}

TEST_F(ConfigLoaderTest, LocalServerSocketProblems) {
    auto socket = [](const std::string& transport, const std::string& endpoint) {
        return std::string(kMinimal) + "  opamp_server_socket:\n    transport: " + transport +
               "\n    endpoint: " + endpoint + "\n";
    };
    EXPECT_EQ(onlyProblem(socket("unix", "relative.sock")),
              "7:15: agent.opamp_server_socket.endpoint: must be an absolute path");
    EXPECT_EQ(onlyProblem(socket("unix", "/" + std::string(107, 'a'))),
              "7:15: agent.opamp_server_socket.endpoint: path is longer than this OS allows for a "
              "socket (107 bytes)");
    EXPECT_EQ(onlyProblem(socket("npipe", "\\\\.\\pipe\\otel")),
              "6:16: agent.opamp_server_socket.transport: \"npipe\" is only supported on Windows");
    EXPECT_EQ(onlyProblem(socket("tcp", "localhost:1")),
              "6:16: agent.opamp_server_socket.transport: must be \"unix\" or \"npipe\", got "
              "\"tcp\"");
    EXPECT_EQ(onlyProblem(socket("unix", "\"\"")),
              "7:15: agent.opamp_server_socket.endpoint: is required");
    EXPECT_EQ(onlyProblem(socket("unix", "/x.sock") + "  opamp_server_port: 4321\n"),
              "6:5: agent.opamp_server_socket: cannot be used together with "
              "agent.opamp_server_port");
    EXPECT_EQ(onlyProblem(socket("unix", "/x.sock") + "  opamp_server_socket_mode: \"0999\"\n"),
              "8:29: agent.opamp_server_socket_mode: must be an octal file mode from 0 to 0777, "
              "got \"0999\"");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  opamp_server_socket_mode: \"0600\"\n"),
              "5:29: agent.opamp_server_socket_mode: needs agent.opamp_server_socket with "
              "transport \"unix\"");

    options_.platform.osType = "darwin";
    EXPECT_EQ(onlyProblem(socket("unix", "/" + std::string(103, 'a'))),
              "7:15: agent.opamp_server_socket.endpoint: path is longer than this OS allows for a "
              "socket (103 bytes)");
    options_.platform.osType = "windows";
    EXPECT_EQ(onlyProblem(socket("unix", "/x.sock")),
              "6:16: agent.opamp_server_socket.transport: \"unix\" is not supported on Windows");
    EXPECT_EQ(onlyProblem(socket("npipe", "otel")),
              "7:15: agent.opamp_server_socket.endpoint: a named pipe must be named "
              "\\\\.\\pipe\\<name>");
    EXPECT_NO_THROW(load(socket("npipe", "'\\\\.\\pipe\\otel'")));
}

TEST_F(ConfigLoaderTest, ConnectionSettingsStatusNeedsConnectionSettings) {
    EXPECT_EQ(onlyProblem(std::string(kMinimal) +
                          "capabilities:\n  reports_connection_settings_status: true\n"),
              "6:39: capabilities.reports_connection_settings_status: needs "
              "capabilities.accepts_opamp_connection_settings");
}

TEST_F(ConfigLoaderTest, CertificateRequestAndOtherConnections) {
    const std::string tlsServer = R"(server:
  endpoint: wss://opamp.example.com/v1/opamp
  certificate_request:
    enabled: true
    key_type: rsa-3072
    common_name: edge-7
    organization: [Example]
    dns_names: [edge-7.example.com]
    renew_before: 48h
agent:
  executable: EXE
capabilities:
  accepts_opamp_connection_settings: true
  accepts_other_connection_settings: true
)";
    SupervisorConfig c = load(tlsServer).config;
    const CertificateRequestSettings& r = c.server.certificateRequest;
    EXPECT_TRUE(r.enabled);
    EXPECT_EQ(r.keyType, "rsa-3072");
    EXPECT_EQ(r.commonName, "edge-7");
    EXPECT_EQ(r.organization, std::vector<std::string>{"Example"});
    EXPECT_EQ(r.dnsNames, std::vector<std::string>{"edge-7.example.com"});
    EXPECT_EQ(r.renewBefore, std::chrono::hours(48));
    EXPECT_TRUE(c.capabilities.acceptsOtherConnectionSettings);
    EXPECT_FALSE(load(kMinimal).config.server.certificateRequest.enabled);
    EXPECT_FALSE(load(kMinimal).config.capabilities.acceptsOtherConnectionSettings);

    std::string badKey = tlsServer;
    badKey.replace(badKey.find("rsa-3072"), 8, "dsa-1024");
    EXPECT_EQ(onlyProblem(badKey),
              "5:15: server.certificate_request.key_type: \"dsa-1024\" is not one of "
              "ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, ed25519");
    std::string plain = tlsServer;
    plain.replace(plain.find("wss://"), 6, "ws://");
    EXPECT_EQ(onlyProblem(plain),
              "4:14: server.certificate_request.enabled: needs a wss:// or https:// endpoint: a "
              "client certificate is a TLS setting");
    std::string noOffers = tlsServer;
    noOffers.replace(noOffers.find("accepts_opamp_connection_settings: true"), 39,
                     "accepts_opamp_connection_settings: false");
    EXPECT_THAT(onlyProblem(noOffers), HasSubstr("server.certificate_request.enabled: needs "
                                                 "capabilities.accepts_opamp_connection_settings"));
}

TEST_F(ConfigLoaderTest, UnknownExtensionType) {
    options_.featureGates = {kExtensionsFeatureGate};
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "extensions:\n  sigv4auth/aws: {}\n"),
              "6:3: extensions.sigv4auth/aws: unknown extension type \"sigv4auth\" (supported: "
              "basicauth, bearertokenauth, nop, oauth2client)");
    EXPECT_NO_THROW(load(std::string(kMinimal) + "extensions:\n  basicauth/primary:\n    "
                                                 "client_auth: {username: u, password: p}\n"));
}

// server.auth's extension is read in full: the supervisor runs it.
TEST_F(ConfigLoaderTest, TheAuthExtensionIsReadAsTheSupervisorUsesIt) {
    options_.featureGates = {kExtensionsFeatureGate};
    env_ = {{"SECRET", "s3cret"}};
    auto withAuth = [](const std::string& id, const std::string& settings) {
        return "server:\n  endpoint: ws://localhost:4320\n  auth: " + id +
               "\nagent:\n  executable: EXE\nextensions:\n  " + id + ":\n" + settings;
    };
    SupervisorConfig bearer =
        load(withAuth("bearertokenauth/file", "    scheme: Token\n    filename: EXE\n")).config;
    ASSERT_TRUE(bearer.server.authExtension);
    EXPECT_EQ(bearer.server.authExtension->id, "bearertokenauth/file");
    const auto& token = std::get<BearerTokenAuth>(bearer.server.authExtension->settings);
    EXPECT_EQ(token.scheme, "Token");
    EXPECT_EQ(token.header, "Authorization");
    EXPECT_EQ(token.filename, executable_.string());

    SupervisorConfig basic =
        load(withAuth("basicauth", "    client_auth:\n      username: u\n      password: p\n"))
            .config;
    const auto& credentials = std::get<BasicAuth>(basic.server.authExtension->settings);
    EXPECT_EQ(credentials.username, "u");
    EXPECT_EQ(credentials.password, "p");

    SupervisorConfig oauth = load(withAuth("oauth2client", R"(    client_id: supervisor
    client_secret: ${env:SECRET}
    token_url: https://auth.example.com/token
    scopes: [opamp.read, opamp.write]
    endpoint_params: {audience: opamp}
    timeout: 3s
    expiry_buffer: 30s
    tls:
      insecure_skip_verify: true
)"))
                                 .config;
    const auto& o = std::get<OAuth2ClientAuth>(oauth.server.authExtension->settings);
    EXPECT_EQ(o.clientId, "supervisor");
    EXPECT_EQ(o.clientSecret, "s3cret");
    EXPECT_EQ(o.tokenUrl, "https://auth.example.com/token");
    EXPECT_EQ(o.scopes, (std::vector<std::string>{"opamp.read", "opamp.write"}));
    EXPECT_EQ(o.endpointParams.at("audience"), "opamp");
    EXPECT_EQ(o.timeout, 3s);
    EXPECT_EQ(o.expiryBuffer, 30s);
    ASSERT_TRUE(o.tls);
    EXPECT_TRUE(o.tls->insecureSkipVerify);

    // Not named by server.auth: kept as text only, not checked further.
    SupervisorConfig unused =
        load(std::string(kMinimal) + "extensions:\n  oauth2client:\n    scopes: [x]\n").config;
    EXPECT_FALSE(unused.server.authExtension);
}

TEST_F(ConfigLoaderTest, AnAuthExtensionTheSupervisorCannotUseIsRefused) {
    options_.featureGates = {kExtensionsFeatureGate};
    auto withAuth = [](const std::string& id, const std::string& settings) {
        return "server:\n  endpoint: ws://localhost:4320\n  auth: " + id +
               "\nagent:\n  executable: EXE\nextensions:\n  " + id + ":\n" + settings;
    };
    EXPECT_EQ(onlyProblem(withAuth("bearertokenauth", "    scheme: Bearer\n")),
              "8:5: extensions.bearertokenauth: needs token, tokens or filename");
    options_.featureGates = {};  // the gate's flag is optional
    SupervisorConfig first = load(withAuth("bearertokenauth", "    tokens: [a, b]\n")).config;
    EXPECT_EQ(std::get<BearerTokenAuth>(first.server.authExtension->settings).token, "a");
    EXPECT_EQ(onlyProblem(withAuth("oauth2client",
                                   "    client_id: a\n    client_secret: b\n    token_url: "
                                   "https://a/t\n    expiry_buffer: -1s\n")),
              "11:20: extensions.oauth2client.expiry_buffer: must not be negative");
    EXPECT_THAT(onlyProblem(withAuth("bearertokenauth", "    filename: DIR/missing\n")),
                HasSubstr("extensions.bearertokenauth.filename: "));
    EXPECT_THAT(onlyProblem(withAuth("basicauth", "    htpasswd: {file: /etc/x}\n")),
                HasSubstr("extensions.basicauth.htpasswd: is for servers"));
    EXPECT_EQ(onlyProblem(withAuth("basicauth", "    client_auth: {password: p}\n")),
              "8:18: extensions.basicauth.client_auth.username: is required");
    std::vector<std::string> oauth = problems(withAuth("oauth2client", "    scopes: [x]\n"));
    EXPECT_THAT(
        oauth, ::testing::ElementsAre("8:5: extensions.oauth2client.client_id: is required (or "
                                      "client_id_file)",
                                      "8:5: extensions.oauth2client.client_secret: is required (or "
                                      "client_secret_file)",
                                      "8:5: extensions.oauth2client.token_url: is required"));
    EXPECT_EQ(onlyProblem(withAuth("oauth2client",
                                   "    client_id: a\n    client_secret: b\n    token_url: "
                                   "ftp://auth.example.com/token\n")),
              "10:16: extensions.oauth2client.token_url: \"ftp://auth.example.com/token\" is "
              "not an http:// or https:// URL");
    EXPECT_THAT(onlyProblem(withAuth("oauth2client",
                                     "    client_id: a\n    client_secret: b\n    token_url: "
                                     "https://a/t\n    grant: x\n")),
                HasSubstr("extensions.oauth2client.grant"));
}

TEST_F(ConfigLoaderTest, ServerProxyIsOurs) {
    SupervisorConfig c = load(R"(server:
  endpoint: wss://opamp.example.com/v1/opamp
  proxy:
    url: http://agent:pw@proxy.corp:3128
    headers:
      X-Proxy-Tenant: blue
agent:
  executable: EXE
)")
                             .config;
    ASSERT_TRUE(c.server.proxy.has_value());
    EXPECT_EQ(c.server.proxy->url, "http://agent:pw@proxy.corp:3128");
    EXPECT_EQ(c.server.proxy->headers.at("X-Proxy-Tenant"), std::vector<std::string>{"blue"});
    EXPECT_FALSE(load(kMinimal).config.server.proxy.has_value());
    EXPECT_EQ(onlyProblem("server:\n  endpoint: ws://h:1\n  proxy:\n    url: "
                          "socks5://p:1080\nagent:\n  executable: EXE\n"),
              "4:10: server.proxy.url: \"socks5://p:1080\" is not an http://host:port proxy URL");
}

TEST_F(ConfigLoaderTest, DuplicateKeys) {
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  executable: EXE\n"),
              "5:3: agent.executable: key is defined more than once in this map");
}

TEST_F(ConfigLoaderTest, InvalidYamlHasAPosition) {
    std::vector<std::string> found = problems("server:\n  endpoint: [unclosed\nagent: {}\n");
    ASSERT_EQ(found.size(), 1U);
    EXPECT_THAT(found[0], ::testing::StartsWith("3:"));
    EXPECT_THAT(found[0], HasSubstr("invalid YAML"));
    EXPECT_EQ(onlyProblem("- just\n- a list\n"), "1:1: expected a map, got a list");
    EXPECT_EQ(onlyProblem(""),
              "0:0: the config is empty (server.endpoint and agent.executable "
              "are required)");
}

TEST_F(ConfigLoaderTest, ReportsEveryProblemAtOnce) {
    std::vector<std::string> found = problems(R"(server:
  endpoint: gopher://x
agent:
  executable: /missing
  bootstrap_timeout: soon
  opamp_server_port: 65536
unknown: true
)");
    EXPECT_EQ(found.size(), 5U) << ::testing::PrintToString(found);
}

TEST_F(ConfigLoaderTest, ReferenceErrorsAreProblems) {
    EXPECT_EQ(onlyProblem("server:\n  endpoint: ${vault:x}\nagent:\n  executable: EXE\n"),
              "2:13: server.endpoint: unsupported reference scheme \"vault\" in ${vault:x} "
              "(supported: env, file)");
}

TEST_F(ConfigLoaderTest, MissingFile) {
    try {
        loadConfigFile(dir_.path() / "nope.yaml", options_);
        FAIL();
    } catch (const ConfigError& e) {
        ASSERT_EQ(e.problems().size(), 1U);
        EXPECT_EQ(e.problems()[0].str(),
                  (dir_.path() / "nope.yaml").string() + ": config file does not exist");
    }
}

TEST_F(ConfigLoaderTest, ErrorMessageListsProblemsWithFileAndPosition) {
    try {
        load(std::string(kMinimal) + "  bootstrap_timeout: 5x\n");
        FAIL();
    } catch (const ConfigError& e) {
        EXPECT_THAT(e.what(), HasSubstr("1 problem in the config:\n  supervisor.yaml:5:22: "
                                        "agent.bootstrap_timeout: invalid duration"));
    }
}

// ---- warnings ------------------------------------------------------------------------------

TEST_F(ConfigLoaderTest, WarningsForAcceptedButDubiousValues) {
    EXPECT_THAT(warnings(std::string(kMinimal) + "  instance_id: not-a-uuid\n"),
                ::testing::ElementsAre("5:16: agent.instance_id: \"not-a-uuid\" is not a UUID; a "
                                       "new UUIDv7 is generated instead"));
    EXPECT_EQ(load(std::string(kMinimal) + "  instance_id: not-a-uuid\n").config.agent.instanceId,
              "");
    EXPECT_THAT(warnings(std::string(kMinimal) + "capabilities:\n  reports_remote_config: true\n"),
                ::testing::ElementsAre(HasSubstr("capabilities.reports_remote_config: is "
                                                 "deprecated and has no effect")));
    EXPECT_THAT(warnings("server:\n  endpoint: ws://localhost:4320\n  tls:\n    insecure: "
                         "true\nagent:\n  executable: EXE\n"),
                ::testing::ElementsAre("4:5: server.tls: is ignored: the endpoint uses ws://, "
                                       "which has no TLS"));
    EXPECT_THAT(warnings(std::string(kMinimal) + "  config_files: [DIR/absent.yaml]\n"),
                ::testing::ElementsAre(HasSubstr("it is skipped when the config is composed")));
    EXPECT_THAT(warnings("server:\n  endpoint: ws://${env:H:-localhost}:4320${SUFFIX}\nagent:\n  "
                         "executable: EXE\n"),
                ::testing::ElementsAre(HasSubstr("environment variable SUFFIX is not set")));
}

TEST_F(ConfigLoaderTest, StatusEndpointIsLoopbackOnly) {
    EXPECT_EQ(load(kMinimal).config.status.endpoint, "127.0.0.1:0");
    EXPECT_EQ(load(std::string(kMinimal) + "status:\n  endpoint: \"\"\n").config.status.endpoint,
              "");
    EXPECT_EQ(load(std::string(kMinimal) + "status:\n  endpoint: \"[::1]:9999\"\n")
                  .config.status.endpoint,
              "[::1]:9999");
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "status:\n  endpoint: 0.0.0.0:9999\n"),
              "6:13: status.endpoint: \"0.0.0.0:9999\" must be a loopback host:port, such as "
              "127.0.0.1:0 (or \"\" to turn the status endpoint off)");
}

TEST_F(ConfigLoaderTest, RemoteConfigRestrictions) {
    RemoteConfigRestrictions defaults = load(kMinimal).config.remoteConfigRestrictions;
    EXPECT_TRUE(defaults.components.empty());
    EXPECT_TRUE(defaults.allowedConfigProviders.empty());
    EXPECT_EQ(defaults.maxConfigBytes, 16U * 1024U * 1024U);

    RemoteConfigRestrictions r = load(std::string(kMinimal) + R"(remote_config_restrictions:
  max_config_bytes: 65536
  components:
    receivers:
      allow: [otlp, filelog]
    exporters:
      deny: ["file*"]
  allowed_path_prefixes: [/var/log]
  allowed_exporter_endpoints: ["*.example.com"]
  allowed_config_providers: [env]
)")
                                     .config.remoteConfigRestrictions;
    EXPECT_EQ(r.maxConfigBytes, 65536U);
    EXPECT_EQ(r.components.at("receivers").allow, (std::vector<std::string>{"otlp", "filelog"}));
    EXPECT_TRUE(r.components.at("receivers").deny.empty());
    EXPECT_EQ(r.components.at("exporters").deny, (std::vector<std::string>{"file*"}));
    EXPECT_EQ(r.allowedPathPrefixes, (std::vector<std::string>{"/var/log"}));
    EXPECT_EQ(r.allowedExporterEndpoints, (std::vector<std::string>{"*.example.com"}));
    EXPECT_EQ(r.allowedConfigProviders, (std::vector<std::string>{"env"}));
}

TEST_F(ConfigLoaderTest, RemoteConfigRestrictionProblems) {
    EXPECT_EQ(problems(std::string(kMinimal) + R"(remote_config_restrictions:
  max_config_bytes: 0
  components:
    pipelines: {allow: [x]}
    receivers: {allow: [""]}
  allowed_path_prefixes: [var/log]
  allowed_config_providers: ["env:"]
)"),
              (std::vector<std::string>{
                  "6:21: remote_config_restrictions.max_config_bytes: must be between 1 and "
                  "4294967296, got 0",
                  "9:25: remote_config_restrictions.components.receivers.allow[0]: is empty; "
                  "write a component type or a glob such as \"file*\"",
                  "8:5: remote_config_restrictions.components.pipelines: unknown key",
                  "10:27: remote_config_restrictions.allowed_path_prefixes[0]: \"var/log\" is "
                  "not an absolute path",
                  "11:30: remote_config_restrictions.allowed_config_providers[0]: \"env:\" is "
                  "not a provider scheme (such as env, file, http)"}));
    EXPECT_EQ(onlyProblem(std::string(kMinimal) + "  config_soak_period: -1s\n"),
              "5:23: agent.config_soak_period: must not be negative");
}

}  // namespace
}  // namespace opampsup::config
