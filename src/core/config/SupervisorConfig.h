#pragma once

// The supervisor's configuration, with the Go supervisor's keys and defaults
// (see docs/configuration.md). Plain data: loading and checking live in ConfigLoader.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "platform/account.h"

namespace opampsup::config {

using Duration = std::chrono::nanoseconds;

// A client-side TLS configuration, as the collector's `configtls.ClientConfig`.
struct TlsClientSettings {
    bool insecure = false;
    bool insecureSkipVerify = false;
    std::string caFile;
    std::string caPem;
    std::string certFile;
    std::string certPem;
    std::string keyFile;
    std::string keyPem;
    std::string minVersion;  // "1.0".."1.3"; empty means the default, TLS 1.2
    std::string maxVersion;  // empty means the newest the library supports
    std::vector<std::string> cipherSuites;
    std::vector<std::string> curvePreferences;
    bool includeSystemCaCertsPool = false;
    std::string serverNameOverride;
    Duration reloadInterval{0};
};

// A server-side TLS configuration (the health check endpoint), as `configtls.ServerConfig`.
struct TlsServerSettings {
    std::string caFile;
    std::string caPem;
    std::string certFile;
    std::string certPem;
    std::string keyFile;
    std::string keyPem;
    std::string minVersion;
    std::string maxVersion;
    std::vector<std::string> cipherSuites;
    std::vector<std::string> curvePreferences;
    bool includeSystemCaCertsPool = false;
    Duration reloadInterval{0};
    std::string clientCaFile;
    bool clientCaFileReload = false;
};

// HTTP headers: a name may carry several values, as Go's http.Header.
using Headers = std::map<std::string, std::vector<std::string>>;

// Ours (not in the Go supervisor): an HTTP proxy for the OpAMP connection only.
struct ProxySettings {
    std::string url;  // http://[user:password@]host:port; empty disables the environment's
    Headers headers;  // sent with the CONNECT request
};

// Ours: the OpAMP agent-initiated CSR flow. The supervisor makes a key and a certificate
// signing request, sends it to a server that accepts them, and connects with the
// certificate the server issues; the key stays on the host.
struct CertificateRequestSettings {
    bool enabled = false;
    std::string keyType = "ecdsa-p256";  // ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, ed25519
    std::string commonName;              // empty: the instance UID
    std::vector<std::string> organization;
    std::vector<std::string> dnsNames;
    // A new certificate is requested when the one in use expires within this.
    Duration renewBefore = std::chrono::hours(720);
};

// How the supervisor authenticates to the OpAMP server: the client side of the collector's
// auth extensions of the same names (server.auth names one entry of `extensions`).
struct BearerTokenAuth {  // bearertokenauth
    std::string header = "Authorization";
    std::string scheme = "Bearer";
    std::string token;
    std::string filename;  // read at each (re)connect and request, so a rotated token is used
};

struct BasicAuth {  // basicauth: client_auth
    std::string username;
    std::string password;
};

struct OAuth2ClientAuth {  // oauth2client: the client credentials grant
    std::string clientId;
    std::string clientIdFile;
    std::string clientSecret;
    std::string clientSecretFile;
    std::string tokenUrl;
    std::vector<std::string> scopes;
    std::map<std::string, std::string> endpointParams;
    Duration timeout{0};  // 0: the connect timeout's default
    // A token is renewed this long before it expires.
    Duration expiryBuffer = std::chrono::minutes(5);
    std::optional<TlsClientSettings> tls;
};

struct NopAuth {};  // nop: adds nothing

struct AuthExtension {
    std::string id;  // the component ID, e.g. "oauth2client/corp"
    std::variant<NopAuth, BearerTokenAuth, BasicAuth, OAuth2ClientAuth> settings;
};

struct ServerSettings {
    std::string endpoint;  // ws://, wss:// (WebSocket) or http://, https:// (HTTP polling)
    Headers headers;
    std::optional<TlsClientSettings> tls;        // set when the config has a `tls` section
    std::string auth;                            // component ID of an entry in `extensions`
    std::optional<AuthExtension> authExtension;  // that entry, read
    std::optional<ProxySettings> proxy;          // ours; HTTP(S)_PROXY/NO_PROXY when absent
    // Ours: how long a connection-settings offer has to connect before the supervisor goes
    // back to the settings it had.
    Duration connectionSettingsTimeout = std::chrono::seconds(30);
    CertificateRequestSettings certificateRequest;  // ours
};

struct Capabilities {
    bool acceptsRemoteConfig = false;
    bool reportsRemoteConfig = false;  // deprecated upstream: no effect
    bool acceptsRestartCommand = false;
    bool acceptsOpampConnectionSettings = false;
    bool acceptsOtherConnectionSettings = false;  // upstream has no key; never advertised there
    bool reportsEffectiveConfig = true;
    bool reportsOwnMetrics = true;
    bool reportsOwnLogs = false;
    bool reportsOwnTraces = false;
    bool reportsHealth = true;
    bool reportsAvailableComponents = false;
    bool reportsHeartbeat = true;
    bool acceptsPackages = false;
    bool reportsPackageStatuses = false;
    bool reportsConnectionSettingsStatus = false;
};

struct StorageSettings {
    std::filesystem::path directory;  // the platform default when not configured
};

struct CosignIdentity {
    std::string issuer;
    std::string issuerRegex;
    std::string subject;
    std::string subjectRegex;
};

struct PackageSettings {
    std::string agentBinary;   // platform default: otelcol-contrib(.exe)
    std::string archive;       // "" (bare binary) or "tar.gz"
    std::string verifierType;  // "", "cosign" or (ours) "public_key"
    std::string cosignGithubWorkflowRepository;
    std::vector<CosignIdentity> cosignIdentities;
    // Ours: signatures are checked offline, so the roots (and intermediates) the signing
    // certificates chain to come from files, and pinned keys for "public_key".
    std::vector<std::filesystem::path> cosignRootCertificates;
    std::vector<std::filesystem::path> publicKeys;
    // Ours: what a package may be. Unsigned packages and downgrades are refused unless
    // allowed; downloads are capped.
    bool allowUnsigned = false;
    bool allowDowngrade = false;
    std::uint64_t maxDownloadSizeMib = 1024;
    // Ours: a new collector binary must report healthy within health_timeout and stay so
    // for soak_period before it is kept; otherwise the previous binary comes back.
    Duration healthTimeout = std::chrono::seconds(60);
    Duration soakPeriod = std::chrono::seconds(10);
};

struct AgentDescriptionSettings {
    std::map<std::string, std::string> identifyingAttributes;
    std::map<std::string, std::string> nonIdentifyingAttributes;
    bool includeResourceAttributes = false;
};

// Special entries of `agent.config_files` that stand for the supervisor's own sections.
inline constexpr const char* kOwnTelemetryConfigToken = "$OWN_TELEMETRY_CONFIG";
inline constexpr const char* kOpampExtensionConfigToken = "$OPAMP_EXTENSION_CONFIG";
inline constexpr const char* kRemoteConfigToken = "$REMOTE_CONFIG";

// Where the local OpAMP server listens when not on a TCP port: a Unix domain socket
// (Linux, macOS) or a named pipe (Windows).
struct LocalServerSocket {
    std::string transport;  // "unix" or "npipe"
    std::string endpoint;   // socket path or pipe name
};

// How long to wait before restarting a collector that exited on its own (ours; the Go
// supervisor waits a fixed 5 s).
struct RestartBackoff {
    Duration initialInterval = std::chrono::seconds(1);
    Duration maxInterval = std::chrono::seconds(60);
    double multiplier = 2.0;
    // A run at least this long counts as healthy: the next failure starts from the
    // initial interval again.
    Duration resetAfter = std::chrono::seconds(60);
};

struct AgentSettings {
    std::filesystem::path executable;
    std::string instanceId;  // used only before persistent_state.yaml exists
    Duration orphanDetectionInterval = std::chrono::seconds(5);
    AgentDescriptionSettings description;
    Duration configApplyTimeout = std::chrono::seconds(5);
    Duration bootstrapTimeout = std::chrono::seconds(3);
    std::uint16_t opampServerPort = 0;  // 0: a free port on localhost
    std::optional<LocalServerSocket> opampServerSocket;
    std::optional<std::uint32_t> opampServerSocketMode;  // file mode of the Unix socket
    bool passthroughLogs = false;
    // Ours: how long a collector has to exit after the stop signal before it is killed,
    // the restart delays after a crash, and the size agent.log may grow to.
    Duration stopTimeout = std::chrono::seconds(10);
    RestartBackoff restartBackoff;
    std::uint32_t logMaxSizeMib = 64;
    std::uint32_t collectorCrashLogSnippetKib = 0;
    // Ours: on by default (the Go supervisor's default is off), so a failed remote config
    // never leaves the host on a config that does not run.
    bool automaticConfigRollback = true;
    bool useHupConfigReload = false;
    // Absent: validate when the collector has the `validate` command; true: always (a
    // collector without it fails the config); false: never.
    std::optional<bool> validateConfig;
    // Ours: how long a new remote config must stay healthy before it is APPLIED; 0 makes it
    // APPLIED at the first healthy report, as the Go supervisor does.
    Duration configSoakPeriod{0};
    std::vector<std::string> configFiles;
    std::vector<std::string> args;
    // Absent means plain inheritance of the supervisor's environment.
    std::optional<std::map<std::string, std::string>> env;
    // Removed from the environment the collector inherits (ours: upstream cannot remove).
    std::vector<std::string> envUnset;
    std::vector<std::filesystem::path> startupFallbackConfigs;
    PackageSettings package;
    // Ours (agent.run_as): the account every run of the collector gets, looked up when the
    // config is loaded; absent, the collector runs as the supervisor.
    std::optional<platform::Account> runAs;
};

struct LogSettings {
    std::string level = "info";  // debug, info, warn, error, dpanic, panic, fatal
    std::vector<std::string> outputPaths{"stdout"};
    std::vector<std::string> errorOutputPaths{"stderr"};
    std::string encoding = "json";  // json or console
    std::string processorsYaml;     // `processors` kept verbatim for the OTLP log exporter
};

struct MetricsSettings {
    std::string level = "basic";  // none, basic, normal, detailed
    std::string readersYaml;      // `readers` kept verbatim for the OTLP metric exporter
};

struct TracesSettings {
    std::string level = "basic";
    std::vector<std::string> propagators;
    std::string processorsYaml;
};

struct TelemetrySettings {
    LogSettings logs;
    MetricsSettings metrics;
    TracesSettings traces;
    std::string resourceYaml;  // `resource` kept verbatim
};

struct HealthCheckSettings {
    std::string endpoint;  // host:port; no port (or port 0) disables the server
    std::optional<TlsServerSettings> tls;
    std::map<std::string, std::string> responseHeaders;
    Duration readTimeout{0};
    Duration readHeaderTimeout{0};
    Duration writeTimeout{0};
    Duration idleTimeout{0};
};

// Ours: local policy on what a remote config may contain. The server cannot change it; a
// remote config that breaks a rule is FAILED and never reaches the collector.
struct ComponentRule {
    std::vector<std::string> allow;  // globs on the component type; empty allows every type
    std::vector<std::string> deny;   // globs; a match is refused even when allowed
};

struct RemoteConfigRestrictions {
    // Component kind (receivers, processors, exporters, connectors, extensions) -> rule.
    std::map<std::string, ComponentRule> components;
    // Absolute path prefixes that values of path-bearing keys must lie under; empty: any.
    std::vector<std::string> allowedPathPrefixes;
    // Host patterns (globs, optionally with ":port") exporters may send to; empty: any.
    std::vector<std::string> allowedExporterEndpoints;
    // Confmap providers (env, file, http, ...) a remote config may use; none by default,
    // so a remote config cannot read the host's environment or files.
    std::vector<std::string> allowedConfigProviders;
    std::uint64_t maxConfigBytes = 16U * 1024U * 1024U;
};

// Ours: the loopback status endpoint (GET /status) that `opampsupervisor status` reads.
struct StatusSettings {
    std::string endpoint = "127.0.0.1:0";  // "" turns it off; port 0 picks a free one
};

struct SupervisorConfig {
    std::filesystem::path sourceFile;
    ServerSettings server;
    Capabilities capabilities;
    StorageSettings storage;
    AgentSettings agent;
    TelemetrySettings telemetry;
    HealthCheckSettings healthcheck;
    // Component ID -> the extension's settings, verbatim YAML (server.auth refers to these).
    std::map<std::string, std::string> extensions;
    std::vector<std::string> featureGates;
    RemoteConfigRestrictions remoteConfigRestrictions;
    StatusSettings status;
};

}  // namespace opampsup::config
