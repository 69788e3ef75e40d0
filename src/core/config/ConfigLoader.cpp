#include "core/config/ConfigLoader.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <Poco/Exception.h>
#include <Poco/URI.h>
#include <yaml-cpp/yaml.h>

#include "core/config/ListenAddress.h"
#include "core/config/TlsNames.h"
#include "core/config/YamlReader.h"
#include "platform/account.h"
#include "platform/os.h"
#include "platform/paths.h"

namespace opampsup::config {
namespace {

const std::set<std::string> kTlsVersions{"1.0", "1.1", "1.2", "1.3"};

// ---- small checks -------------------------------------------------------------------------

bool isUuid(const std::string& text) {
    static const std::regex kUuid(
        "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");
    return std::regex_match(text, kUuid);
}

void requirePositive(MapReader& map, std::string_view key, Duration& value) {
    if (std::optional<YAML::Mark> at = map.duration(key, value)) {
        if (value.count() <= 0) {
            map.context().problem(*at, map.childPath(key), "must be greater than zero");
        }
    }
}

void requireOneOf(MapReader& map, std::string_view key, std::string& value,
                  const std::vector<std::string>& allowed, bool caseInsensitive = false) {
    std::optional<YAML::Mark> at = map.string(key, value);
    if (!at) {
        return;
    }
    std::string compared = value;
    if (caseInsensitive) {
        std::transform(compared.begin(), compared.end(), compared.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    }
    if (std::find(allowed.begin(), allowed.end(), compared) != allowed.end()) {
        value = compared;
        return;
    }
    std::string list;
    for (const std::string& a : allowed) {
        list += (list.empty() ? "" : ", ") + (a.empty() ? std::string("\"\"") : a);
    }
    map.context().problem(*at, map.childPath(key),
                          "invalid value \"" + value + "\" (expected one of: " + list + ")");
}

void checkReadableFile(MapReader& map, const std::string& keyPath, const YAML::Mark& at,
                       const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        map.context().problem(at, keyPath, "file \"" + path + "\" does not exist or is not a file");
        return;
    }
    std::ifstream probe(path);
    if (!probe) {
        map.context().problem(at, keyPath, "file \"" + path + "\" cannot be read");
    }
}

// ---- TLS ----------------------------------------------------------------------------------

// The keys configtls.Config has on both the client and the server side.
template <typename Tls>
void readCommonTls(MapReader& tls, Tls& out) {
    LoadContext& ctx = tls.context();
    auto fileKey = [&](std::string_view key, std::string& target) {
        if (std::optional<YAML::Mark> at = tls.string(key, target); at && !target.empty()) {
            checkReadableFile(tls, tls.childPath(key), *at, target);
        }
    };
    fileKey("ca_file", out.caFile);
    tls.string("ca_pem", out.caPem);
    fileKey("cert_file", out.certFile);
    tls.string("cert_pem", out.certPem);
    fileKey("key_file", out.keyFile);
    tls.string("key_pem", out.keyPem);
    std::optional<YAML::Mark> minAt = tls.string("min_version", out.minVersion);
    std::optional<YAML::Mark> maxAt = tls.string("max_version", out.maxVersion);
    for (auto [key, value, at] : {std::tuple{"min_version", &out.minVersion, minAt},
                                  std::tuple{"max_version", &out.maxVersion, maxAt}}) {
        if (at && !value->empty() && kTlsVersions.count(*value) == 0) {
            ctx.problem(*at, tls.childPath(key),
                        "invalid TLS version \"" + *value + "\" (expected 1.0, 1.1, 1.2 or 1.3)");
        }
    }
    if (minAt && maxAt && kTlsVersions.count(out.minVersion) != 0 &&
        kTlsVersions.count(out.maxVersion) != 0 && out.minVersion > out.maxVersion) {
        ctx.problem(
            *minAt, tls.childPath("min_version"),
            "min_version " + out.minVersion + " is newer than max_version " + out.maxVersion);
    }
    std::vector<YAML::Mark> suiteMarks;
    tls.stringList("cipher_suites", out.cipherSuites, &suiteMarks);
    for (std::size_t i = 0; i < out.cipherSuites.size() && i < suiteMarks.size(); ++i) {
        if (!openSslCipherName(out.cipherSuites[i])) {
            ctx.problem(suiteMarks[i], tls.childPath("cipher_suites"),
                        "unknown cipher suite \"" + out.cipherSuites[i] +
                            "\" (use Go's names, such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
        }
    }
    std::vector<YAML::Mark> curveMarks;
    tls.stringList("curve_preferences", out.curvePreferences, &curveMarks);
    for (std::size_t i = 0; i < out.curvePreferences.size() && i < curveMarks.size(); ++i) {
        if (!openSslGroupName(out.curvePreferences[i])) {
            ctx.problem(curveMarks[i], tls.childPath("curve_preferences"),
                        "unsupported curve \"" + out.curvePreferences[i] +
                            "\" (expected X25519, P256, P384 or P521)");
        }
    }
    tls.boolean("include_system_ca_certs_pool", out.includeSystemCaCertsPool);
    tls.duration("reload_interval", out.reloadInterval);

    if (!out.caFile.empty() && !out.caPem.empty()) {
        ctx.problem(tls.mark(), tls.path(), "set ca_file or ca_pem, not both");
    }
    if (!out.certFile.empty() && !out.certPem.empty()) {
        ctx.problem(tls.mark(), tls.path(), "set cert_file or cert_pem, not both");
    }
    if (!out.keyFile.empty() && !out.keyPem.empty()) {
        ctx.problem(tls.mark(), tls.path(), "set key_file or key_pem, not both");
    }
    bool hasCert = !out.certFile.empty() || !out.certPem.empty();
    bool hasKey = !out.keyFile.empty() || !out.keyPem.empty();
    if (hasCert != hasKey) {
        ctx.problem(tls.mark(), tls.path(),
                    "a client or server certificate needs both the certificate and its key");
    }
}

TlsClientSettings readClientTls(MapReader& tls) {
    TlsClientSettings out;
    tls.boolean("insecure", out.insecure);
    tls.boolean("insecure_skip_verify", out.insecureSkipVerify);
    tls.string("server_name_override", out.serverNameOverride);
    readCommonTls(tls, out);
    tls.finish();
    return out;
}

TlsServerSettings readServerTls(MapReader& tls) {
    TlsServerSettings out;
    readCommonTls(tls, out);
    if (std::optional<YAML::Mark> at = tls.string("client_ca_file", out.clientCaFile);
        at && !out.clientCaFile.empty()) {
        checkReadableFile(tls, tls.childPath("client_ca_file"), *at, out.clientCaFile);
    }
    tls.boolean("client_ca_file_reload", out.clientCaFileReload);
    tls.finish();
    return out;
}

// ---- sections -----------------------------------------------------------------------------

void readServer(MapReader& root, SupervisorConfig& cfg) {
    LoadContext& ctx = root.context();
    std::optional<MapReader> server = root.section("server");
    if (!server) {
        ctx.problem(root.mark(), "server.endpoint", "is required");
        return;
    }
    std::string scheme;
    if (std::optional<YAML::Mark> at = server->string("endpoint", cfg.server.endpoint);
        at && cfg.server.endpoint.empty()) {
        ctx.problem(*at, "server.endpoint", "must not be empty");
    } else if (at) {
        try {
            Poco::URI uri(cfg.server.endpoint);
            scheme = uri.getScheme();
            if (scheme != "ws" && scheme != "wss" && scheme != "http" && scheme != "https") {
                ctx.problem(*at, "server.endpoint",
                            "unsupported scheme \"" + scheme + "\" in \"" + cfg.server.endpoint +
                                "\" (use ws:// or wss:// for WebSocket, http:// or https:// "
                                "for HTTP polling)");
            } else if (uri.getHost().empty()) {
                ctx.problem(*at, "server.endpoint", "\"" + cfg.server.endpoint + "\" has no host");
            }
        } catch (const Poco::Exception& e) {
            ctx.problem(*at, "server.endpoint",
                        "\"" + cfg.server.endpoint + "\" is not a valid URL: " + e.message());
        }
    }
    if (!server->has("endpoint")) {
        ctx.problem(server->mark(), "server.endpoint", "is required");
    }
    server->headers("headers", cfg.server.headers);
    if (std::optional<MapReader> tls = server->section("tls")) {
        cfg.server.tls = readClientTls(*tls);
        if (scheme == "ws" || scheme == "http") {
            ctx.warning(tls->mark(), "server.tls",
                        "is ignored: the endpoint uses " + scheme + "://, which has no TLS");
        }
    }
    server->string("auth", cfg.server.auth);
    requirePositive(*server, "connection_settings_timeout", cfg.server.connectionSettingsTimeout);
    if (std::optional<MapReader> proxy = server->section("proxy")) {
        config::ProxySettings p;
        if (std::optional<YAML::Mark> at = proxy->string("url", p.url); at && !p.url.empty()) {
            try {
                Poco::URI uri(p.url);
                if (uri.getScheme() != "http" || uri.getHost().empty()) {
                    ctx.problem(*at, "server.proxy.url",
                                "\"" + p.url + "\" is not an http://host:port proxy URL");
                }
            } catch (const Poco::Exception& e) {
                ctx.problem(*at, "server.proxy.url",
                            "\"" + p.url + "\" is not a valid URL: " + e.message());
            }
        }
        proxy->headers("headers", p.headers);
        proxy->finish();
        cfg.server.proxy = p;
    }
    if (std::optional<MapReader> csr = server->section("certificate_request")) {
        CertificateRequestSettings& c = cfg.server.certificateRequest;
        std::optional<YAML::Mark> enabledAt = csr->boolean("enabled", c.enabled);
        if (std::optional<YAML::Mark> at = csr->string("key_type", c.keyType)) {
            static const std::vector<std::string> kKeyTypes{"ecdsa-p256", "ecdsa-p384", "rsa-2048",
                                                            "rsa-3072", "ed25519"};
            if (std::find(kKeyTypes.begin(), kKeyTypes.end(), c.keyType) == kKeyTypes.end()) {
                ctx.problem(*at, "server.certificate_request.key_type",
                            "\"" + c.keyType +
                                "\" is not one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, "
                                "ed25519");
            }
        }
        csr->string("common_name", c.commonName);
        csr->stringList("organization", c.organization);
        csr->stringList("dns_names", c.dnsNames);
        requirePositive(*csr, "renew_before", c.renewBefore);
        if (enabledAt && c.enabled && (scheme == "ws" || scheme == "http")) {
            ctx.problem(*enabledAt, "server.certificate_request.enabled",
                        "needs a wss:// or https:// endpoint: a client certificate is a TLS "
                        "setting");
        }
        csr->finish();
    }
    server->finish();
}

void readCapabilities(MapReader& root, SupervisorConfig& cfg) {
    std::optional<MapReader> caps = root.section("capabilities");
    if (!caps) {
        return;
    }
    Capabilities& c = cfg.capabilities;
    caps->boolean("accepts_remote_config", c.acceptsRemoteConfig);
    if (std::optional<YAML::Mark> at =
            caps->boolean("reports_remote_config", c.reportsRemoteConfig);
        at && c.reportsRemoteConfig) {
        caps->context().warning(*at, "capabilities.reports_remote_config",
                                "is deprecated and has no effect: ReportsRemoteConfig is "
                                "advertised whenever accepts_remote_config is true");
    }
    caps->boolean("accepts_restart_command", c.acceptsRestartCommand);
    caps->boolean("accepts_opamp_connection_settings", c.acceptsOpampConnectionSettings);
    caps->boolean("accepts_other_connection_settings", c.acceptsOtherConnectionSettings);
    caps->boolean("reports_effective_config", c.reportsEffectiveConfig);
    caps->boolean("reports_own_metrics", c.reportsOwnMetrics);
    caps->boolean("reports_own_logs", c.reportsOwnLogs);
    caps->boolean("reports_own_traces", c.reportsOwnTraces);
    caps->boolean("reports_health", c.reportsHealth);
    caps->boolean("reports_available_components", c.reportsAvailableComponents);
    caps->boolean("reports_heartbeat", c.reportsHeartbeat);
    caps->boolean("accepts_packages", c.acceptsPackages);
    caps->boolean("reports_package_statuses", c.reportsPackageStatuses);
    if (std::optional<YAML::Mark> at =
            caps->boolean("reports_connection_settings_status", c.reportsConnectionSettingsStatus);
        at && c.reportsConnectionSettingsStatus && !c.acceptsOpampConnectionSettings) {
        caps->context().problem(*at, "capabilities.reports_connection_settings_status",
                                "needs capabilities.accepts_opamp_connection_settings");
    }
    caps->finish();
}

void readStorage(MapReader& root, SupervisorConfig& cfg, const PlatformFacts& platform) {
    cfg.storage.directory = platform.defaultStorageDirectory;
    std::optional<MapReader> storage = root.section("storage");
    if (!storage) {
        return;
    }
    std::string directory;
    if (std::optional<YAML::Mark> at = storage->string("directory", directory)) {
        if (directory.empty()) {
            storage->context().problem(*at, "storage.directory", "must not be empty");
        } else {
            cfg.storage.directory = directory;
        }
    }
    storage->finish();
}

void readDescription(MapReader& agent, AgentDescriptionSettings& out) {
    std::optional<MapReader> description = agent.section("description");
    if (!description) {
        return;
    }
    description->stringMap("identifying_attributes", out.identifyingAttributes);
    description->stringMap("non_identifying_attributes", out.nonIdentifyingAttributes);
    description->boolean("include_resource_attributes", out.includeResourceAttributes);
    description->finish();
}

// A list of file paths, each of which must be readable.
void readFileList(MapReader& map, std::string_view key, std::vector<std::filesystem::path>& out) {
    std::vector<std::string> paths;
    std::vector<YAML::Mark> marks;
    if (!map.stringList(key, paths, &marks)) {
        return;
    }
    for (std::size_t i = 0; i < paths.size(); ++i) {
        checkReadableFile(map, map.childPath(key) + "[" + std::to_string(i) + "]", marks[i],
                          paths[i]);
        out.emplace_back(paths[i]);
    }
}

// agent.run_as (ours): the account every run of the collector gets, looked up now so a
// typo fails at startup rather than at the first start of the collector.
void readRunAs(MapReader& agent, AgentSettings& out, const PlatformFacts& platform) {
    std::optional<MapReader> runAs = agent.section("run_as");
    if (!runAs) {
        return;
    }
    LoadContext& ctx = agent.context();
    std::string user;
    std::string group;
    std::optional<YAML::Mark> userAt = runAs->string("user", user);
    std::optional<YAML::Mark> groupAt = runAs->string("group", group);
    const bool hasUser = runAs->has("user");
    runAs->finish();
    if (!platform.supportsRunAs) {
        ctx.problem(runAs->mark(), "agent.run_as",
                    "is not supported on " + platform.osType +
                        ": run the supervisor's service under the account the collector should "
                        "have");
        return;
    }
    if (!hasUser) {
        ctx.problem(runAs->mark(), "agent.run_as.user", "is required");
        return;
    }
    if (!userAt) {
        return;  // already reported as not a string
    }
    if (user.empty()) {
        ctx.problem(*userAt, "agent.run_as.user", "must not be empty");
        return;
    }
    if (groupAt && group.empty()) {
        ctx.problem(*groupAt, "agent.run_as.group",
                    "must not be empty (leave it out for the user's primary group)");
        return;
    }
    try {
        out.runAs = platform::lookUpAccount(user, group);
    } catch (const std::exception& e) {
        const std::string reason = e.what();
        const bool aboutGroup = groupAt && reason.find("group") != std::string::npos;
        ctx.problem(aboutGroup ? *groupAt : *userAt,
                    aboutGroup ? "agent.run_as.group" : "agent.run_as.user", reason);
    }
}

void readPackage(MapReader& agent, PackageSettings& out) {
    std::optional<MapReader> package = agent.section("package");
    if (!package) {
        return;
    }
    LoadContext& ctx = agent.context();
    package->string("agent_binary", out.agentBinary);
    requireOneOf(*package, "archive", out.archive, {"", "tar.gz"});
    if (out.archive == "tar.gz" && out.agentBinary.empty()) {
        ctx.problem(package->mark(), "agent.package.agent_binary",
                    "must be set when archive is tar.gz");
    }
    if (std::optional<MapReader> verifier = package->section("verifier")) {
        requireOneOf(*verifier, "type", out.verifierType, {"", "cosign", "public_key"});
        if (std::optional<MapReader> keys = verifier->section("public_key")) {
            readFileList(*keys, "keys", out.publicKeys);
            keys->finish();
        }
        if (std::optional<MapReader> cosign = verifier->section("cosign")) {
            cosign->string("github_workflow_repository", out.cosignGithubWorkflowRepository);
            readFileList(*cosign, "root_certificates", out.cosignRootCertificates);
            if (std::optional<YAML::Node> identities = cosign->node("identities")) {
                if (!identities->IsSequence()) {
                    ctx.problem(identities->Mark(), cosign->childPath("identities"),
                                "expected a list, got " + describeNodeType(*identities));
                } else {
                    std::size_t i = 0;
                    for (const YAML::Node& item : *identities) {
                        std::string path =
                            cosign->childPath("identities") + "[" + std::to_string(i++) + "]";
                        MapReader entry(item, path, ctx);
                        CosignIdentity id;
                        entry.string("issuer", id.issuer);
                        entry.string("issuer_regex", id.issuerRegex);
                        entry.string("subject", id.subject);
                        entry.string("subject_regex", id.subjectRegex);
                        entry.finish();
                        if (id.issuer.empty() == id.issuerRegex.empty()) {
                            ctx.problem(item.Mark(), path,
                                        "set exactly one of issuer and issuer_regex");
                        }
                        if (id.subject.empty() == id.subjectRegex.empty()) {
                            ctx.problem(item.Mark(), path,
                                        "set exactly one of subject and subject_regex");
                        }
                        for (const std::string* re : {&id.issuerRegex, &id.subjectRegex}) {
                            if (re->empty()) {
                                continue;
                            }
                            try {
                                std::regex compiled(*re);
                            } catch (const std::regex_error& e) {
                                ctx.problem(
                                    item.Mark(), path,
                                    "invalid regular expression \"" + *re + "\": " + e.what());
                            }
                        }
                        out.cosignIdentities.push_back(id);
                    }
                }
            }
            cosign->finish();
        }
        verifier->finish();
    }
    package->boolean("allow_unsigned", out.allowUnsigned);
    package->boolean("allow_downgrade", out.allowDowngrade);
    if (std::int64_t mib = 0; package->integer("max_download_size_mib", mib, 1, 1024 * 1024)) {
        out.maxDownloadSizeMib = static_cast<std::uint64_t>(mib);
    }
    requirePositive(*package, "health_timeout", out.healthTimeout);
    if (std::optional<YAML::Mark> at = package->duration("soak_period", out.soakPeriod);
        at && out.soakPeriod.count() < 0) {
        ctx.problem(*at, package->childPath("soak_period"), "must not be negative");
    }
    package->finish();
}

// Packages are checked offline: a verifier needs what it checks against, and with no
// verifier only an explicit allow_unsigned lets packages in.
void checkPackageVerifier(LoadContext& ctx, const SupervisorConfig& cfg) {
    if (!cfg.capabilities.acceptsPackages) {
        return;
    }
    const PackageSettings& p = cfg.agent.package;
    if (p.verifierType == "cosign") {
        if (p.cosignRootCertificates.empty()) {
            ctx.problemAtFile("agent.package.verifier.cosign.root_certificates",
                              "must name the PEM files of the roots that signing certificates "
                              "chain to: signatures are checked offline");
        }
        if (p.cosignIdentities.empty()) {
            ctx.problemAtFile("agent.package.verifier.cosign.identities",
                              "must list at least one identity a signing certificate may have");
        }
    } else if (p.verifierType == "public_key" && p.publicKeys.empty()) {
        ctx.problemAtFile("agent.package.verifier.public_key.keys",
                          "must name at least one PEM public key file");
    } else if (p.verifierType.empty() && !p.allowUnsigned) {
        ctx.problemAtFile("agent.package.verifier.type",
                          "capabilities.accepts_packages needs a verifier (cosign or "
                          "public_key), or agent.package.allow_unsigned: true");
    }
}

void readConfigFiles(MapReader& agent, AgentSettings& out) {
    std::vector<YAML::Mark> marks;
    if (!agent.stringList("config_files", out.configFiles, &marks)) {
        return;
    }
    LoadContext& ctx = agent.context();
    std::set<std::string> tokensSeen;
    for (std::size_t i = 0; i < out.configFiles.size(); ++i) {
        const std::string& entry = out.configFiles[i];
        std::string path = "agent.config_files[" + std::to_string(i) + "]";
        if (entry.empty()) {
            ctx.problem(marks[i], path, "must not be empty");
        } else if (entry.front() == '$') {
            if (entry != kOwnTelemetryConfigToken && entry != kOpampExtensionConfigToken &&
                entry != kRemoteConfigToken) {
                ctx.problem(marks[i], path,
                            "unknown special entry \"" + entry + "\" (expected " +
                                kOwnTelemetryConfigToken + ", " + kOpampExtensionConfigToken +
                                " or " + kRemoteConfigToken + ")");
            } else if (!tokensSeen.insert(entry).second) {
                ctx.warning(marks[i], path,
                            entry + " is listed more than once; it is merged at each place");
            }
        } else if (entry.find("://") == std::string::npos) {
            std::error_code ec;
            if (!std::filesystem::exists(entry, ec)) {
                ctx.warning(marks[i], path,
                            "file \"" + entry +
                                "\" does not exist; it is skipped when the config is composed");
            }
        }
    }
}

void readServerSocket(MapReader& agent, AgentSettings& out, const PlatformFacts& platform) {
    LoadContext& ctx = agent.context();
    if (std::optional<MapReader> socket = agent.section("opamp_server_socket")) {
        LocalServerSocket s;
        std::optional<YAML::Mark> transportAt = socket->string("transport", s.transport);
        std::optional<YAML::Mark> endpointAt = socket->string("endpoint", s.endpoint);
        socket->finish();
        const std::string path = "agent.opamp_server_socket";
        if (out.opampServerPort != 0) {
            ctx.problem(socket->mark(), path,
                        "cannot be used together with agent.opamp_server_port");
        }
        if (s.endpoint.empty()) {
            ctx.problem(endpointAt.value_or(socket->mark()), path + ".endpoint", "is required");
        }
        YAML::Mark at = transportAt.value_or(socket->mark());
        if (s.transport == "unix") {
            // sun_path holds 108 bytes on Linux and 104 on macOS, including the final NUL.
            std::size_t limit = platform.osType == "darwin" ? 103 : 107;
            if (platform.osType == "windows") {
                ctx.problem(at, path + ".transport", "\"unix\" is not supported on Windows");
            } else if (!s.endpoint.empty() && s.endpoint.front() != '/') {
                ctx.problem(endpointAt.value_or(at), path + ".endpoint",
                            "must be an absolute path");
            } else if (s.endpoint.size() > limit) {
                ctx.problem(endpointAt.value_or(at), path + ".endpoint",
                            "path is longer than this OS allows for a socket (" +
                                std::to_string(limit) + " bytes)");
            }
        } else if (s.transport == "npipe") {
            if (platform.osType != "windows") {
                ctx.problem(at, path + ".transport", "\"npipe\" is only supported on Windows");
            } else if (!s.endpoint.empty() && s.endpoint.rfind("\\\\.\\pipe\\", 0) != 0) {
                ctx.problem(endpointAt.value_or(at), path + ".endpoint",
                            "a named pipe must be named \\\\.\\pipe\\<name>");
            }
        } else {
            ctx.problem(at, path + ".transport",
                        "must be \"unix\" or \"npipe\", got \"" + s.transport + "\"");
        }
        out.opampServerSocket = s;
    }
    std::string mode;
    if (std::optional<YAML::Mark> at = agent.string("opamp_server_socket_mode", mode)) {
        bool octal =
            !mode.empty() && mode.size() <= 4 &&
            std::all_of(mode.begin(), mode.end(), [](char c) { return c >= '0' && c <= '7'; });
        unsigned long value = octal ? std::stoul(mode, nullptr, 8) : 0;
        if (!octal || value > 0777) {
            ctx.problem(*at, "agent.opamp_server_socket_mode",
                        "must be an octal file mode from 0 to 0777, got \"" + mode + "\"");
        } else if (!out.opampServerSocket || out.opampServerSocket->transport != "unix") {
            ctx.problem(*at, "agent.opamp_server_socket_mode",
                        "needs agent.opamp_server_socket with transport \"unix\"");
        } else {
            out.opampServerSocketMode = static_cast<std::uint32_t>(value);
        }
    }
}

void readRestartBackoff(MapReader& agent, RestartBackoff& out) {
    std::optional<MapReader> backoff = agent.section("restart_backoff");
    if (!backoff) {
        return;
    }
    LoadContext& ctx = backoff->context();
    requirePositive(*backoff, "initial_interval", out.initialInterval);
    requirePositive(*backoff, "max_interval", out.maxInterval);
    requirePositive(*backoff, "reset_after", out.resetAfter);
    if (std::optional<YAML::Node> node = backoff->node("multiplier")) {
        double value = 0;
        if (!node->IsScalar() || !YAML::convert<double>::decode(*node, value) || value < 1.0 ||
            value > 100.0) {
            ctx.problem(node->Mark(), backoff->childPath("multiplier"),
                        "must be a number from 1 to 100");
        } else {
            out.multiplier = value;
        }
    }
    if (out.initialInterval > out.maxInterval) {
        ctx.problem(backoff->mark(), "agent.restart_backoff",
                    "initial_interval must not exceed max_interval");
    }
    backoff->finish();
}

void readAgent(MapReader& root, SupervisorConfig& cfg, const PlatformFacts& platform) {
    LoadContext& ctx = root.context();
    AgentSettings& a = cfg.agent;
    a.package.agentBinary = platform.defaultAgentBinary;
    std::optional<MapReader> agent = root.section("agent");
    if (!agent) {
        ctx.problem(root.mark(), "agent.executable", "is required");
        return;
    }
    std::string executable;
    if (std::optional<YAML::Mark> at = agent->string("executable", executable);
        at && executable.empty()) {
        ctx.problem(*at, "agent.executable", "must not be empty");
    } else if (at) {
        a.executable = executable;
        std::error_code ec;
        auto status = std::filesystem::status(a.executable, ec);
        if (!std::filesystem::exists(status)) {
            ctx.problem(*at, "agent.executable", "cannot find \"" + executable + "\"");
        } else if (ec) {
            ctx.problem(*at, "agent.executable",
                        "cannot check \"" + executable + "\": " + ec.message());
        } else if (!std::filesystem::is_regular_file(status)) {
            ctx.problem(*at, "agent.executable", "\"" + executable + "\" is not a file");
        } else if ((status.permissions() &
                    (std::filesystem::perms::owner_exec | std::filesystem::perms::group_exec |
                     std::filesystem::perms::others_exec)) == std::filesystem::perms::none) {
            ctx.problem(*at, "agent.executable", "\"" + executable + "\" is not executable");
        }
    }
    if (!agent->has("executable")) {
        ctx.problem(agent->mark(), "agent.executable", "is required");
    }

    if (std::optional<YAML::Mark> at = agent->string("instance_id", a.instanceId);
        at && !a.instanceId.empty() && !isUuid(a.instanceId)) {
        ctx.warning(*at, "agent.instance_id",
                    "\"" + a.instanceId + "\" is not a UUID; a new UUIDv7 is generated instead");
        a.instanceId.clear();
    }
    requirePositive(*agent, "orphan_detection_interval", a.orphanDetectionInterval);
    readDescription(*agent, a.description);
    requirePositive(*agent, "config_apply_timeout", a.configApplyTimeout);
    requirePositive(*agent, "bootstrap_timeout", a.bootstrapTimeout);
    std::int64_t number = 0;
    if (agent->integer("opamp_server_port", number, 0, 65535)) {
        a.opampServerPort = static_cast<std::uint16_t>(number);
    }
    readServerSocket(*agent, a, platform);
    agent->boolean("passthrough_logs", a.passthroughLogs);
    requirePositive(*agent, "stop_timeout", a.stopTimeout);
    readRestartBackoff(*agent, a.restartBackoff);
    if (agent->integer("log_max_size_mib", number, 1, 1024 * 1024)) {
        a.logMaxSizeMib = static_cast<std::uint32_t>(number);
    }
    if (agent->integer("collector_crash_log_snippet_kib", number, 0, 1024)) {
        a.collectorCrashLogSnippetKib = static_cast<std::uint32_t>(number);
    }
    agent->boolean("automatic_config_rollback", a.automaticConfigRollback);
    if (std::optional<YAML::Mark> at =
            agent->boolean("use_hup_config_reload", a.useHupConfigReload);
        at && a.useHupConfigReload && !platform.supportsHupReload) {
        ctx.problem(*at, "agent.use_hup_config_reload",
                    "is not supported on this OS (it has no SIGHUP)");
    }
    if (bool validate = false; agent->boolean("validate_config", validate)) {
        a.validateConfig = validate;
    }
    if (std::optional<YAML::Mark> at = agent->duration("config_soak_period", a.configSoakPeriod);
        at && a.configSoakPeriod.count() < 0) {
        ctx.problem(*at, "agent.config_soak_period", "must not be negative");
    }
    readConfigFiles(*agent, a);
    agent->stringList("args", a.args);
    std::map<std::string, std::string> env;
    if (agent->stringMap("env", env)) {
        a.env = std::move(env);
    }
    std::vector<YAML::Mark> unsetMarks;
    if (agent->stringList("env_unset", a.envUnset, &unsetMarks)) {
        for (std::size_t i = 0; i < a.envUnset.size(); ++i) {
            const std::string& name = a.envUnset[i];
            const std::string path = "agent.env_unset[" + std::to_string(i) + "]";
            if (name.empty() || name.find('=') != std::string::npos) {
                agent->context().problem(unsetMarks[i], path,
                                         "\"" + name + "\" is not an environment variable name");
            } else if (a.env && a.env->count(name) != 0) {
                agent->context().problem(unsetMarks[i], path,
                                         "\"" + name + "\" is also set in agent.env");
            }
        }
    }
    std::vector<std::string> fallbacks;
    std::vector<YAML::Mark> fallbackMarks;
    if (agent->stringList("startup_fallback_configs", fallbacks, &fallbackMarks)) {
        for (std::size_t i = 0; i < fallbacks.size(); ++i) {
            checkReadableFile(*agent, "agent.startup_fallback_configs[" + std::to_string(i) + "]",
                              fallbackMarks[i], fallbacks[i]);
            a.startupFallbackConfigs.emplace_back(fallbacks[i]);
        }
    }
    readPackage(*agent, a.package);
    readRunAs(*agent, a, platform);
    agent->finish();
}

void readTelemetry(MapReader& root, SupervisorConfig& cfg) {
    std::optional<MapReader> telemetry = root.section("telemetry");
    if (!telemetry) {
        return;
    }
    TelemetrySettings& t = cfg.telemetry;
    const std::vector<std::string> levels{"none", "basic", "normal", "detailed"};
    if (std::optional<MapReader> logs = telemetry->section("logs")) {
        requireOneOf(*logs, "level", t.logs.level,
                     {"debug", "info", "warn", "error", "dpanic", "panic", "fatal"}, true);
        logs->stringList("output_paths", t.logs.outputPaths);
        logs->stringList("error_output_paths", t.logs.errorOutputPaths);
        requireOneOf(*logs, "encoding", t.logs.encoding, {"json", "console"});
        logs->verbatim("processors", t.logs.processorsYaml);
        logs->finish();
    }
    if (std::optional<MapReader> metrics = telemetry->section("metrics")) {
        requireOneOf(*metrics, "level", t.metrics.level, levels, true);
        metrics->verbatim("readers", t.metrics.readersYaml);
        metrics->finish();
    }
    if (std::optional<MapReader> traces = telemetry->section("traces")) {
        requireOneOf(*traces, "level", t.traces.level, levels, true);
        traces->stringList("propagators", t.traces.propagators);
        traces->verbatim("processors", t.traces.processorsYaml);
        traces->finish();
    }
    telemetry->verbatim("resource", t.resourceYaml);
    telemetry->finish();
}

void readHealthCheck(MapReader& root, SupervisorConfig& cfg) {
    std::optional<MapReader> health = root.section("healthcheck");
    if (!health) {
        return;
    }
    LoadContext& ctx = root.context();
    HealthCheckSettings& h = cfg.healthcheck;
    if (std::optional<YAML::Mark> at = health->string("endpoint", h.endpoint);
        at && !h.endpoint.empty()) {
        auto colon = h.endpoint.rfind(':');
        std::string port = colon == std::string::npos ? "" : h.endpoint.substr(colon + 1);
        bool numeric =
            !port.empty() && port.size() <= 5 &&
            std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!numeric || std::stoi(port) > 65535) {
            ctx.problem(*at, "healthcheck.endpoint",
                        "\"" + h.endpoint + "\" is not host:port with a port from 0 to 65535");
        }
    }
    if (std::optional<MapReader> tls = health->section("tls")) {
        h.tls = readServerTls(*tls);
    }
    health->stringMap("response_headers", h.responseHeaders);
    health->duration("read_timeout", h.readTimeout);
    health->duration("read_header_timeout", h.readHeaderTimeout);
    health->duration("write_timeout", h.writeTimeout);
    health->duration("idle_timeout", h.idleTimeout);
    // Server options of the collector's confighttp that a health endpoint has no use for:
    // accepted so a Go supervisor config loads, and said to be ignored.
    for (const char* key : {"cors", "auth", "include_metadata", "max_request_body_size",
                            "compression_algorithms", "keepalives_enabled"}) {
        if (std::optional<YAML::Node> ignored = health->node(key)) {
            ctx.warning(ignored->Mark(), health->childPath(key),
                        "is accepted for compatibility and ignored");
        }
    }
    health->finish();
}

// The extension server.auth names, read as the supervisor uses it: the client side of the
// collector's auth extension of that type.
AuthExtension readAuthExtension(MapReader& ext, const std::string& id, const std::string& type) {
    LoadContext& ctx = ext.context();
    AuthExtension out;
    out.id = id;
    if (type == "bearertokenauth") {
        BearerTokenAuth bearer;
        ext.string("header", bearer.header);
        ext.string("scheme", bearer.scheme);
        ext.string("token", bearer.token);
        if (std::optional<YAML::Mark> at = ext.string("filename", bearer.filename);
            at && !bearer.filename.empty()) {
            checkReadableFile(ext, ext.childPath("filename"), *at, bearer.filename);
        }
        // Like the collector's client side, the first of `tokens` when `token` is unset.
        std::vector<std::string> tokens;
        ext.stringList("tokens", tokens);
        if (bearer.token.empty() && !tokens.empty()) {
            bearer.token = tokens.front();
        }
        if (bearer.token.empty() && bearer.filename.empty()) {
            ctx.problem(ext.mark(), ext.path(), "needs token, tokens or filename");
        }
        if (bearer.header.empty()) {
            ctx.problem(ext.mark(), ext.childPath("header"), "must not be empty");
        }
        out.settings = bearer;
    } else if (type == "basicauth") {
        BasicAuth basic;
        if (ext.has("htpasswd")) {
            ext.node("htpasswd");
            ctx.problem(ext.mark(), ext.childPath("htpasswd"),
                        "is for servers that check passwords; the supervisor needs client_auth");
        }
        if (std::optional<MapReader> client = ext.section("client_auth")) {
            client->string("username", basic.username);
            client->string("password", basic.password);
            if (basic.username.empty()) {
                ctx.problem(client->mark(), client->childPath("username"), "is required");
            }
            client->finish();
        } else if (!ext.has("htpasswd")) {
            ctx.problem(ext.mark(), ext.childPath("client_auth"), "is required");
        }
        out.settings = basic;
    } else if (type == "oauth2client") {
        OAuth2ClientAuth oauth;
        ext.string("client_id", oauth.clientId);
        ext.string("client_secret", oauth.clientSecret);
        for (auto [key, target] :
             {std::pair<const char*, std::string*>{"client_id_file", &oauth.clientIdFile},
              {"client_secret_file", &oauth.clientSecretFile}}) {
            if (std::optional<YAML::Mark> at = ext.string(key, *target); at && !target->empty()) {
                checkReadableFile(ext, ext.childPath(key), *at, *target);
            }
        }
        if (oauth.clientId.empty() && oauth.clientIdFile.empty()) {
            ctx.problem(ext.mark(), ext.childPath("client_id"), "is required (or client_id_file)");
        }
        if (oauth.clientSecret.empty() && oauth.clientSecretFile.empty()) {
            ctx.problem(ext.mark(), ext.childPath("client_secret"),
                        "is required (or client_secret_file)");
        }
        std::optional<YAML::Mark> urlAt = ext.string("token_url", oauth.tokenUrl);
        if (oauth.tokenUrl.empty()) {
            ctx.problem(urlAt.value_or(ext.mark()), ext.childPath("token_url"), "is required");
        } else {
            try {
                Poco::URI uri(oauth.tokenUrl);
                if ((uri.getScheme() != "http" && uri.getScheme() != "https") ||
                    uri.getHost().empty()) {
                    ctx.problem(*urlAt, ext.childPath("token_url"),
                                "\"" + oauth.tokenUrl + "\" is not an http:// or https:// URL");
                }
            } catch (const Poco::Exception& e) {
                ctx.problem(*urlAt, ext.childPath("token_url"),
                            "\"" + oauth.tokenUrl + "\" is not a valid URL: " + e.message());
            }
        }
        ext.stringList("scopes", oauth.scopes);
        ext.stringMap("endpoint_params", oauth.endpointParams);
        for (auto [key, target] : {std::pair<const char*, Duration*>{"timeout", &oauth.timeout},
                                   {"expiry_buffer", &oauth.expiryBuffer}}) {
            if (std::optional<YAML::Mark> at = ext.duration(key, *target);
                at && target->count() < 0) {
                ctx.problem(*at, ext.childPath(key), "must not be negative");
            }
        }
        if (std::optional<MapReader> tls = ext.section("tls")) {
            oauth.tls = readClientTls(*tls);
        }
        out.settings = oauth;
    }
    ext.finish();
    return out;
}

// The Go supervisor refuses `extensions` without --feature-gates=opampsupervisor.Extensions;
// here they need no gate (the flag is still accepted, so its service definitions work).
void readExtensions(MapReader& root, SupervisorConfig& cfg) {
    LoadContext& ctx = root.context();
    std::optional<MapReader> extensions = root.section("extensions");
    if (extensions) {
        // Each entry is one extension's settings, kept as YAML; the one server.auth names is
        // also read in full, since the supervisor runs it.
        // The extension types the supervisor can run, as the Go supervisor's allowlist.
        static const std::set<std::string> kTypes{"basicauth", "bearertokenauth", "nop",
                                                  "oauth2client"};
        YAML::Node all = *root.node("extensions");
        for (const auto& kv : all) {
            auto id = kv.first.as<std::string>();
            std::string type = id.substr(0, id.find('/'));
            if (kTypes.count(type) == 0) {
                ctx.problem(kv.first.Mark(), "extensions." + id,
                            "unknown extension type \"" + type +
                                "\" (supported: basicauth, bearertokenauth, nop, oauth2client)");
                extensions->verbatim(id, cfg.extensions[id]);
            } else if (id == cfg.server.auth) {
                cfg.extensions[id] = YAML::Dump(kv.second);
                MapReader ext(kv.second, "extensions." + id, ctx);
                cfg.server.authExtension = readAuthExtension(ext, id, type);
                extensions->node(id);  // read above
            } else {
                extensions->verbatim(id, cfg.extensions[id]);
            }
        }
        extensions->finish();
    }
    if (!cfg.server.auth.empty() && cfg.extensions.count(cfg.server.auth) == 0) {
        ctx.problemAtFile("server.auth", "refers to extension \"" + cfg.server.auth +
                                             "\", which is not defined under extensions");
    }
}

bool isProviderScheme(const std::string& name) {
    if (name.empty() || std::isalpha(static_cast<unsigned char>(name[0])) == 0) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '.' || c == '-';
    });
}

void readRestrictions(MapReader& root, SupervisorConfig& cfg) {
    std::optional<MapReader> section = root.section("remote_config_restrictions");
    if (!section) {
        return;
    }
    RemoteConfigRestrictions& r = cfg.remoteConfigRestrictions;
    LoadContext& ctx = root.context();
    std::int64_t bytes = 0;
    if (section->integer("max_config_bytes", bytes, 1, std::int64_t{4} << 30)) {
        r.maxConfigBytes = static_cast<std::uint64_t>(bytes);
    }
    if (std::optional<MapReader> components = section->section("components")) {
        for (const char* kind :
             {"receivers", "processors", "exporters", "connectors", "extensions"}) {
            std::optional<MapReader> rule = components->section(kind);
            if (!rule) {
                continue;
            }
            const std::string path = std::string("remote_config_restrictions.components.") + kind;
            for (const char* list : {"allow", "deny"}) {
                std::vector<std::string> globs;
                std::vector<YAML::Mark> marks;
                if (!rule->stringList(list, globs, &marks)) {
                    continue;
                }
                for (std::size_t i = 0; i < globs.size(); ++i) {
                    if (globs[i].empty()) {
                        ctx.problem(marks[i], path + "." + list + "[" + std::to_string(i) + "]",
                                    "is empty; write a component type or a glob such as "
                                    "\"file*\"");
                    }
                }
                (std::string(list) == "allow" ? r.components[kind].allow
                                              : r.components[kind].deny) = std::move(globs);
            }
            rule->finish();
        }
        components->finish();
    }
    std::vector<YAML::Mark> marks;
    if (section->stringList("allowed_path_prefixes", r.allowedPathPrefixes, &marks)) {
        for (std::size_t i = 0; i < r.allowedPathPrefixes.size(); ++i) {
            if (!std::filesystem::path(r.allowedPathPrefixes[i]).is_absolute()) {
                ctx.problem(
                    marks[i],
                    "remote_config_restrictions.allowed_path_prefixes[" + std::to_string(i) + "]",
                    "\"" + r.allowedPathPrefixes[i] + "\" is not an absolute path");
            }
        }
    }
    marks.clear();
    if (section->stringList("allowed_exporter_endpoints", r.allowedExporterEndpoints, &marks)) {
        for (std::size_t i = 0; i < r.allowedExporterEndpoints.size(); ++i) {
            if (r.allowedExporterEndpoints[i].empty()) {
                ctx.problem(marks[i],
                            "remote_config_restrictions.allowed_exporter_endpoints[" +
                                std::to_string(i) + "]",
                            "is empty; write a host name or a glob such as \"*.example.com\"");
            }
        }
    }
    marks.clear();
    if (section->stringList("allowed_config_providers", r.allowedConfigProviders, &marks)) {
        for (std::size_t i = 0; i < r.allowedConfigProviders.size(); ++i) {
            if (!isProviderScheme(r.allowedConfigProviders[i])) {
                ctx.problem(marks[i],
                            "remote_config_restrictions.allowed_config_providers[" +
                                std::to_string(i) + "]",
                            "\"" + r.allowedConfigProviders[i] +
                                "\" is not a provider scheme (such as env, file, http)");
            }
        }
    }
    section->finish();
}

void readStatus(MapReader& root, SupervisorConfig& cfg) {
    std::optional<MapReader> status = root.section("status");
    if (!status) {
        return;
    }
    // Loopback only: the status tells more than a probe needs.
    if (std::optional<YAML::Mark> at = status->string("endpoint", cfg.status.endpoint);
        at && !cfg.status.endpoint.empty()) {
        std::optional<ListenAddress> address;
        try {
            address = parseListenAddress(cfg.status.endpoint, "status.endpoint", false);
        } catch (const std::invalid_argument&) {
        }
        if (!address || !isLoopbackHost(address->host)) {
            root.context().problem(*at, "status.endpoint",
                                   "\"" + cfg.status.endpoint +
                                       "\" must be a loopback host:port, such as 127.0.0.1:0 "
                                       "(or \"\" to turn the status endpoint off)");
        }
    }
    status->finish();
}

LoadResult loadDocument(const YAML::Node& document, LoadContext& ctx, const LoadOptions& options) {
    LoadResult result;
    SupervisorConfig& cfg = result.config;
    cfg.featureGates = options.featureGates;
    MapReader root(document, "", ctx);
    if (ctx.problems().empty()) {
        readServer(root, cfg);
        readCapabilities(root, cfg);
        if (cfg.server.certificateRequest.enabled &&
            !cfg.capabilities.acceptsOpampConnectionSettings) {
            ctx.problemAtFile("server.certificate_request.enabled",
                              "needs capabilities.accepts_opamp_connection_settings: the issued "
                              "certificate arrives as a connection settings offer");
        }
        readStorage(root, cfg, options.platform);
        readAgent(root, cfg, options.platform);
        checkPackageVerifier(ctx, cfg);
        readTelemetry(root, cfg);
        readHealthCheck(root, cfg);
        readExtensions(root, cfg);
        readRestrictions(root, cfg);
        readStatus(root, cfg);
        root.finish();
    }
    if (!ctx.problems().empty()) {
        throw ConfigError(ctx.problems());
    }
    result.warnings = ctx.warnings();
    return result;
}

}  // namespace

PlatformFacts PlatformFacts::host() {
    return PlatformFacts{platform::defaultStorageDirectory(), platform::defaultAgentBinaryName(),
                         platform::supportsHupReload(), std::string(platform::osType()),
                         platform::supportsRunAs()};
}

const std::vector<std::string>& knownFeatureGates() {
    static const std::vector<std::string> kGates{kExtensionsFeatureGate};
    return kGates;
}

LoadResult loadConfigText(std::string_view yaml, const std::string& fileName,
                          const LoadOptions& options) {
    LoadContext ctx(fileName, options.sources);
    YAML::Node document;
    try {
        document = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
        ctx.problem(e.mark, "", "invalid YAML: " + e.msg);
        throw ConfigError(ctx.problems());
    }
    if (!document.IsDefined() || document.IsNull()) {
        ctx.problemAtFile("",
                          "the config is empty (server.endpoint and agent.executable are "
                          "required)");
        throw ConfigError(ctx.problems());
    }
    LoadResult result = loadDocument(document, ctx, options);
    result.config.sourceFile = fileName;
    return result;
}

LoadResult loadConfigFile(const std::filesystem::path& path, const LoadOptions& options) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::error_code ec;
        std::string why = std::filesystem::exists(path, ec) ? "cannot be read" : "does not exist";
        throw ConfigError({{path.string(), 0, 0, "", "config file " + why}});
    }
    std::ostringstream content;
    content << in.rdbuf();
    return loadConfigText(content.str(), path.string(), options);
}

}  // namespace opampsup::config
