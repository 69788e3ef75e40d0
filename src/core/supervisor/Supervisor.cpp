#include "core/supervisor/Supervisor.h"

#include <algorithm>
#include <future>
#include <map>
#include <random>

#include "core/auth/Authenticators.h"
#include "core/config/Duration.h"
#include "core/config/Expansion.h"
#include "core/effective/ConfigComposer.h"
#include "core/opamp/Capabilities.h"
#include "core/opamp/CertificateRequest.h"
#include "core/opamp/ConnectionOffer.h"
#include "core/opamp/Hex.h"
#include "core/opamp/Proxy.h"
#include "core/remoteconfig/RemoteConfigFiles.h"
#include "core/remoteconfig/Restrictions.h"
#include "opampsup/version.h"

namespace opampsup::supervisor {
namespace pb = ::opamp::proto;

namespace {

constexpr const char* kEffectiveConfigFile = "effective.yaml";
constexpr const char* kAgentLogFile = "agent.log";
// Ours: the status endpoint's address, for `opampsupervisor status`.
constexpr const char* kStatusEndpointFile = "status_endpoint";
// The bootstrap run must not bind the collector's own metrics port.
constexpr const char* kQuietTelemetry = "service:\n  telemetry:\n    metrics:\n      level: none\n";

std::uint64_t nowNanos() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

std::string randomHex(std::size_t bytes) {
    std::random_device device;
    std::string raw;
    for (std::size_t i = 0; i < bytes; ++i) {
        raw += static_cast<char>(device() & 0xFFU);
    }
    return opamp::hex(raw);
}

void setAttribute(google::protobuf::RepeatedPtrField<pb::KeyValue>& list, const std::string& key,
                  const std::string& value) {
    for (auto& kv : list) {
        if (kv.key() == key) {
            kv.mutable_value()->set_string_value(value);
            return;
        }
    }
    pb::KeyValue* kv = list.Add();
    kv->set_key(key);
    kv->mutable_value()->set_string_value(value);
}

// The launch secret authenticates the collector to us; it must never reach the remote server.
std::string withoutSecret(std::string text, const std::string& secret) {
    if (secret.empty()) {
        return text;
    }
    static const std::string kRedacted = "[REDACTED]";
    for (std::size_t at = text.find(secret); at != std::string::npos;
         at = text.find(secret, at + kRedacted.size())) {
        text.replace(at, secret.size(), kRedacted);
    }
    return text;
}

pb::EffectiveConfig withoutSecret(pb::EffectiveConfig config, const std::string& secret) {
    for (auto& [name, file] : *config.mutable_config_map()->mutable_config_map()) {
        file.set_body(withoutSecret(file.body(), secret));
    }
    return config;
}

// The description's attributes as text, for the collector's resource (as upstream).
std::vector<std::pair<std::string, std::string>> resourceAttributes(
    const pb::AgentDescription& description) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto* list :
         {&description.identifying_attributes(), &description.non_identifying_attributes()}) {
        for (const pb::KeyValue& kv : *list) {
            const pb::AnyValue& v = kv.value();
            switch (v.value_case()) {
                case pb::AnyValue::kStringValue:
                    out.emplace_back(kv.key(), v.string_value());
                    break;
                case pb::AnyValue::kBoolValue:
                    out.emplace_back(kv.key(), v.bool_value() ? "true" : "false");
                    break;
                case pb::AnyValue::kIntValue:
                    out.emplace_back(kv.key(), std::to_string(v.int_value()));
                    break;
                default:
                    break;  // doubles, lists and maps have no single text form
            }
        }
    }
    return out;
}

void sortByKey(google::protobuf::RepeatedPtrField<pb::KeyValue>& list) {
    std::sort(list.begin(), list.end(),
              [](const pb::KeyValue& a, const pb::KeyValue& b) { return a.key() < b.key(); });
}

}  // namespace

Supervisor::Supervisor(EventLoop& loop, const config::SupervisorConfig& config,
                       const storage::StateStore& store, storage::PersistentState state,
                       Platform platform, telemetry::Logger logger)
    : loop_(loop),
      config_(config),
      store_(store),
      state_(std::move(state)),
      platform_(std::move(platform)),
      logger_(std::move(logger)),
      cache_(store),
      tracer_(platform_.tracer ? platform_.tracer : telemetry::noopTracer()),
      certificates_(config.server.certificateRequest, store, logger_.named("opamp")) {
    if (config.server.authExtension) {
        authenticator_ =
            auth::makeAuthenticator(*config.server.authExtension, logger_.named("auth"));
    }
    agent::CollectorOutput::Options output;
    if (!config.agent.passthroughLogs) {
        output.logFile = store.pathOf(kAgentLogFile);
    }
    output.maxFileBytes = static_cast<std::size_t>(config.agent.logMaxSizeMib) * 1024U * 1024U;
    output.tailBytes = std::max<std::size_t>(
        16U * 1024U, static_cast<std::size_t>(config.agent.collectorCrashLogSnippetKib) * 1024U);
    output_ = std::make_unique<agent::CollectorOutput>(output, logger_.named("collector"));

    const config::RestartBackoff& backoff = config.agent.restartBackoff;
    agent::CrashPolicy::Options policy;
    policy.initial = std::chrono::duration_cast<std::chrono::milliseconds>(backoff.initialInterval);
    policy.max = std::chrono::duration_cast<std::chrono::milliseconds>(backoff.maxInterval);
    policy.multiplier = backoff.multiplier;
    policy.resetAfter = std::chrono::duration_cast<std::chrono::milliseconds>(backoff.resetAfter);
    auto random = std::make_shared<std::mt19937_64>(std::random_device{}());
    agent::Commander::Events events;
    events.started = [this](long pid) {
        if (localServer_) {
            localServer_->expectPid(pid);
        }
        if (phase_ == Phase::Running) {
            collectorStarts_ += 1;
            platform_.metrics->collectorStarts += 1;
            collectorStartedAt_ = std::chrono::system_clock::now();
            launchConcluded_ = true;
            publishServiceStatus();
            watchForConnection(pid);
        }
    };
    events.startFailed = [this](const std::string& reason, agent::CrashPolicy::Decision retry) {
        reportHealth(
            false, "StatusFatalError",
            "cannot start the collector: " + reason + "; " + agent::CrashPolicy::describe(retry));
        if (phase_ == Phase::Bootstrapping) {
            finishBootstrap("cannot start the collector: " + reason);
        } else if (phase_ == Phase::Running && trial_ && trial_->launched) {
            endTrial("cannot start it: " + reason);
        } else if (phase_ == Phase::Running) {
            launchConcluded_ = true;
            publishServiceStatus();
        }
    };
    events.crashed = [this](const agent::ExitStatus& status, agent::CrashPolicy::Decision restart) {
        std::string error = "the collector exited with " + status.describe();
        if (phase_ == Phase::Bootstrapping) {
            finishBootstrap(error + " during bootstrap; its last output:\n" + output_->tail(2048));
            return;
        }
        if (trial_ && trial_->launched) {
            endTrial(error + "; its last output:\n" + output_->tail(2048));
            return;
        }
        if (applying_) {
            applyFailed(error + "; its last output:\n" + output_->tail(2048));
            return;
        }
        if (probation_ && crashedOnProbation(error)) {
            return;
        }
        error += "; " + agent::CrashPolicy::describe(restart);
        if (config_.agent.collectorCrashLogSnippetKib > 0) {
            error += "\n" + output_->tail(config_.agent.collectorCrashLogSnippetKib * 1024U);
        }
        reportHealth(false, "StatusFatalError", error);
        publishServiceStatus();
    };
    commander_ = std::make_unique<agent::Commander>(
        loop_, platform_.launcher,
        agent::CrashPolicy(
            policy, [random] { return std::uniform_real_distribution<double>(0.0, 1.0)(*random); }),
        std::chrono::duration_cast<std::chrono::milliseconds>(config.agent.stopTimeout), events,
        logger_.named("commander"));
    executable_ = config.agent.executable;
    validator_ = std::make_unique<remoteconfig::ConfigValidator>(loop_, platform_.launcher,
                                                                 executable_, config.agent.args);
    commander_->setOutput([output = output_.get()](agent::OutputStream stream,
                                                   std::string_view line) {
        output->line(stream == agent::OutputStream::Stderr ? agent::CollectorOutput::Stream::Stderr
                                                           : agent::CollectorOutput::Stream::Stdout,
                     line);
    });
}

Supervisor::~Supervisor() {
    *alive_ = false;
    if (statusServer_) {
        statusServer_->stop();
    }
    if (healthServer_) {
        healthServer_->stop();
    }
    if (localServer_) {
        localServer_->stop();
    }
}

void Supervisor::start() {
    publishServiceStatus();
    if (config_.agent.opampServerSocket) {
        throw std::runtime_error(
            "agent.opamp_server_socket: this build serves the collector's OpAMP connection on "
            "a loopback TCP port only; remove opamp_server_socket (and set "
            "agent.opamp_server_port to choose the port)");
    }
    // As upstream, the health endpoint comes first: a probe sees 503 until the collector's
    // config is composed.
    healthServer_ = std::make_unique<localstatus::HealthServer>(config_.healthcheck);
    healthServer_->start();
    if (healthServer_->port() != 0) {
        logger_.info("Serving the health check", {{"endpoint", config_.healthcheck.endpoint},
                                                  {"port", std::to_string(healthServer_->port())}});
    }
    startStatusServer();
    localserver::LocalOpampServer::Callbacks callbacks;
    auto onLoop = [this](std::function<void(Supervisor&)> task) {
        loop_.post([this, task = std::move(task), alive = std::weak_ptr<bool>(alive_)] {
            if (alive.lock()) {
                task(*this);
            }
        });
    };
    callbacks.connected = [onLoop] { onLoop([](Supervisor& s) { s.onCollectorConnected(); }); };
    callbacks.message = [onLoop](pb::AgentToServer message) {
        onLoop([message = std::move(message)](Supervisor& s) { s.onCollectorMessage(message); });
    };
    callbacks.disconnected = [onLoop](std::string reason) {
        onLoop([reason = std::move(reason)](Supervisor& s) { s.onCollectorDisconnected(reason); });
    };
    callbacks.rejected = [logger = logger_](std::string reason) {
        logger.warn("Refused a connection to the supervisor's OpAMP server", {{"reason", reason}});
    };
    loadRemoteConfigState();
    // A persisted config waiting to be applied again is no reason for the fallback.
    if (!config_.agent.startupFallbackConfigs.empty() && !remoteConfig_ && !unfinishedApply_) {
        usingFallback_ = true;
        logger_.info(
            "No remote config persisted: the collector runs the startup fallback "
            "configs until the server is reached");
    }
    localServer_ = std::make_unique<localserver::LocalOpampServer>(
        config_.agent.opampServerPort, callbacks, logger_.named("localserver"));
    localServer_->start();
    logger_.info("Listening for the collector's opamp extension",
                 {{"endpoint", localServer_->endpoint()}});

    startPackageManager();
    try {
        fingerprint_ = agent::ExecutableFingerprint::of(executable_);
        if (auto cached = cache_.load(*fingerprint_)) {
            logger_.info("Collector description from the bootstrap cache",
                         {{"executable", fingerprint_->path}});
            description_ = cached->description;
            components_ = cached->components;
            phase_ = Phase::Running;
            startClient();
            runCollector();
            resumePackages();
            resumeUnfinishedApply();
            return;
        }
    } catch (const std::exception& e) {
        logger_.warn("Cannot use the bootstrap cache", {{"error", e.what()}});
    }
    startBootstrap();
}

std::string Supervisor::extensionYaml() const {
    effective::OpampExtensionSettings s;
    s.instanceUid = state_.instanceId.toString();
    s.endpoint = localServer_->endpoint();
    s.authorization = localserver::LocalOpampServer::authorizationHeader(secret_);
    s.supervisorPid = platform_.supervisorPid;
    s.ppidPollInterval = config::formatGoDuration(config_.agent.orphanDetectionInterval);
    // The bootstrap learns the component map for the cache whatever the capability says.
    s.reportsAvailableComponents =
        config_.capabilities.reportsAvailableComponents || phase_ == Phase::Bootstrapping;
    s.includeResourceAttributes = config_.agent.description.includeResourceAttributes;
    return effective::opampExtensionYaml(s);
}

void Supervisor::newLaunchSecret() {
    secret_ = randomHex(16);
    localServer_->expect({state_.instanceId, secret_, std::nullopt});
}

agent::LaunchSpec Supervisor::launchSpec() const {
    agent::LaunchSpec spec;
    spec.executable = executable_;
    spec.args = {"--config", store_.pathOf(kEffectiveConfigFile).string()};
    spec.args.insert(spec.args.end(), config_.agent.args.begin(), config_.agent.args.end());
    if (config_.agent.env) {
        for (const auto& [name, value] : *config_.agent.env) {
            spec.environment[name] = value;
        }
    }
    for (const std::string& name : config_.agent.envUnset) {
        spec.environment[name] = std::nullopt;
    }
    return spec;
}

void Supervisor::startBootstrap() {
    phase_ = Phase::Bootstrapping;
    bootstrapSpan_ = tracer_->start("GetBootstrapInfo");
    bootstrapSpan_->setAttribute("executable", executable_.string());
    newLaunchSecret();
    effective::ComposeInput input;
    input.ownTelemetryYaml = kQuietTelemetry;
    input.opampExtensionYaml = extensionYaml();
    input.acceptsRemoteConfig = true;  // no pipelines of its own: the nop pipeline stands in
    input.needsNopPipeline = true;
    effective::ComposeResult composed = effective::composeEffectiveConfig(input);
    try {
        store_.writeForCollector(kEffectiveConfigFile, composed.yaml);
        output_->restart();
    } catch (const std::exception& e) {
        finishBootstrap(std::string("cannot write the bootstrap config: ") + e.what());
        return;
    }
    logger_.info("Bootstrapping: running the collector once to learn its description",
                 {{"timeout", config::formatGoDuration(config_.agent.bootstrapTimeout)}});
    commander_->start(launchSpec());
    bootstrapTimer_ = loop_.postAfter(
        config_.agent.bootstrapTimeout, [this, alive = std::weak_ptr<bool>(alive_)] {
            if (!alive.lock() || phase_ != Phase::Bootstrapping) {
                return;
            }
            bootstrapTimer_.reset();
            std::string what =
                collectorEverConnected_
                    ? "the collector connected but never sent its AgentDescription"
                    : "the collector never connected to the supervisor's OpAMP server at " +
                          localServer_->endpoint() +
                          " (the supervisor injects an opamp extension into its config; a "
                          "collector built without the opamp extension cannot be supervised)";
            finishBootstrap(what + " within " +
                            config::formatGoDuration(config_.agent.bootstrapTimeout) +
                            "; its last output:\n" + output_->tail(2048));
        });
}

void Supervisor::finishBootstrap(std::optional<std::string> failure) {
    if (phase_ != Phase::Bootstrapping) {
        return;
    }
    phase_ = Phase::EndingBootstrap;
    if (bootstrapTimer_) {
        loop_.cancel(*bootstrapTimer_);
        bootstrapTimer_.reset();
    }
    if (bootstrapSpan_) {
        bootstrapSpan_->end(failure.value_or(""));
        bootstrapSpan_.reset();
    }
    if (failure) {
        logger_.error("Bootstrap failed; starting the collector anyway", {{"error", *failure}});
    } else {
        logger_.info("Bootstrap done: the collector described itself");
        if (fingerprint_ && description_) {
            try {
                cache_.save(*fingerprint_, {*description_, components_});
            } catch (const std::exception& e) {
                logger_.warn("Cannot save the bootstrap cache", {{"error", e.what()}});
            }
        }
    }
    std::optional<std::string> error = failure;
    commander_->stop([this, error, alive = std::weak_ptr<bool>(alive_)] {
        if (!alive.lock() || phase_ != Phase::EndingBootstrap) {
            return;
        }
        phase_ = Phase::Running;
        if (switchingExecutable_) {
            afterExecutableSwitch(error);
            return;
        }
        startClient();
        if (error) {
            reportHealth(false, "StatusRecoverableError", "bootstrap failed: " + *error);
        }
        runCollector();
        resumePackages();
        resumeUnfinishedApply();
    });
}

void Supervisor::resumeUnfinishedApply() {
    if (!unfinishedApply_) {
        return;
    }
    pb::AgentRemoteConfig config = std::move(*unfinishedApply_);
    unfinishedApply_.reset();
    onRemoteConfig(config);
}

pb::AgentDescription Supervisor::fallbackDescription() const {
    pb::AgentDescription d;
    setAttribute(*d.mutable_identifying_attributes(), "service.name",
                 config_.agent.executable.filename().string());
    setAttribute(*d.mutable_identifying_attributes(), "service.instance.id",
                 state_.instanceId.toString());
    setAttribute(*d.mutable_non_identifying_attributes(), "os.type", platform_.osType);
    setAttribute(*d.mutable_non_identifying_attributes(), "host.name", platform_.hostName);
    setAttribute(*d.mutable_non_identifying_attributes(), "host.arch", platform_.arch);
    return d;
}

pb::AgentDescription Supervisor::withOverrides(const pb::AgentDescription& reported) const {
    pb::AgentDescription d = reported;
    for (const auto& [key, value] : config_.agent.description.identifyingAttributes) {
        setAttribute(*d.mutable_identifying_attributes(), key, value);
    }
    for (const auto& [key, value] : config_.agent.description.nonIdentifyingAttributes) {
        setAttribute(*d.mutable_non_identifying_attributes(), key, value);
    }
    sortByKey(*d.mutable_identifying_attributes());
    sortByKey(*d.mutable_non_identifying_attributes());
    return d;
}

void Supervisor::startClient() {
    opamp::AgentState state(state_.instanceId, opamp::agentCapabilities(config_.capabilities));
    state.setAgentDescription(withOverrides(description_.value_or(fallbackDescription())));
    if (config_.capabilities.reportsAvailableComponents && components_) {
        state.setAvailableComponents(*components_);
    }
    if (pendingHealth_) {
        state.setHealth(*pendingHealth_);
        pendingHealth_.reset();
    }
    if (state_.lastRemoteConfigStatus && config_.capabilities.acceptsRemoteConfig) {
        state.setRemoteConfigStatus(*state_.lastRemoteConfigStatus);
    }
    if (packages_) {  // made only when package statuses are reported
        state.setPackageStatuses(packages_->statuses());
    }
    clientSettings_ = configuredClientSettings();
    if (committedOffer_ && config_.capabilities.acceptsOpampConnectionSettings) {
        pb::OpAMPConnectionSettings committed = committedOffer_->opamp();
        if (config_.server.certificateRequest.enabled && !committed.certificate().cert().empty() &&
            opamp::certificateNotAfter(committed.certificate().cert())
                    .value_or(std::chrono::system_clock::time_point::min()) <=
                std::chrono::system_clock::now()) {
            // An expired certificate from the server cannot connect: the configured TLS
            // settings can, to ask for a new one.
            logger_.warn(
                "The certificate the server issued has expired; connecting without it "
                "to ask for a new one");
            committed.clear_certificate();
        }
        try {
            clientSettings_ = opamp::withConnectionOffer(clientSettings_, committed,
                                                         config::processExpansionSources().env);
            logger_.info("Connecting with the settings the server offered",
                         {{"endpoint", clientSettings_.endpoint}});
            if (config_.capabilities.reportsConnectionSettingsStatus) {
                pb::ConnectionSettingsStatus status;
                status.set_last_connection_settings_hash(committedOffer_->hash());
                status.set_status(pb::ConnectionSettingsStatuses_APPLIED);
                state.setConnectionSettingsStatus(status);
            }
        } catch (const std::invalid_argument& e) {
            logger_.error("The persisted connection settings cannot be used; using the config's",
                          {{"error", e.what()}});
            clientSettings_ = configuredClientSettings();
        }
    }
    client_ = makeClient(clientSettings_, std::move(state));
    client_->start();
    scheduleCertificateCheck();
}

opamp::Client::Settings Supervisor::configuredClientSettings() const {
    opamp::Client::Settings settings;
    settings.endpoint = config_.server.endpoint;
    settings.headers = config_.server.headers;
    settings.userAgent = std::string("opampsupervisor/") + kVersion;
    settings.tls = config_.server.tls;
    settings.auth = authenticator_;
    auto env = config::processExpansionSources().env;
    settings.proxy = opamp::chooseProxy(config_.server.endpoint, config_.server.proxy, env);
    settings.metrics = platform_.metrics;
    return settings;
}

std::unique_ptr<opamp::Client> Supervisor::makeClient(const opamp::Client::Settings& settings,
                                                      opamp::AgentState state) {
    opamp::Client::Handlers handlers;
    handlers.connectionChanged = [this](bool up) { onClientConnectionChanged(up); };
    handlers.restart = [this] {
        auto span = messageSpan("command");
        onRestartCommand();
    };
    handlers.customMessage = [this](const pb::CustomMessage& message) {
        localServer_->sendCustomMessage(message);
    };
    handlers.newInstanceUid = [this](const opamp::Uuid& uid) { onNewInstanceUid(uid); };
    // Posted: the same message may carry a new instance UID, which the request must name.
    handlers.serverCapabilities = [this](std::uint64_t) {
        loop_.post([this, alive = std::weak_ptr<bool>(alive_)] {
            if (alive.lock()) {
                maybeRequestCertificate();
            }
        });
    };
    handlers.remoteConfig = [this](const pb::AgentRemoteConfig& config) {
        auto span = messageSpan("remote_config");
        if (config_.capabilities.acceptsRemoteConfig) {
            startConfigSpan(config, *span);
        }
        onRemoteConfig(config);
    };
    handlers.packagesAvailable = [this](const pb::PackagesAvailable& offer) {
        auto span = messageSpan("packages_available");
        if (packages_) {
            packages_->onPackagesAvailable(offer);
        } else {
            logger_.warn("Ignored a packages offer: capabilities.accepts_packages is off");
        }
    };
    handlers.connectionSettings = [this](const pb::ConnectionSettingsOffers& offers) {
        auto span = messageSpan("connection_settings");
        onConnectionSettings(offers);
    };
    return std::make_unique<opamp::Client>(
        loop_, settings, std::move(state), handlers, logger_.named("opamp"), [] {
            static thread_local std::mt19937_64 random{std::random_device{}()};
            return std::uniform_real_distribution<double>(0.0, 1.0)(random);
        });
}

void Supervisor::onClientConnectionChanged(bool up) {
    connected_ = up;
    if (up) {
        platform_.metrics->opampConnects += 1;
    }
    publishServiceStatus();
    logger_.info(up ? "Connected to the OpAMP server" : "Disconnected from the OpAMP server");
    if (!up) {
        certificates_.mayAskAgain();
    }
    if (up && pendingOffer_) {
        // The offered settings work: they are the ones from now on, across restarts.
        loop_.cancel(pendingOffer_->timer);
        committedOffer_ = pendingOffer_->offer;
        pendingOffer_.reset();
        try {
            remoteconfig::saveConnectionOffers(store_, remoteconfig::kOpampConnectionFile,
                                               *committedOffer_);
            // Only once the certificate and its key are kept does the waiting key go.
            certificates_.committed(committedOffer_->opamp());
        } catch (const std::exception& e) {
            logger_.error("Cannot persist the offered connection settings", {{"error", e.what()}});
        }
        logger_.info("The offered connection settings work",
                     {{"endpoint", clientSettings_.endpoint}});
        setConnectionSettingsStatus(committedOffer_->hash(),
                                    pb::ConnectionSettingsStatuses_APPLIED);
    }
    if (up && usingFallback_) {
        // Only ever before the first connection: a later outage keeps what runs.
        usingFallback_ = false;
        if (phase_ == Phase::Running && !applying_ && !stoppedForEmptyConfig_) {
            logger_.info("Leaving the startup fallback configs for the configured ones");
            runCollector(Relaunch::ReloadOrRestart);
        }
    }
}

// An OpAMP connection-settings offer, in the spec's order: kept as a candidate, the client
// reconnects with it (APPLYING), and it is committed and persisted once the connection
// works (APPLIED), or the client goes back to the settings it had when it does not connect
// within server.connection_settings_timeout (FAILED).
// What the offer leaves out stays as the settings in use have it (a pending offer's, or the
// committed one's); the client's settings are rebuilt from the config and that.
pb::ConnectionSettingsOffers Supervisor::mergedOpampOffer(
    const pb::ConnectionSettingsOffers& offers) const {
    pb::ConnectionSettingsOffers kept;
    kept.set_hash(offers.hash());
    *kept.mutable_opamp() =
        opamp::mergeConnectionOffer(pendingOffer_     ? pendingOffer_->offer.opamp()
                                    : committedOffer_ ? committedOffer_->opamp()
                                                      : pb::OpAMPConnectionSettings(),
                                    offers.opamp());
    return kept;
}

void Supervisor::onOpampOffer(const pb::ConnectionSettingsOffers& offers) {
    if (!config_.capabilities.acceptsOpampConnectionSettings) {
        logger_.warn(
            "Ignored an OpAMP connection settings offer: "
            "capabilities.accepts_opamp_connection_settings is off");
        return;
    }
    const std::string& hash = offers.hash();
    if ((pendingOffer_ && pendingOffer_->offer.hash() == hash && !hash.empty()) ||
        (!pendingOffer_ && committedOffer_ && committedOffer_->hash() == hash && !hash.empty())) {
        return;  // sent again
    }
    const pb::ConnectionSettingsOffers kept = mergedOpampOffer(offers);
    opamp::Client::Settings candidate;
    try {
        candidate = opamp::withConnectionOffer(configuredClientSettings(), kept.opamp(),
                                               config::processExpansionSources().env);
    } catch (const std::invalid_argument& e) {
        logger_.error("Refused an OpAMP connection settings offer", {{"error", e.what()}});
        setConnectionSettingsStatus(hash, pb::ConnectionSettingsStatuses_FAILED, e.what());
        return;
    }
    if (opamp::sameConnection(candidate, clientSettings_)) {
        // Nothing about the connection changes (a heartbeat interval, say): no reconnection.
        clientSettings_ = candidate;
        if (pendingOffer_) {
            // It joins the offer being tried, and is committed (and reported) with it.
            const std::string pendingHash = pendingOffer_->offer.hash();
            pendingOffer_->offer = kept;
            pendingOffer_->offer.set_hash(pendingHash);
            return;
        }
        committedOffer_ = kept;
        try {
            remoteconfig::saveConnectionOffers(store_, remoteconfig::kOpampConnectionFile, kept);
        } catch (const std::exception& e) {
            logger_.error("Cannot persist the offered connection settings", {{"error", e.what()}});
        }
        setConnectionSettingsStatus(hash, pb::ConnectionSettingsStatuses_APPLIED);
        return;
    }
    // What a failure goes back to: the settings before any offer still being tried.
    const opamp::Client::Settings previous =
        pendingOffer_ ? pendingOffer_->previous : clientSettings_;
    if (pendingOffer_) {
        loop_.cancel(pendingOffer_->timer);
        pendingOffer_.reset();
    }
    setConnectionSettingsStatus(hash, pb::ConnectionSettingsStatuses_APPLYING);
    logger_.info("Trying the OpAMP connection settings the server offered",
                 {{"endpoint", candidate.endpoint}});
    PendingOffer pending{kept, previous, {}};
    pending.timer = loop_.postAfter(
        config_.server.connectionSettingsTimeout,
        [this, hash, alive = std::weak_ptr<bool>(alive_)] {
            if (!alive.lock() || !pendingOffer_ || pendingOffer_->offer.hash() != hash ||
                phase_ == Phase::ShuttingDown) {
                return;
            }
            const std::string reason =
                "could not connect to " + clientSettings_.endpoint + " within " +
                config::formatGoDuration(config_.server.connectionSettingsTimeout) + "; back to " +
                pendingOffer_->previous.endpoint;
            logger_.error("The offered connection settings do not work", {{"error", reason}});
            opamp::Client::Settings back = pendingOffer_->previous;
            pendingOffer_.reset();
            switchClient(back);
            setConnectionSettingsStatus(hash, pb::ConnectionSettingsStatuses_FAILED, reason);
        });
    pendingOffer_ = std::move(pending);
    // The offer arrived inside the client's message handling: switch after it returns.
    loop_.post([this, candidate, hash, alive = std::weak_ptr<bool>(alive_)] {
        if (alive.lock() && pendingOffer_ && pendingOffer_->offer.hash() == hash &&
            phase_ != Phase::ShuttingDown) {
            switchClient(candidate);
        }
    });
}

void Supervisor::switchClient(const opamp::Client::Settings& settings) {
    opamp::AgentState state = client_->state();
    std::unique_ptr<opamp::Client> next;
    try {
        next = makeClient(settings, state);
    } catch (const std::exception& e) {
        // Settings no transport can use: keep the client there is.
        logger_.error("Cannot use the offered connection settings", {{"error", e.what()}});
        if (pendingOffer_) {
            loop_.cancel(pendingOffer_->timer);
            const std::string hash = pendingOffer_->offer.hash();
            clientSettings_ = pendingOffer_->previous;
            pendingOffer_.reset();
            setConnectionSettingsStatus(hash, pb::ConnectionSettingsStatuses_FAILED, e.what());
        }
        return;
    }
    client_->stop();
    connected_ = false;
    publishServiceStatus();
    certificates_.mayAskAgain();  // a new connection
    clientSettings_ = settings;
    client_ = std::move(next);
    client_->start();
}

void Supervisor::setConnectionSettingsStatus(const std::string& hash,
                                             pb::ConnectionSettingsStatuses status,
                                             const std::string& error) {
    if (!config_.capabilities.reportsConnectionSettingsStatus || !client_) {
        return;
    }
    pb::ConnectionSettingsStatus s;
    s.set_last_connection_settings_hash(hash);
    s.set_status(status);
    s.set_error_message(error);
    client_->state().setConnectionSettingsStatus(s);
    client_->flush();
}

void Supervisor::maybeRequestCertificate() {
    if (!client_ || !client_->connected() || pendingOffer_ || phase_ == Phase::ShuttingDown) {
        return;
    }
    std::optional<std::uint64_t> serverCapabilities = client_->serverCapabilities();
    if (!serverCapabilities) {
        return;
    }
    std::optional<std::string> issued;
    if (committedOffer_ && !committedOffer_->opamp().certificate().cert().empty()) {
        issued = committedOffer_->opamp().certificate().cert();
    }
    if (auto request =
            certificates_.requestIfNeeded(issued, state_.instanceId.toString(), *serverCapabilities,
                                          std::chrono::system_clock::now())) {
        client_->state().setConnectionSettingsRequest(*request);
        client_->flush();
    }
}

// A certificate nearing its end is renewed without waiting for a reconnection.
void Supervisor::scheduleCertificateCheck() {
    if (!config_.server.certificateRequest.enabled) {
        return;
    }
    loop_.postAfter(std::chrono::hours(1), [this, alive = std::weak_ptr<bool>(alive_)] {
        if (alive.lock() && phase_ != Phase::ShuttingDown) {
            maybeRequestCertificate();
            scheduleCertificateCheck();
        }
    });
}

effective::ComposeResult Supervisor::compose(
    const std::optional<pb::AgentRemoteConfig>& remote) const {
    effective::ComposeInput input;
    input.configFiles = config_.agent.configFiles;
    if (usingFallback_) {
        input.configFiles.clear();
        for (const auto& file : config_.agent.startupFallbackConfigs) {
            input.configFiles.push_back(file.string());
        }
    }
    input.opampExtensionYaml = extensionYaml();
    input.ownTelemetryYaml = ownTelemetrySection().yaml;
    input.resourceAttributes =
        resourceAttributes(withOverrides(description_.value_or(fallbackDescription())));
    input.acceptsRemoteConfig = config_.capabilities.acceptsRemoteConfig;
    input.instanceUid = state_.instanceId.toString();
    if (remote) {
        input.remoteConfig = remoteconfig::configFiles(*remote);
    }
    const effective::OtherConnections others = otherConnectionsView();
    input.otherConnections = &others;
    return effective::composeEffectiveConfig(input);
}

void Supervisor::runCollector(Relaunch how) {
    if (remoteConfig_ && restrictionBroken(*remoteConfig_)) {
        // Restrictions may have been tightened since the config was received.
        logger_.error("The persisted remote config breaks a restriction; not running it",
                      {{"rule", *restrictionBroken(*remoteConfig_)}});
        remoteConfig_ = workingConfig_ && !restrictionBroken(*workingConfig_)
                            ? workingConfig_
                            : std::optional<pb::AgentRemoteConfig>();
    }
    if (remoteConfig_ && remoteconfig::isEmptyConfigMap(*remoteConfig_)) {
        stopForEmptyConfig();
        return;
    }
    stoppedForEmptyConfig_ = false;
    // A reload keeps the process, so it keeps its launch secret and local-server identity.
    // A new secret is told to the local server only once the config carrying it is written:
    // until then the running collector, on the old one, must still be able to reconnect.
    const bool reload = how == Relaunch::ReloadOrRestart && config_.agent.useHupConfigReload &&
                        commander_->running();
    const std::string previousSecret = secret_;
    if (!reload) {
        secret_ = randomHex(16);
    }
    effective::ComposeResult composed = compose(remoteConfig_);
    if (composed.error && remoteConfig_ && workingConfig_ &&
        workingConfig_->config_hash() != remoteConfig_->config_hash()) {
        logger_.error("The remote config does not compose; running the last working one",
                      {{"error", *composed.error}});
        remoteConfig_ = workingConfig_;
        composed = compose(remoteConfig_);
    }
    for (const std::string& warning : composed.warnings) {
        logger_.error("A local config file is left out of the collector's config",
                      {{"problem", warning}});
    }
    if (composed.error) {
        secret_ = previousSecret;
        launchConcluded_ = true;  // failed: the supervisor stays up for a fix
        reportHealth(false, "StatusFatalError",
                     "cannot compose the collector's config: " + *composed.error);
        return;
    }
    try {
        writeOfferedFiles();
        store_.writeForCollector(kEffectiveConfigFile, composed.yaml);
    } catch (const std::exception& e) {
        secret_ = previousSecret;
        const std::string reason = std::string("cannot write the collector's config: ") + e.what();
        logger_.error("Cannot write the collector's config", {{"error", e.what()}});
        if (applying_ && commander_->running()) {
            // The running collector never saw the new config: it keeps running what it ran,
            // and the config fails now, with the real reason.
            loop_.cancel(applying_->timer);
            const std::string hash = applying_->hash;
            applying_.reset();
            remoteConfig_ = workingConfig_;
            refused(hash, reason);
            return;
        }
        launchConcluded_ = true;
        reportHealth(false, "StatusFatalError", reason);
        return;
    }
    if (!reload) {
        localServer_->expect({state_.instanceId, secret_, std::nullopt});
        try {
            output_->restart();
        } catch (const std::exception& e) {
            // The config on disk is the new one: the collector must start on it anyway.
            logger_.error("Cannot restart agent.log; the collector's output is lost",
                          {{"error", e.what()}});
        }
    }
    runningYaml_ = composed.yaml;
    healthServer_->setReady(true, "");
    // What the server sees until the collector reports its own effective config.
    if (config_.capabilities.reportsEffectiveConfig && client_) {
        pb::EffectiveConfig effectiveConfig;
        auto& file = (*effectiveConfig.mutable_config_map()->mutable_config_map())[""];
        file.set_body(withoutSecret(composed.yaml, secret_));
        file.set_content_type("text/yaml");
        client_->state().setEffectiveConfig(effectiveConfig);
        client_->flush();
    }
    if (reload && commander_->reload()) {
        return;
    }
    if (how == Relaunch::Start && !commander_->running()) {
        commander_->start(launchSpec());
    } else {
        commander_->restart(launchSpec());
    }
}

// A collector that runs but never connects (its opamp extension missing from the config,
// or unable to reach the local server) would otherwise leave the server with no health at
// all, or with its predecessor's. Applies and binary trials have their own deadlines.
void Supervisor::watchForConnection(long pid) {
    if (connectWatch_) {
        loop_.cancel(*connectWatch_);
        connectWatch_.reset();
    }
    if (applying_ || trial_) {
        return;
    }
    const config::Duration wait =
        std::max(config_.agent.configApplyTimeout, config_.agent.bootstrapTimeout);
    connectWatch_ = loop_.postAfter(wait, [this, pid, wait, alive = std::weak_ptr<bool>(alive_)] {
        if (!alive.lock()) {
            return;
        }
        connectWatch_.reset();
        if (phase_ != Phase::Running || applying_ || localServer_->isConnected() ||
            commander_->pid() != pid) {
            return;
        }
        const std::string problem =
            "the collector (pid " + std::to_string(pid) +
            ") has not connected to the supervisor's OpAMP server at " + localServer_->endpoint() +
            " within " + config::formatGoDuration(wait) +
            "; its health is unknown (is the opamp extension in its config?)";
        logger_.warn("The collector has not connected to the supervisor",
                     {{"pid", std::to_string(pid)},
                      {"endpoint", localServer_->endpoint()},
                      {"waited", config::formatGoDuration(wait)}});
        reportHealth(false, "StatusRecoverableError", problem);
    });
}

void Supervisor::onCollectorConnected() {
    if (connectWatch_) {
        loop_.cancel(*connectWatch_);
        connectWatch_.reset();
    }
    collectorEverConnected_ = true;
    if (trial_ && trial_->launched) {
        trial_->collectorConnected = true;
    }
    if (applying_) {
        applying_->collectorConnected = true;
    }
}

void Supervisor::onCollectorDisconnected(const std::string& reason) {
    logger_.debug("The collector's OpAMP connection ended", {{"reason", reason}});
}

void Supervisor::onCollectorMessage(const pb::AgentToServer& message) {
    if (message.has_agent_description()) {
        description_ = message.agent_description();
    }
    if (message.has_available_components()) {
        const pb::AvailableComponents& reported = message.available_components();
        bool known = components_ && components_->hash() == reported.hash() &&
                     !components_->components().empty();
        if (!reported.components().empty()) {
            components_ = reported;
        } else if (!known) {
            // Only the hash: ask for the map.
            pb::ServerToAgent ask;
            ask.set_flags(pb::ServerToAgentFlags_ReportAvailableComponents);
            localServer_->send(ask);
        }
    }
    if (phase_ == Phase::Bootstrapping) {
        bool componentsDone = !message.has_available_components() ||
                              (components_ && !components_->components().empty());
        if (description_ && componentsDone) {
            finishBootstrap(std::nullopt);
        }
        return;
    }
    if (!client_ || phase_ != Phase::Running) {
        return;
    }
    opamp::AgentState& state = client_->state();
    if (message.has_agent_description()) {
        state.setAgentDescription(withOverrides(message.agent_description()));
    }
    if (message.has_health()) {
        lastHealth_ = message.health();
        publishServiceStatus();
    }
    if (message.has_health() && config_.capabilities.reportsHealth) {
        state.setHealth(message.health());
    }
    if (message.has_health() && applying_ && applying_->collectorConnected) {
        onApplyHealth(message.health());
    }
    if (message.has_health() && trial_ && trial_->collectorConnected) {
        onTrialHealth(message.health());
    }
    if (message.has_effective_config() && config_.capabilities.reportsEffectiveConfig) {
        state.setEffectiveConfig(withoutSecret(message.effective_config(), secret_));
    }
    if (components_ && config_.capabilities.reportsAvailableComponents &&
        !components_->components().empty()) {
        state.setAvailableComponents(*components_);
    }
    if (message.has_custom_capabilities()) {
        state.setCustomCapabilities(message.custom_capabilities());
    }
    if (message.has_custom_message()) {
        client_->sendCustomMessage(message.custom_message());
    }
    client_->flush();
}

void Supervisor::reportHealth(bool healthy, const std::string& status, const std::string& error) {
    pb::ComponentHealth health;
    lastHealth_.set_healthy(healthy);
    lastHealth_.set_last_error(error);
    health.set_healthy(healthy);
    health.set_status(status);
    health.set_last_error(error);
    health.set_status_time_unix_nano(nowNanos());
    publishServiceStatus();
    if (!client_) {
        pendingHealth_ = health;
        return;
    }
    if (config_.capabilities.reportsHealth) {
        client_->state().setHealth(health);
        client_->flush();
    }
}

void Supervisor::onRestartCommand() {
    if (!config_.capabilities.acceptsRestartCommand) {
        logger_.warn("Ignored a restart command: capabilities.accepts_restart_command is off");
        return;
    }
    if (stoppedForEmptyConfig_) {
        logger_.info("Ignored a restart command: the remote config is empty, so no collector runs");
        return;
    }
    if (phase_ != Phase::Running) {
        logger_.info("Ignored a restart command: the supervisor is shutting down");
        return;
    }
    logger_.info("Restarting the collector at the server's request");
    runCollector(Relaunch::Restart);
}

void Supervisor::onNewInstanceUid(const opamp::Uuid& uid) {
    state_.instanceId = uid;
    // A certificate naming the old UID is replaced (the spec's CSR flow), once the client
    // speaks as the new one.
    certificates_.mayAskAgain();
    loop_.post([this, alive = std::weak_ptr<bool>(alive_)] {
        if (alive.lock()) {
            maybeRequestCertificate();
        }
    });
    try {
        storage::savePersistentState(store_, state_);
    } catch (const std::exception& e) {
        logger_.error("Cannot persist the new instance UID", {{"error", e.what()}});
    }
    // The collector's opamp extension must speak for the new UID: rewrite and restart.
    if (phase_ == Phase::Running) {
        commander_->stop([this, alive = std::weak_ptr<bool>(alive_)] {
            if (alive.lock() && phase_ == Phase::Running) {
                runCollector();
            }
        });
    }
}

void Supervisor::startStatusServer() {
    if (config_.status.endpoint.empty()) {
        return;
    }
    // A request waits for the loop to take the snapshot, so nothing is shared with the
    // endpoint's threads.
    auto provider = [this, alive = std::weak_ptr<bool>(
                               alive_)]() -> std::optional<localstatus::StatusSnapshot> {
        auto promise = std::make_shared<std::promise<localstatus::StatusSnapshot>>();
        std::future<localstatus::StatusSnapshot> future = promise->get_future();
        loop_.post([this, alive, promise] {
            if (alive.lock()) {
                promise->set_value(statusSnapshot());
            }
        });
        if (future.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
            return std::nullopt;
        }
        return future.get();
    };
    statusServer_ =
        std::make_unique<localstatus::StatusServer>(config_.status.endpoint, std::move(provider));
    // Where `opampsupervisor status` finds it.
    store_.write(kStatusEndpointFile, statusServer_->address() + "\n");
    logger_.info("Serving the status", {{"endpoint", statusServer_->address()}});
}

void Supervisor::publishServiceStatus() {
    // Every change of health or connection comes through here.
    platform_.metrics->collectorHealthy = lastHealth_.healthy();
    platform_.metrics->opampConnected = connected_;
    if (!platform_.serviceStatus) {
        return;
    }
    ServiceStatus status;
    if (phase_ == Phase::ShuttingDown) {
        status.stopping = true;
        status.line = "Stopping: the collector is being stopped";
    } else if (phase_ != Phase::Running) {
        status.line = "Starting: learning the collector's description (bootstrap)";
    } else {
        localstatus::StatusSnapshot s = statusSnapshot();
        status.ready = launchConcluded_;
        if (s.collectorPid) {
            status.line = "Collector running (pid " + std::to_string(*s.collectorPid) + "), ";
            if (s.healthy) {
                status.line += "healthy";
            } else if (!s.healthError.empty()) {
                status.line += "not healthy: " + s.healthError;
            } else if (!lastHealth_.status().empty()) {
                status.line += "not healthy: " + lastHealth_.status();
            } else {
                status.line += "no health report yet";
            }
        } else if (stoppedForEmptyConfig_) {
            status.line = "No collector: the remote config is empty";
        } else if (!launchConcluded_) {
            status.line = "Starting the collector";
        } else {
            status.line = "Collector not running" +
                          (s.healthError.empty() ? std::string() : ": " + s.healthError);
        }
        status.line += connected_ ? "; OpAMP server connected" : "; OpAMP server not connected";
        if (!s.remoteConfigStatus.empty() && s.remoteConfigStatus != "UNSET") {
            status.line += "; remote config " + s.remoteConfigStatus;
        }
    }
    // Crash output can run to many lines; the service manager shows one.
    if (auto cut = status.line.find('\n'); cut != std::string::npos) {
        status.line.resize(cut);
    }
    if (publishedServiceStatus_ == status) {
        return;
    }
    publishedServiceStatus_ = status;
    platform_.serviceStatus(status);
}

localstatus::StatusSnapshot Supervisor::statusSnapshot() const {
    localstatus::StatusSnapshot s;
    s.version = kVersion;
    s.instanceUid = state_.instanceId.toString();
    s.serverEndpoint = config_.server.endpoint;
    s.connected = connected_;
    if (phase_ == Phase::Running) {
        s.collectorPid = commander_->pid();
        if (s.collectorPid) {
            s.collectorStartedAt = collectorStartedAt_;
        }
    }
    s.collectorRestarts = std::max(0, collectorStarts_ - 1);
    s.collectorExecutable = executable_.string();
    if (packages_) {
        s.packagesReported = true;
        for (const auto& [name, status] : packages_->statuses().packages()) {
            std::string state = pb::PackageStatusEnum_Name(status.status());
            state.erase(0, state.find('_') + 1);
            s.packages.push_back({name, state, status.agent_has_version(),
                                  status.server_offered_version(), status.error_message()});
        }
    }
    s.healthy = lastHealth_.healthy();
    s.healthError = lastHealth_.last_error();
    if (config_.capabilities.acceptsRemoteConfig) {
        if (remoteConfig_) {
            s.remoteConfigHash = opamp::hex(remoteConfig_->config_hash());
        }
        if (workingConfig_) {
            s.lastWorkingHash = opamp::hex(workingConfig_->config_hash());
        }
        if (applying_) {
            s.pendingHash = opamp::hex(applying_->hash);
        } else if (validatingHash_) {
            s.pendingHash = opamp::hex(*validatingHash_);
        }
        const auto& status = state_.lastRemoteConfigStatus;
        s.remoteConfigStatus = pb::RemoteConfigStatuses_Name(
            status ? status->status() : pb::RemoteConfigStatuses_UNSET);
        s.remoteConfigStatus.erase(0, s.remoteConfigStatus.find('_') + 1);
        if (status) {
            s.remoteConfigError = status->error_message();
        }
    }
    return s;
}

effective::OwnTelemetrySection Supervisor::ownTelemetrySection() const {
    effective::OwnTelemetrySignals signals;
    signals.metrics = config_.capabilities.reportsOwnMetrics;
    signals.logs = config_.capabilities.reportsOwnLogs;
    signals.traces = config_.capabilities.reportsOwnTraces;
    return effective::renderOwnTelemetry(
        ownTelemetry_, signals, [this](std::string_view name) { return store_.pathOf(name); });
}

effective::OtherConnections Supervisor::otherConnectionsView() const {
    return effective::OtherConnections(
        otherConnections_, [this](std::string_view name) { return store_.pathOf(name); });
}

// The PEM files the collector's config points at: the own telemetry and other connections'
// certificates.
std::vector<std::pair<std::string, std::string>> Supervisor::offeredFiles() const {
    std::vector<std::pair<std::string, std::string>> files = ownTelemetrySection().files;
    const effective::OtherConnections others = otherConnectionsView();
    files.insert(files.end(), others.files().begin(), others.files().end());
    return files;
}

// A connection settings offer is checked whole before any of it is kept: the parts that end
// up in the collector's config (own telemetry, other connections) must compose with the
// config that runs and keep its restrictions, and an OpAMP part must be usable (a valid
// endpoint, a certificate with its key). A refused offer is FAILED and changes nothing.
// Then the collector's parts are persisted and taken (the collector restarted when its
// config changes), and the OpAMP part is tried (onOpampOffer), which reports the status;
// without one the offer is APPLIED. The OpAMP part can still fail later, when its
// connection does not work: the collector's parts stay, as they do not depend on it.
void Supervisor::onConnectionSettings(const pb::ConnectionSettingsOffers& received) {
    pb::ConnectionSettingsOffers offers = received;
    const std::string hash = offers.hash();
    auto refuse = [&](const std::string& why) {
        logger_.error("Refused a connection settings offer", {{"error", why}});
        setConnectionSettingsStatus(hash, pb::ConnectionSettingsStatuses_FAILED, why);
    };
    if (!offers.other_connections().empty() &&
        !config_.capabilities.acceptsOtherConnectionSettings) {
        offers.clear_other_connections();
        if (!offers.has_opamp() && !offers.has_own_metrics() && !offers.has_own_logs() &&
            !offers.has_own_traces()) {
            refuse(
                "other connections were offered, but "
                "capabilities.accepts_other_connection_settings is off");
            return;
        }
        logger_.warn(
            "Ignored the other connections offered: "
            "capabilities.accepts_other_connection_settings is off");
    }
    if (offers.has_opamp() && config_.capabilities.acceptsOpampConnectionSettings) {
        // A certificate issued for our request comes without its key: it is ours to add.
        if (std::optional<std::string> problem = certificates_.pairWithKey(
                *offers.mutable_opamp(),
                committedOffer_ ? &committedOffer_->opamp().certificate() : nullptr)) {
            refuse(*problem);
            return;
        }
        try {
            opamp::withConnectionOffer(configuredClientSettings(), mergedOpampOffer(offers).opamp(),
                                       config::processExpansionSources().env);
        } catch (const std::invalid_argument& e) {
            refuse(e.what());
            return;
        }
    }

    const pb::ConnectionSettingsOffers ownBefore = ownTelemetry_;
    const pb::ConnectionSettingsOffers otherBefore = otherConnections_;
    const bool ownChanged = effective::mergeOwnTelemetryOffer(ownTelemetry_, offers);
    const bool otherChanged = effective::mergeOtherConnectionsOffer(otherConnections_, offers);
    if (ownChanged || otherChanged) {
        std::optional<std::string> problem = compose(remoteConfig_).error;
        if (!problem && remoteConfig_) {
            problem = restrictionBroken(*remoteConfig_);
        }
        if (problem) {
            ownTelemetry_ = ownBefore;
            otherConnections_ = otherBefore;
            refuse("the collector's config cannot take the offered settings: " + *problem);
            return;
        }
        try {
            if (ownChanged) {
                remoteconfig::saveConnectionOffers(store_, remoteconfig::kOwnTelemetryFile,
                                                   ownTelemetry_);
            }
            if (otherChanged) {
                remoteconfig::saveConnectionOffers(store_, remoteconfig::kOtherConnectionsFile,
                                                   otherConnections_);
            }
        } catch (const std::exception& e) {
            ownTelemetry_ = ownBefore;
            otherConnections_ = otherBefore;
            refuse(std::string("cannot persist the offered settings: ") + e.what());
            return;
        }
        for (const std::string& note : ownTelemetrySection().notes) {
            logger_.warn("Part of the own telemetry offer cannot be used", {{"problem", note}});
        }
        const effective::OtherConnections others = otherConnectionsView();
        for (const std::string& note : others.notes()) {
            logger_.warn("Part of the other connections offer cannot be used", {{"problem", note}});
        }
        restartForOfferedSettings();
    }
    if (offers.has_opamp()) {
        onOpampOffer(offers);
    } else if (ownChanged || otherChanged || offers.has_own_metrics() || offers.has_own_logs() ||
               offers.has_own_traces() || !offers.other_connections().empty()) {
        setConnectionSettingsStatus(hash, pb::ConnectionSettingsStatuses_APPLIED);
    }
}

// Writes the certificates the collector's config points at, and forgets (deletes) those no
// longer offered, as the spec asks of replaced client certificates.
void Supervisor::writeOfferedFiles() const {
    const std::vector<std::pair<std::string, std::string>> files = offeredFiles();
    for (const auto& [name, pem] : files) {
        store_.writeForCollector(name, pem);
    }
    std::error_code error;
    for (auto it = std::filesystem::directory_iterator(store_.directory(), error);
         !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
        const std::string name = it->path().filename().string();
        const bool ours =
            (name.rfind("other_connection_", 0) == 0 || name.rfind("own_telemetry_", 0) == 0) &&
            name.size() > 4 && name.compare(name.size() - 4, 4, ".pem") == 0;
        if (!ours || std::any_of(files.begin(), files.end(),
                                 [&](const auto& file) { return file.first == name; })) {
            continue;
        }
        try {
            store_.remove(name);
        } catch (const std::exception& e) {
            logger_.warn("Cannot delete a certificate file no longer offered",
                         {{"file", name}, {"error", e.what()}});
        }
    }
}

// The collector restarts when the offered settings change its config or the files it reads.
void Supervisor::restartForOfferedSettings() {
    if (phase_ != Phase::Running || stoppedForEmptyConfig_ || applying_) {
        return;  // a config being applied, or the next start, takes them
    }
    // A rotated certificate keeps its file name: the files count as much as the YAML.
    bool filesChanged = false;
    for (const auto& [name, pem] : offeredFiles()) {
        try {
            filesChanged = filesChanged || store_.read(name) != pem;
        } catch (const std::exception&) {
            filesChanged = true;
        }
    }
    if (!filesChanged && compose(remoteConfig_).yaml == runningYaml_) {
        return;
    }
    logger_.info("The connection settings in the collector's config changed: restarting it");
    runCollector(Relaunch::ReloadOrRestart);
}

void Supervisor::loadRemoteConfigState() {
    remoteconfig::Loaded loaded = remoteconfig::loadRemoteConfigFiles(store_);
    for (const std::string& note : loaded.notes) {
        logger_.error("Persisted remote config state is unusable", {{"problem", note}});
    }
    ownTelemetry_ = loaded.ownTelemetry.value_or(pb::ConnectionSettingsOffers());
    committedOffer_ = loaded.opampConnection;
    if (config_.capabilities.acceptsOtherConnectionSettings) {
        otherConnections_ = loaded.otherConnections.value_or(pb::ConnectionSettingsOffers());
    }
    if (!config_.capabilities.acceptsRemoteConfig) {
        return;
    }
    workingConfig_ = loaded.lastWorking;
    remoteConfig_ = loaded.lastReceived;
    const auto& status = state_.lastRemoteConfigStatus;
    const bool hasVerdict = remoteConfig_ && status &&
                            status->last_remote_config_hash() == remoteConfig_->config_hash();
    // A received config that failed is not run again at start: the last working one is.
    if (config_.agent.automaticConfigRollback && hasVerdict &&
        status->status() == pb::RemoteConfigStatuses_FAILED) {
        remoteConfig_ = workingConfig_;
    }
    // A config the supervisor was killed while applying (no verdict, or APPLYING) was never
    // proven: the last working config runs, and the received one goes through the whole
    // transaction again (validation, health, soak, rollback) once the collector runs.
    // Without automatic_config_rollback no working config is kept to compare with, so a
    // status for another hash (a later config refused) cannot tell an unfinished apply.
    const bool isWorking = remoteConfig_ && workingConfig_ &&
                           workingConfig_->config_hash() == remoteConfig_->config_hash();
    const bool verdictPending = hasVerdict
                                    ? status->status() == pb::RemoteConfigStatuses_APPLYING ||
                                          status->status() == pb::RemoteConfigStatuses_UNSET
                                    : config_.agent.automaticConfigRollback;
    if (remoteConfig_ && !isWorking && verdictPending) {
        logger_.warn(
            "The last received remote config was being applied when the supervisor "
            "stopped: running the last working config, then applying it again",
            {{"hash", opamp::hex(remoteConfig_->config_hash())}});
        unfinishedApply_ = std::move(remoteConfig_);
        remoteConfig_ = workingConfig_;
    }
    if (remoteConfig_) {
        logger_.info("Starting with the persisted remote config",
                     {{"hash", opamp::hex(remoteConfig_->config_hash())}});
    }
}

std::optional<std::string> Supervisor::restrictionBroken(
    const pb::AgentRemoteConfig& remote) const {
    const effective::OtherConnections others = otherConnectionsView();
    return remoteconfig::checkRestrictions(
        config_.remoteConfigRestrictions, remoteconfig::configFiles(remote),
        [&others](const std::string& value) { return others.substituteText(value); });
}

void Supervisor::setRemoteConfigStatus(const std::string& hash, pb::RemoteConfigStatuses status,
                                       const std::string& error) {
    pb::RemoteConfigStatus s;
    s.set_last_remote_config_hash(hash);
    s.set_status(status);
    s.set_error_message(error);
    state_.lastRemoteConfigStatus = s;
    if (status == pb::RemoteConfigStatuses_APPLIED || status == pb::RemoteConfigStatuses_FAILED) {
        (status == pb::RemoteConfigStatuses_APPLIED ? platform_.metrics->configsApplied
                                                    : platform_.metrics->configsFailed) += 1;
        if (configSpan_ && configSpanHash_ == hash) {
            configSpan_->setAttribute("status", pb::RemoteConfigStatuses_Name(status));
            configSpan_->end(error);
            configSpan_.reset();
        }
    }
    try {
        storage::savePersistentState(store_, state_);
    } catch (const std::exception& e) {
        logger_.error("Cannot persist the remote config status", {{"error", e.what()}});
    }
    publishServiceStatus();
    if (client_ && config_.capabilities.acceptsRemoteConfig) {
        client_->state().setRemoteConfigStatus(s);
        client_->flush();
    }
}

// A remote config is a transaction. What arrived is persisted; then it must keep the local
// restrictions, compose, and pass the collector's own `validate` before anything runs it.
// A result equal to what runs is APPLIED at once. Otherwise it is APPLYING while the
// collector restarts with it, and APPLIED once the new collector has reported healthy
// within agent.config_apply_timeout and stayed healthy for agent.config_soak_period. Any
// failure is FAILED with the reason, and the collector goes back to the last config that
// ran healthy (automatic_config_rollback). An empty config map stops the collector.
void Supervisor::onRemoteConfig(const pb::AgentRemoteConfig& config) {
    if (!config_.capabilities.acceptsRemoteConfig) {
        logger_.warn("Ignored a remote config: capabilities.accepts_remote_config is off");
        return;
    }
    const std::string& hash = config.config_hash();
    if ((applying_ && applying_->hash == hash) || validatingHash_ == hash) {
        return;  // the server sent it again while it is being applied
    }
    if (trial_ || switchingExecutable_) {
        // The collector binary is changing: the config waits for the new one's verdict.
        logger_.info("Received a remote config; applying it once the collector binary switch ends",
                     {{"hash", opamp::hex(hash)}});
        deferredRemoteConfig_ = config;
        return;
    }
    logger_.info("Received a remote config", {{"hash", opamp::hex(hash)}});
    cancelValidation();
    try {
        remoteconfig::saveRemoteConfig(store_, remoteconfig::kLastReceivedFile, config);
    } catch (const std::exception& e) {
        setRemoteConfigStatus(hash, pb::RemoteConfigStatuses_FAILED,
                              std::string("cannot persist the remote config: ") + e.what());
        return;
    }
    if (remoteconfig::isEmptyConfigMap(config)) {
        applyEmptyConfig(config);
        return;
    }
    if (std::optional<std::string> broken = restrictionBroken(config)) {
        logger_.error("Refused a remote config", {{"hash", opamp::hex(hash)}, {"rule", *broken}});
        refused(hash, *broken);
        return;
    }
    effective::ComposeResult candidate = compose(config);
    if (candidate.error) {
        refused(hash, "cannot compose the collector's config: " + *candidate.error);
        return;
    }
    if (candidate.yaml == runningYaml_ && commander_->running() && !applying_) {
        // Nothing the collector runs would change: no restart.
        remoteConfig_ = config;
        setRemoteConfigStatus(hash, pb::RemoteConfigStatuses_APPLIED);
        return;
    }
    if (shouldValidate()) {
        validateThenApply(config, candidate.yaml);
    } else {
        // The apply composes again, with the new launch secret: a big config is held once.
        std::string().swap(candidate.yaml);
        beginApply(config);
    }
}

bool Supervisor::shouldValidate() const {
    const std::optional<bool>& wanted = config_.agent.validateConfig;
    return wanted.value_or(!validateUnsupported_);
}

void Supervisor::validateThenApply(const pb::AgentRemoteConfig& config,
                                   const std::string& candidateYaml) {
    const std::string hash = config.config_hash();
    const std::string file = kValidationConfigPrefix + randomHex(4) + ".yaml";
    try {
        store_.writeForCollector(file, candidateYaml);
    } catch (const std::exception& e) {
        refused(hash, std::string("cannot write the config to validate: ") + e.what());
        return;
    }
    validatingHash_ = hash;
    validateFile_ = file;
    validator_->validate({store_.pathOf(file)}, [this, config](remoteconfig::Validation v) {
        validatingHash_.reset();
        removeValidateFile();
        const std::string& checked = config.config_hash();
        using Outcome = remoteconfig::Validation::Outcome;
        switch (v.outcome) {
            case Outcome::Valid:
                beginApply(config);
                return;
            case Outcome::Unsupported:
                if (config_.agent.validateConfig.value_or(false)) {
                    refused(checked,
                            "agent.validate_config is on, but the collector has no validate "
                            "command: " +
                                v.detail);
                    return;
                }
                validateUnsupported_ = true;
                logger_.warn(
                    "The collector has no validate command; configs are applied "
                    "without it");
                beginApply(config);
                return;
            case Outcome::Invalid:
                logger_.error("The collector refused the remote config",
                              {{"hash", opamp::hex(checked)}, {"error", v.detail}});
                refused(checked, "the collector refused the config: " + v.detail);
                return;
            case Outcome::Failed:
                refused(checked, "cannot validate the config: " + v.detail);
                return;
        }
    });
}

void Supervisor::cancelValidation() {
    validator_->cancel();
    validatingHash_.reset();
    removeValidateFile();
}

void Supervisor::removeValidateFile() {
    if (validateFile_.empty()) {
        return;
    }
    try {
        store_.remove(validateFile_);
    } catch (const std::exception& e) {
        logger_.warn("Cannot remove the validated config", {{"error", e.what()}});
    }
    validateFile_.clear();
}

// A config refused before it ran is FAILED, and last_recv_remote_config.dat goes back to
// the config that runs: a restart must never run what was refused, whatever status comes
// after.
void Supervisor::refused(const std::string& hash, const std::string& reason) {
    try {
        if (remoteConfig_) {
            remoteconfig::saveRemoteConfig(store_, remoteconfig::kLastReceivedFile, *remoteConfig_);
        } else {
            store_.remove(remoteconfig::kLastReceivedFile);
        }
    } catch (const std::exception& e) {
        logger_.error("Cannot restore the last received remote config", {{"error", e.what()}});
    }
    setRemoteConfigStatus(hash, pb::RemoteConfigStatuses_FAILED, reason);
}

void Supervisor::beginApply(const pb::AgentRemoteConfig& config) {
    const std::string hash = config.config_hash();
    if (applying_) {
        loop_.cancel(applying_->timer);
    }
    remoteConfig_ = config;
    probation_.reset();
    setRemoteConfigStatus(hash, pb::RemoteConfigStatuses_APPLYING);
    applying_ = Apply{hash, {}, false, false, {}};
    applying_->timer = loop_.postAfter(
        config_.agent.configApplyTimeout, [this, hash, alive = std::weak_ptr<bool>(alive_)] {
            if (!alive.lock() || !applying_ || applying_->hash != hash || applying_->soaking) {
                return;
            }
            std::string reason = "the collector did not become healthy within " +
                                 config::formatGoDuration(config_.agent.configApplyTimeout);
            if (!applying_->lastHealthError.empty()) {
                reason += ": " + applying_->lastHealthError;
            } else if (!applying_->collectorConnected) {
                reason += " (it never connected); its last output:\n" + output_->tail(2048);
            }
            applyFailed(reason);
        });
    logger_.info("Applying the remote config: restarting the collector",
                 {{"hash", opamp::hex(hash)}});
    runCollector(Relaunch::ReloadOrRestart);
}

void Supervisor::applyEmptyConfig(const pb::AgentRemoteConfig& config) {
    if (applying_) {
        loop_.cancel(applying_->timer);
        applying_.reset();
    }
    remoteConfig_ = config;
    probation_.reset();
    logger_.info("The remote config is empty: stopping the collector",
                 {{"hash", opamp::hex(config.config_hash())}});
    stopForEmptyConfig();
    commitWorkingConfig();
    setRemoteConfigStatus(config.config_hash(), pb::RemoteConfigStatuses_APPLIED);
}

void Supervisor::stopForEmptyConfig() {
    stoppedForEmptyConfig_ = true;
    launchConcluded_ = true;
    healthServer_->setReady(true, "");
    runningYaml_.clear();
    commander_->stop();
    // Nothing is meant to run, so nothing is wrong (as the Go supervisor reports it).
    reportHealth(true, "", "");
}

void Supervisor::onApplyHealth(const pb::ComponentHealth& health) {
    if (!health.healthy()) {
        if (applying_->soaking) {
            applyFailed("the collector turned unhealthy within the soak period of " +
                        config::formatGoDuration(config_.agent.configSoakPeriod) + ": " +
                        (health.last_error().empty() ? health.status() : health.last_error()));
        } else if (!health.last_error().empty()) {
            applying_->lastHealthError = health.last_error();
        }
        return;
    }
    if (applying_->soaking) {
        return;
    }
    if (config_.agent.configSoakPeriod.count() == 0) {
        applySucceeded();
        return;
    }
    loop_.cancel(applying_->timer);
    applying_->soaking = true;
    logger_.info("The collector is healthy on the new config; soaking",
                 {{"period", config::formatGoDuration(config_.agent.configSoakPeriod)}});
    applying_->timer = loop_.postAfter(
        config_.agent.configSoakPeriod,
        [this, hash = applying_->hash, alive = std::weak_ptr<bool>(alive_)] {
            if (alive.lock() && applying_ && applying_->hash == hash && applying_->soaking) {
                applySucceeded();
            }
        });
}

void Supervisor::applySucceeded() {
    loop_.cancel(applying_->timer);
    const std::string hash = applying_->hash;
    applying_.reset();
    probation_ = Probation{hash, workingConfig_, 0};
    commitWorkingConfig();
    logger_.info("Remote config applied", {{"hash", opamp::hex(hash)}});
    setRemoteConfigStatus(hash, pb::RemoteConfigStatuses_APPLIED);
}

void Supervisor::commitWorkingConfig() {
    workingConfig_ = remoteConfig_;
    // As the Go supervisor: the last working config is kept only for the rollback.
    if (!config_.agent.automaticConfigRollback) {
        return;
    }
    try {
        if (workingConfig_) {
            remoteconfig::saveRemoteConfig(store_, remoteconfig::kLastWorkingFile, *workingConfig_);
        } else {
            store_.remove(remoteconfig::kLastWorkingFile);
        }
    } catch (const std::exception& e) {
        logger_.error("Cannot persist the last working remote config", {{"error", e.what()}});
    }
}

// S7: a config that became healthy but then crashes again and again, with no stable run in
// between, is no working config: it is FAILED and the one before it runs again.
bool Supervisor::crashedOnProbation(const std::string& error) {
    constexpr int kCrashesBeforeRollback = 3;
    if (std::chrono::system_clock::now() - collectorStartedAt_ >=
        config_.agent.restartBackoff.resetAfter) {
        probation_.reset();  // this run was a stable one: the config works
        return false;
    }
    if (++probation_->crashes < kCrashesBeforeRollback || !config_.agent.automaticConfigRollback) {
        return false;
    }
    Probation failed = std::move(*probation_);
    probation_.reset();
    const std::string reason =
        "the collector crashed " + std::to_string(kCrashesBeforeRollback) +
        " times on this config after it was applied, without a stable run; the last time: " + error;
    logger_.error("Remote config crash-loops; going back to the config before it",
                  {{"hash", opamp::hex(failed.hash)}, {"error", reason}});
    setRemoteConfigStatus(failed.hash, pb::RemoteConfigStatuses_FAILED, reason);
    reportHealth(false, "StatusFatalError", reason);
    remoteConfig_ = failed.previous;
    commitWorkingConfig();
    runCollector(Relaunch::ReloadOrRestart);
    return true;
}

void Supervisor::applyFailed(const std::string& reason) {
    loop_.cancel(applying_->timer);
    const std::string hash = applying_->hash;
    applying_.reset();
    setRemoteConfigStatus(hash, pb::RemoteConfigStatuses_FAILED, reason);
    if (!config_.agent.automaticConfigRollback) {
        // The collector stays on the failed config; a crash restarts it with backoff.
        logger_.error("Remote config failed; automatic_config_rollback is off, so it stays",
                      {{"hash", opamp::hex(hash)}, {"error", reason}});
        return;
    }
    logger_.error("Remote config failed; going back to the last working config",
                  {{"hash", opamp::hex(hash)}, {"error", reason}});
    remoteConfig_ = workingConfig_;
    runCollector(Relaunch::ReloadOrRestart);
}

// upstream's span names: onMessage for a message from the server, with what it carried.
std::unique_ptr<telemetry::Span> Supervisor::messageSpan(const std::string& carrying) {
    auto span = tracer_->start("onMessage");
    span->setAttribute("opamp.message", carrying);
    return span;
}

// processRemoteConfigMessage lasts until the config's verdict (setRemoteConfigStatus); a
// newer config ends the one before without one.
void Supervisor::startConfigSpan(const pb::AgentRemoteConfig& config,
                                 const telemetry::Span& parent) {
    if (configSpan_ && configSpanHash_ == config.config_hash()) {
        return;  // the same config again while it is being applied
    }
    if (configSpan_) {
        configSpan_->end("superseded by a newer remote config");
    }
    configSpan_ = tracer_->start("processRemoteConfigMessage", &parent);
    configSpan_->setAttribute("config_hash", opamp::hex(config.config_hash()));
    configSpanHash_ = config.config_hash();
}

void Supervisor::shutdown(std::function<void()> done) {
    if (phase_ == Phase::ShuttingDown) {
        return;
    }
    phase_ = Phase::ShuttingDown;
    publishServiceStatus();
    if (connectWatch_) {
        loop_.cancel(*connectWatch_);
        connectWatch_.reset();
    }
    if (applying_) {
        loop_.cancel(applying_->timer);
        applying_.reset();
    }
    cancelValidation();
    if (pendingOffer_) {
        loop_.cancel(pendingOffer_->timer);
        pendingOffer_.reset();
    }
    // Spans of work the shutdown interrupts say so, rather than look finished.
    for (std::unique_ptr<telemetry::Span>* span : {&bootstrapSpan_, &configSpan_}) {
        if (*span) {
            (*span)->end("the supervisor shut down first");
            span->reset();
        }
    }
    if (trial_) {
        // Not a verdict: the journal keeps the trial, and the next start takes it up.
        loop_.cancel(trial_->timer);
        trial_.reset();
    }
    if (packages_) {
        packages_->shutdown();
    }
    if (bootstrapTimer_) {
        loop_.cancel(*bootstrapTimer_);
        bootstrapTimer_.reset();
    }
    if (healthServer_) {
        healthServer_->setReady(false, "the supervisor is shutting down");
    }
    logger_.info("Shutting down: stopping the collector");
    commander_->stop([this, done = std::move(done)] {
        if (client_) {
            reportHealth(false, "StatusStopped", "the supervisor is shutting down");
            client_->stop();
        }
        localServer_->stop();
        if (healthServer_) {
            healthServer_->stop();
        }
        if (statusServer_) {
            statusServer_->stop();
            try {
                store_.remove(kStatusEndpointFile);
            } catch (const std::exception& e) {
                logger_.warn("Cannot remove the status endpoint file", {{"error", e.what()}});
            }
        }
        logger_.info("Shutdown complete");
        if (done) {
            done();
        }
    });
}

}  // namespace opampsup::supervisor
