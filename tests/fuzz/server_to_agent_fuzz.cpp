// Fuzzes what the supervisor does with a message from the OpAMP server, short of the
// network and the collector: the bytes are decoded as the transports decode them (the
// WebSocket transport's OpAMP header, else an HTTP body), parsed as a ServerToAgent and
// checked (interpretServerMessage), then each part goes through the production functions the
// client and the supervisor call for it, in the client's order:
//   - error_response: the retry hint into the reconnect backoff;
//   - flags, agent_identification: the agent state, and the reply it sends (nextMessage);
//   - connection_settings: the certificate pairing (CertificateRequester::pairWithKey) and
//     checks, the OpAMP offer merged and made into client settings (mergeConnectionOffer,
//     withConnectionOffer, sameConnection, the TLS context for offered CA certificates), the
//     own-telemetry and other-connections offers merged and rendered, and the offers
//     persisted and read back. They are handled before the remote config, as if they had
//     come in an earlier message, so the remote config composes with them;
//   - remote_config: the local restrictions, the effective config composed from the local
//     config file, the supervisor's sections and the remote files, and the config persisted
//     and read back;
//   - packages_available: a real PackageManager (its downloads refused by a closed local
//     port) assessing and trying the offer, and its journal read back;
//   - custom_message: queued for the collector on the (unstarted) local OpAMP server.
//
// Expected outcomes: a message that does not parse, problems, refusals (a returned reason or
// the exceptions the functions document: std::invalid_argument from withConnectionOffer,
// std::runtime_error from the TLS context). Findings: a crash, a sanitizer report, any other
// exception, a hang, state written that cannot be read back, or an effective config that is
// not YAML.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>

#include <Poco/URI.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include "TestCertificate.h"
#include "core/config/SupervisorConfig.h"
#include "core/effective/ConfigComposer.h"
#include "core/effective/OtherConnections.h"
#include "core/effective/OwnTelemetry.h"
#include "core/localserver/LocalOpampServer.h"
#include "core/opamp/AgentState.h"
#include "core/opamp/Backoff.h"
#include "core/opamp/CertificateRequest.h"
#include "core/opamp/Client.h"
#include "core/opamp/ConnectionOffer.h"
#include "core/opamp/ServerMessage.h"
#include "core/opamp/TlsContext.h"
#include "core/opamp/Uuid.h"
#include "core/opamp/WsFraming.h"
#include "core/packages/PackageJournal.h"
#include "core/packages/PackageManager.h"
#include "core/remoteconfig/RemoteConfigFiles.h"
#include "core/remoteconfig/Restrictions.h"
#include "core/storage/StateStore.h"
#include "core/supervisor/CertificateRequester.h"
#include "core/supervisor/Scheduler.h"
#include "core/telemetry/Logger.h"
#include "fuzz/FuzzSupport.h"
#include "opamp.pb.h"

namespace opampsup {
namespace {

namespace fs = std::filesystem;
namespace pb = ::opamp::proto;
using fuzz::finding;
using google::protobuf::util::MessageDifferencer;

constexpr std::uint64_t kAgentCapabilities = 0xFFFFU;  // every capability: nothing is skipped

// The collector's config file the effective config starts from.
constexpr const char* kCollectorYaml = R"(receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
exporters:
  debug: {}
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
)";

// A Scheduler the package worker may post to from its thread; timers never fire.
class WorkerScheduler : public supervisor::Scheduler {
  public:
    void post(Task task) override {
        std::lock_guard<std::mutex> lock(mutex_);
        posted_.push_back(std::move(task));
        wake_.notify_all();
    }
    TimerId postAfter(Clock::duration /*delay*/, Task /*task*/) override { return ++timers_; }
    void cancel(TimerId /*timer*/) override {}

    // Runs the tasks posted so far, waiting up to `wait` for the first. False when none came.
    bool runPosted(std::chrono::milliseconds wait) {
        std::deque<Task> tasks;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait_for(lock, wait, [this] { return !posted_.empty(); });
            tasks.swap(posted_);
        }
        for (Task& task : tasks) {
            task();
        }
        return !tasks.empty();
    }

  private:
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Task> posted_;
    TimerId timers_ = 0;
};

// What stays the same for every input.
struct Fixture {
    fs::path root = fuzz::scratchDirectory("server_to_agent_fuzz");
    storage::StateStore store{root / "storage"};
    telemetry::Logger logger;
    opamp::Uuid uid = *opamp::Uuid::parse("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    config::SupervisorConfig config;
    std::string collectorFile;
    std::map<std::string, std::string> env{{"NO_PROXY", "localhost,.internal.example.com"},
                                           {"HOME", "/home/otel"}};
    opamp::EnvLookup envLookup = [this](const std::string& name) -> std::optional<std::string> {
        auto it = env.find(name);
        return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    opamp::Client::Settings clientSettings;
    std::unique_ptr<supervisor::CertificateRequester> certificates;
    std::unique_ptr<localserver::LocalOpampServer> localServer;
    int closedPort = 0;  // bound, never listening: every connection to it is refused
    int closedSocket = -1;

    Fixture() : logger(makeLogger()) {
        store.prepare();
        collectorFile = (root / "collector.yaml").string();
        std::ofstream(collectorFile) << kCollectorYaml;

        config::Capabilities& c = config.capabilities;
        c.acceptsRemoteConfig = c.acceptsRestartCommand = c.acceptsOpampConnectionSettings = true;
        c.acceptsOtherConnectionSettings = c.acceptsPackages = true;
        c.reportsOwnLogs = c.reportsOwnTraces = c.reportsPackageStatuses = true;
        c.reportsConnectionSettingsStatus = c.reportsAvailableComponents = true;
        config.agent.executable = "/usr/bin/otelcol-contrib";
        config.agent.configFiles = {collectorFile};
        config.agent.package.archive = "tar.gz";
        config.agent.package.agentBinary = "otelcol-contrib";
        config.agent.package.maxDownloadSizeMib = 1;
        // Restrictions that refuse something of every kind, so each rule is exercised.
        config::RemoteConfigRestrictions& r = config.remoteConfigRestrictions;
        r.components["receivers"] = {{"otlp", "filelog", "host*"}, {"hostmetrics"}};
        r.components["exporters"] = {{}, {"file*", "exec*"}};
        r.components["extensions"] = {{"health_check", "pprof"}, {}};
        r.allowedPathPrefixes = {"/var/lib/otelcol/", "/var/log/"};
        r.allowedExporterEndpoints = {"*.example.com", "collector:4317", "127.0.0.1:*"};
        r.allowedConfigProviders = {"env"};
        r.maxConfigBytes = 64 * 1024;
        config.server.endpoint = "wss://opamp.example.com:4320/v1/opamp";
        config.server.certificateRequest.enabled = true;
        config.server.certificateRequest.keyType = "ecdsa-p256";

        clientSettings.endpoint = config.server.endpoint;
        clientSettings.headers = {{"Authorization", {"Bearer abc"}}};
        clientSettings.userAgent = "opampsupervisor/fuzz";

        // A certificate request is waiting, so an offered certificate without its key is
        // checked against the request's key (pairWithKey), as after a real request.
        certificates = std::make_unique<supervisor::CertificateRequester>(
            config.server.certificateRequest, store, logger);
        if (!certificates->requestIfNeeded(std::nullopt, uid.toString(),
                                           pb::ServerCapabilities_AcceptsConnectionSettingsRequest,
                                           std::chrono::system_clock::now())) {
            finding("the fixture's certificate request was not made");
        }
        localServer = std::make_unique<localserver::LocalOpampServer>(
            0, localserver::LocalOpampServer::Callbacks{}, logger);

        closedSocket = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (closedSocket < 0 ||
            ::bind(closedSocket, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::getsockname(closedSocket, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
            finding("cannot bind the refusing port");
        }
        closedPort = ntohs(address.sin_port);
    }

    static telemetry::Logger makeLogger() {
        telemetry::LoggerOptions options;
        options.level = telemetry::LogLevel::Debug;  // every line is formatted and redacted
        options.outputPaths = {};
        options.errorOutputPaths = {};
        return telemetry::Logger::create(options);
    }

    fs::path pathOf(std::string_view name) const { return store.pathOf(name); }
};

Fixture& fixture() {
    static Fixture* f = new Fixture();  // never destroyed: the local server outlives inputs
    return *f;
}

// What the supervisor keeps from connection-settings offers (fresh for each input).
struct Kept {
    pb::ConnectionSettingsOffers ownTelemetry;
    pb::ConnectionSettingsOffers otherConnections;
};

bool isYamlMap(const std::string& text) {
    try {
        YAML::Node node = YAML::Load(text);
        return node.IsMap();
    } catch (const YAML::Exception&) {
        return false;
    }
}

effective::ComposeResult compose(Fixture& f, const Kept& kept,
                                 const std::optional<pb::AgentRemoteConfig>& remote,
                                 const effective::OtherConnections& others) {
    effective::ComposeInput input;
    input.configFiles = f.config.agent.configFiles;
    effective::OpampExtensionSettings extension;
    extension.instanceUid = f.uid.toString();
    extension.endpoint = "ws://127.0.0.1:41234/v1/opamp";
    extension.authorization = localserver::LocalOpampServer::authorizationHeader("secret");
    extension.supervisorPid = 4242;
    input.opampExtensionYaml = effective::opampExtensionYaml(extension);
    effective::OwnTelemetrySignals signals{true, true, true};
    input.ownTelemetryYaml =
        effective::renderOwnTelemetry(kept.ownTelemetry, signals, [&f](std::string_view name) {
            return f.pathOf(name);
        }).yaml;
    input.resourceAttributes = {{"host.name", "fuzz-host"}, {"service.name", "otelcol"}};
    input.acceptsRemoteConfig = true;
    input.instanceUid = f.uid.toString();
    if (remote) {
        input.remoteConfig = remoteconfig::configFiles(*remote);
    }
    input.otherConnections = &others;
    effective::ComposeResult result = effective::composeEffectiveConfig(input);
    if (!result.error && !isYamlMap(result.yaml)) {
        finding("the composed effective config is not a YAML map:\n" + result.yaml);
    }
    return result;
}

std::optional<std::string> restrictionBroken(Fixture& f, const pb::AgentRemoteConfig& remote,
                                             const effective::OtherConnections& others) {
    return remoteconfig::checkRestrictions(
        f.config.remoteConfigRestrictions, remoteconfig::configFiles(remote),
        [&others](const std::string& value) { return others.substituteText(value); });
}

// The parts of the connection settings the collector's config is built from.
void handleCollectorOffers(Fixture& f, Kept& kept, const pb::ConnectionSettingsOffers& offers,
                           const std::optional<pb::AgentRemoteConfig>& remote) {
    const bool ownChanged = effective::mergeOwnTelemetryOffer(kept.ownTelemetry, offers);
    const bool otherChanged = effective::mergeOtherConnectionsOffer(kept.otherConnections, offers);
    if (!ownChanged && !otherChanged) {
        return;
    }
    auto pathOf = [&f](std::string_view name) { return f.pathOf(name); };
    const effective::OtherConnections others(kept.otherConnections, pathOf);
    // The remote config the collector runs has kept the restrictions (the supervisor checks
    // them before anything composes it); the offer must compose with it.
    if (remote && !restrictionBroken(f, *remote, others)) {
        (void)compose(f, kept, remote, others);
    } else {
        (void)compose(f, kept, std::nullopt, others);
    }
    (void)effective::renderOwnTelemetry(kept.ownTelemetry, {true, true, true}, pathOf);
    // Persisted, and read back as a restart reads them.
    remoteconfig::saveConnectionOffers(f.store, remoteconfig::kOwnTelemetryFile, kept.ownTelemetry);
    remoteconfig::saveConnectionOffers(f.store, remoteconfig::kOtherConnectionsFile,
                                       kept.otherConnections);
    remoteconfig::Loaded loaded = remoteconfig::loadRemoteConfigFiles(f.store);
    if (!loaded.ownTelemetry ||
        !MessageDifferencer::Equals(*loaded.ownTelemetry, kept.ownTelemetry) ||
        !loaded.otherConnections ||
        !MessageDifferencer::Equals(*loaded.otherConnections, kept.otherConnections)) {
        finding("persisted connection offers do not read back as they were written");
    }
}

// The OpAMP part of a connection settings offer, as Supervisor::onConnectionSettings checks
// it before anything of the offer is kept. False when the whole offer is refused.
bool acceptOpampOffer(Fixture& f, pb::OpAMPConnectionSettings& offer) {
    const pb::TLSCertificate& cert = offer.certificate();
    if (!cert.cert().empty()) {
        // What the certificate renewal reads of a certificate in use.
        (void)opamp::certificateNotAfter(cert.cert());
        (void)opamp::certificateNotBefore(cert.cert());
        (void)opamp::certificateCommonName(cert.cert());
        if (!cert.private_key().empty()) {
            (void)opamp::certificateMatchesKey(cert.cert(), cert.private_key());
        }
    }
    // A certificate issued for our request comes without its key: it is ours to add.
    if (f.certificates->pairWithKey(offer, nullptr)) {
        return false;
    }
    try {
        (void)opamp::withConnectionOffer(
            f.clientSettings, opamp::mergeConnectionOffer(pb::OpAMPConnectionSettings(), offer),
            f.envLookup);
    } catch (const std::invalid_argument&) {
        return false;
    }
    return true;
}

// Then the offer is tried (Supervisor::onOpampOffer): the client settings it makes, and the
// TLS context of the next connection.
void tryOpampOffer(Fixture& f, const pb::OpAMPConnectionSettings& offer) {
    const pb::OpAMPConnectionSettings merged =
        opamp::mergeConnectionOffer(pb::OpAMPConnectionSettings(), offer);
    opamp::Client::Settings candidate;
    try {
        candidate = opamp::withConnectionOffer(f.clientSettings, merged, f.envLookup);
    } catch (const std::invalid_argument& e) {
        finding(std::string("an offer accepted once is refused the second time: ") + e.what());
    }
    if (opamp::sameConnection(candidate, f.clientSettings)) {
        return;  // no reconnection
    }
    // Only when the offer brings CA certificates of its own: without them the system store is
    // loaded, which is slow and has nothing of the offer's.
    if (candidate.tls && !candidate.tls->caPem.empty() &&
        !candidate.tls->includeSystemCaCertsPool) {
        std::string host = "opamp.example.com";
        try {
            host = Poco::URI(candidate.endpoint).getHost();
        } catch (const Poco::Exception&) {
            finding("withConnectionOffer accepted an endpoint that is not a URL: " +
                    candidate.endpoint);
        }
        try {
            (void)opamp::makeClientTlsContext(*candidate.tls, host);
        } catch (const std::runtime_error&) {
            // The connection cannot be made with these settings: the offer is undone.
        }
    }
}

void handleRemoteConfig(Fixture& f, const Kept& kept, const pb::AgentRemoteConfig& config) {
    // Persisted as received, and read back as a restart reads it.
    remoteconfig::saveRemoteConfig(f.store, remoteconfig::kLastReceivedFile, config);
    remoteconfig::Loaded loaded = remoteconfig::loadRemoteConfigFiles(f.store);
    if (!loaded.lastReceived || !MessageDifferencer::Equals(*loaded.lastReceived, config)) {
        finding("the persisted remote config does not read back as it was written");
    }
    if (remoteconfig::isEmptyConfigMap(config)) {
        return;  // the collector is stopped
    }
    const effective::OtherConnections others(
        kept.otherConnections, [&f](std::string_view name) { return f.pathOf(name); });
    if (restrictionBroken(f, config, others)) {
        return;  // refused, FAILED
    }
    (void)compose(f, kept, config, others);
}

void handlePackages(Fixture& f, const pb::PackagesAvailable& offer) {
    const fs::path storage = f.root / "packages-storage";
    std::error_code ignored;
    fs::remove_all(storage, ignored);
    WorkerScheduler loop;
    packages::Downloader::Connection connection;
    const int port = f.closedPort;
    connection.proxyFor = [port](const std::string&) {
        return opamp::ProxyRoute{"127.0.0.1", static_cast<std::uint16_t>(port), {}, "fuzz"};
    };
    // A CA of its own, so an https:// download does not load the system's CA store first.
    connection.tls = config::TlsClientSettings{};
    connection.tls->caPem = opampsup::fuzz::kCertPem;
    connection.timeout = std::chrono::seconds(2);
    connection.attempts = 1;
    connection.firstRetryDelay = std::chrono::milliseconds(1);
    packages::PackageManager::Collector collector;
    collector.runningVersion = [] { return std::string("0.110.0"); };
    collector.tryExecutable = [](const fs::path&,
                                 const packages::PackageManager::Collector::TrialDone& done) {
        done(std::string("the fuzzer runs no collector"), true);
    };
    collector.useExecutable = [](const fs::path&) {};
    packages::PackageManager manager(loop, f.config, storage::StateStore(storage), connection,
                                     collector, f.logger);
    manager.load();
    manager.onPackagesAvailable(offer);
    // Each accepted package is tried in turn: its download is refused, which fails it, and
    // the next one starts. The worker's results come back through the loop.
    for (int round = 0; round <= offer.packages_size() + 1; ++round) {
        bool working = false;
        for (const auto& [name, status] : manager.statuses().packages()) {
            working = working || status.status() == pb::PackageStatusEnum_Downloading;
        }
        if (!working || !loop.runPosted(std::chrono::seconds(5))) {
            break;
        }
    }
    manager.shutdown();
    loop.runPosted(std::chrono::milliseconds(0));
    // The journal a restart reads back.
    std::optional<std::string> journal =
        storage::StateStore(storage / packages::kPackagesDirectory).read(packages::kJournalFile);
    if (journal) {
        try {
            (void)packages::parseJournal(*journal);
        } catch (const std::exception& e) {
            finding(std::string("the package journal does not read back: ") + e.what());
        }
    }
}

int handle(const std::uint8_t* data, std::size_t size) {
    Fixture& f = fixture();
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);

    // Over WebSocket the message has the OpAMP header; over HTTP it is the body. A
    // protobuf message never starts with a 0 byte, so one input can only be one of them.
    std::string_view payload = bytes;
    auto unframed = opamp::unframeWsMessage(bytes);
    if (auto* message = std::get_if<opamp::WsMessage>(&unframed)) {
        payload = message->payload;
    }
    pb::ServerToAgent message;
    if (!message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
        return 0;
    }

    opamp::AgentState state(f.uid, kAgentCapabilities);
    opamp::ServerInstructions in = opamp::interpretServerMessage(message, f.uid);
    if (in.ignored) {
        return 0;
    }
    if (in.error) {
        opamp::Backoff backoff({}, [] { return 0.5; });
        (void)backoff.nextWithHint(std::chrono::duration_cast<std::chrono::milliseconds>(
            in.error->retryAfter.value_or(std::chrono::nanoseconds{0})));
        return 0;
    }
    if (in.reportFullState) {
        state.markAllForSending();
    }
    if (in.reportAvailableComponents) {
        state.sendFullComponentsNext();
    }
    if (in.newInstanceUid) {
        state.setInstanceUid(*in.newInstanceUid);
    }

    // Each input starts from an empty storage directory, so none depends on the one before.
    std::error_code ignored;
    fs::remove_all(f.store.directory(), ignored);
    f.store.prepare();
    Kept kept;
    if (in.connectionSettings) {
        pb::ConnectionSettingsOffers& offers = *in.connectionSettings;
        if (!offers.has_opamp() || acceptOpampOffer(f, *offers.mutable_opamp())) {
            handleCollectorOffers(f, kept, offers, in.remoteConfig);
            if (offers.has_opamp()) {
                tryOpampOffer(f, offers.opamp());
            }
        }
    }
    if (in.remoteConfig) {
        handleRemoteConfig(f, kept, *in.remoteConfig);
    }
    if (in.packagesAvailable) {
        handlePackages(f, *in.packagesAvailable);
    }
    if (in.customMessage) {
        f.localServer->sendCustomMessage(*in.customMessage);
    }
    if (in.customCapabilities) {
        (void)state.setCustomCapabilities(*in.customCapabilities);
    }
    // The reply: only what changed, under the instance UID now in use.
    while (state.hasPending()) {
        (void)state.nextMessage().SerializeAsString();
    }
    return 0;
}

}  // namespace
}  // namespace opampsup

// protobuf logs each string field with invalid UTF-8 it parses; fuzzed input has many.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
    google::protobuf::SetLogHandler(nullptr);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return opampsup::handle(data, size);
}
