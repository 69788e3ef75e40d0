#pragma once

// The supervisor: ties the OpAMP client, the local OpAMP server, the collector's lifecycle
// and the storage directory together. Everything here runs on the EventLoop thread; the
// client's transport, the local server and the process backend post their events to it.
//
// Start-up: the local server listens; the collector's description and components come from
// the bootstrap cache, or from one bootstrap run of the collector (a nop pipeline plus the
// opamp extension), bounded by agent.bootstrap_timeout; then the client connects and the
// collector runs with <storage>/effective.yaml. Nothing waits for the remote server: the
// collector runs while the client keeps retrying.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/agent/BootstrapCache.h"
#include "core/agent/CollectorOutput.h"
#include "core/agent/Commander.h"
#include "core/config/SupervisorConfig.h"
#include "core/effective/ConfigComposer.h"
#include "core/effective/OtherConnections.h"
#include "core/effective/OwnTelemetry.h"
#include "core/localserver/LocalOpampServer.h"
#include "core/localstatus/HealthServer.h"
#include "core/localstatus/StatusServer.h"
#include "core/opamp/Client.h"
#include "core/packages/PackageManager.h"
#include "core/remoteconfig/ConfigValidator.h"
#include "core/storage/PersistentState.h"
#include "core/storage/StateStore.h"
#include "core/supervisor/CertificateRequester.h"
#include "core/supervisor/EventLoop.h"
#include "core/telemetry/Logger.h"
#include "core/telemetry/OwnMetrics.h"
#include "core/telemetry/Tracing.h"

namespace opampsup::supervisor {

// A remote config the collector's `validate` checks is written to the storage directory
// under this prefix and removed afterwards; a killed run may leave one behind.
inline constexpr const char* kValidationConfigPrefix = "validate-config-";

// What the OS's service manager is told (systemd's READY=1, STATUS= and STOPPING=1; the
// Windows SCM's RUNNING and STOP_PENDING).
struct ServiceStatus {
    // Start-up is over: the collector runs, or has failed to start or run (the supervisor
    // stays up to take a fix from the server), or the remote config asks for none.
    bool ready = false;
    bool stopping = false;
    std::string line;  // one line for `systemctl status`

    bool operator==(const ServiceStatus&) const = default;
};

class Supervisor {
  public:
    struct Platform {
        agent::Launcher& launcher;
        long supervisorPid = 0;
        std::string hostName;
        std::string osType;
        std::string arch;
        // Called on the loop thread whenever the service status changes.
        std::function<void(const ServiceStatus&)> serviceStatus = {};
        // telemetry.metrics and telemetry.traces: what the supervisor counts of its work,
        // and where its spans go (a no-op tracer when unset).
        std::shared_ptr<telemetry::OwnMetrics> metrics = std::make_shared<telemetry::OwnMetrics>();
        std::shared_ptr<telemetry::Tracer> tracer = {};
    };

    Supervisor(EventLoop& loop, const config::SupervisorConfig& config,
               const storage::StateStore& store, storage::PersistentState state, Platform platform,
               telemetry::Logger logger);
    ~Supervisor();
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    // On the loop thread. Throws std::runtime_error when the local server cannot listen.
    void start();
    // On the loop thread: stops the collector (within agent.stop_timeout), says goodbye to
    // the server, and calls `done`.
    void shutdown(std::function<void()> done);

  private:
    // EndingBootstrap: the bootstrap collector is stopping; more of its messages change
    // nothing (finishing twice would start the collector twice over).
    enum class Phase { Bootstrapping, EndingBootstrap, Running, ShuttingDown };
    // How runCollector launches. Start keeps the crash backoff's count (a pending backoff
    // restart is replaced by this launch); the others begin it anew.
    // Each launch writes a new secret into the collector's config, so a collector already
    // running is restarted whatever is asked: only a SIGHUP reload (ReloadOrRestart with
    // agent.use_hup_config_reload) keeps the process and its secret.
    enum class Relaunch { Start, Restart, ReloadOrRestart };

    void startBootstrap();
    void finishBootstrap(std::optional<std::string> failure);
    void startClient();
    // Composes and writes effective.yaml and starts the collector, or relaunches a running
    // one as `how` says.
    void runCollector(Relaunch how = Relaunch::Start);
    agent::LaunchSpec launchSpec() const;
    std::string extensionYaml() const;
    void newLaunchSecret();

    void onCollectorMessage(const ::opamp::proto::AgentToServer& message);
    void onCollectorConnected();
    void onCollectorDisconnected(const std::string& reason);
    void reportHealth(bool healthy, const std::string& status, const std::string& error);
    ::opamp::proto::AgentDescription withOverrides(
        const ::opamp::proto::AgentDescription& reported) const;
    ::opamp::proto::AgentDescription fallbackDescription() const;

    void onRestartCommand();
    std::unique_ptr<telemetry::Span> messageSpan(const std::string& carrying);
    void startConfigSpan(const ::opamp::proto::AgentRemoteConfig& config,
                         const telemetry::Span& parent);

    // Packages (SupervisorPackages.cpp): the collector binary a package installs is put on
    // trial, and a failed one is replaced by the binary before it.
    void startPackageManager();
    void resumePackages();
    void resumeUnfinishedApply();
    void watchForConnection(long pid);
    void reportPackageStatuses(const ::opamp::proto::PackageStatuses& statuses);
    std::string runningCollectorVersion() const;
    // Stops the collector and runs `executable` instead, learning its description first.
    // With `trialDone`, the new binary is on trial (see ExecutableTrial).
    void switchExecutable(const std::filesystem::path& executable,
                          packages::PackageManager::Collector::TrialDone trialDone);
    void afterExecutableSwitch(std::optional<std::string> bootstrapFailure);
    void onTrialHealth(const ::opamp::proto::ComponentHealth& health);
    // `binaryAtFault` is false when the collector could not run for another reason.
    void endTrial(std::optional<std::string> failure, bool binaryAtFault = true);
    void applyDeferredRemoteConfig();
    void startStatusServer();
    localstatus::StatusSnapshot statusSnapshot() const;
    void publishServiceStatus();
    void onConnectionSettings(const ::opamp::proto::ConnectionSettingsOffers& offers);
    // Connection-settings offers for the OpAMP connection: see onOpampOffer in the .cpp.
    opamp::Client::Settings configuredClientSettings() const;
    std::unique_ptr<opamp::Client> makeClient(const opamp::Client::Settings& settings,
                                              opamp::AgentState state);
    void onOpampOffer(const ::opamp::proto::ConnectionSettingsOffers& offers);
    ::opamp::proto::ConnectionSettingsOffers mergedOpampOffer(
        const ::opamp::proto::ConnectionSettingsOffers& offers) const;
    void restartForOfferedSettings();
    void writeOfferedFiles() const;
    void switchClient(const opamp::Client::Settings& settings);
    void onClientConnectionChanged(bool up);
    void setConnectionSettingsStatus(const std::string& hash,
                                     ::opamp::proto::ConnectionSettingsStatuses status,
                                     const std::string& error = "");
    effective::OwnTelemetrySection ownTelemetrySection() const;
    effective::OtherConnections otherConnectionsView() const;
    std::vector<std::pair<std::string, std::string>> offeredFiles() const;
    void onNewInstanceUid(const opamp::Uuid& uid);
    // server.certificate_request: asks for a client certificate when one is needed.
    void maybeRequestCertificate();
    void scheduleCertificateCheck();

    // Remote configuration: see onRemoteConfig in the .cpp for the transaction.
    void loadRemoteConfigState();
    effective::ComposeResult compose(
        const std::optional<::opamp::proto::AgentRemoteConfig>& remote) const;
    std::optional<std::string> restrictionBroken(
        const ::opamp::proto::AgentRemoteConfig& remote) const;
    void onRemoteConfig(const ::opamp::proto::AgentRemoteConfig& config);
    bool shouldValidate() const;
    void validateThenApply(const ::opamp::proto::AgentRemoteConfig& config,
                           const std::string& candidateYaml);
    void beginApply(const ::opamp::proto::AgentRemoteConfig& config);
    void cancelValidation();
    void removeValidateFile();
    void refused(const std::string& hash, const std::string& reason);
    void applyEmptyConfig(const ::opamp::proto::AgentRemoteConfig& config);
    void stopForEmptyConfig();
    void onApplyHealth(const ::opamp::proto::ComponentHealth& health);
    void applySucceeded();
    void applyFailed(const std::string& reason);
    void commitWorkingConfig();
    bool crashedOnProbation(const std::string& error);
    void setRemoteConfigStatus(const std::string& hash, ::opamp::proto::RemoteConfigStatuses status,
                               const std::string& error = "");

    EventLoop& loop_;
    const config::SupervisorConfig& config_;
    const storage::StateStore& store_;
    storage::PersistentState state_;
    Platform platform_;
    telemetry::Logger logger_;

    Phase phase_ = Phase::Bootstrapping;
    std::string secret_;
    std::unique_ptr<localserver::LocalOpampServer> localServer_;
    std::unique_ptr<localstatus::HealthServer> healthServer_;
    std::unique_ptr<localstatus::StatusServer> statusServer_;
    // For the status: the connection, the collector's starts after the bootstrap, and the
    // last health from the collector or the supervisor.
    bool connected_ = false;
    int collectorStarts_ = 0;
    std::chrono::system_clock::time_point collectorStartedAt_;
    ::opamp::proto::ComponentHealth lastHealth_;
    std::unique_ptr<agent::CollectorOutput> output_;
    std::unique_ptr<agent::Commander> commander_;
    std::unique_ptr<opamp::Client> client_;
    // server.auth; shared by every client, so a token outlives a connection-settings switch.
    std::shared_ptr<opamp::Authenticator> authenticator_;
    agent::BootstrapCache cache_;
    std::optional<agent::ExecutableFingerprint> fingerprint_;
    std::optional<EventLoop::TimerId> bootstrapTimer_;
    std::optional<EventLoop::TimerId> connectWatch_;  // a started collector must connect
    std::shared_ptr<telemetry::Tracer> tracer_;
    std::unique_ptr<telemetry::Span> bootstrapSpan_;
    // processRemoteConfigMessage: from a remote config's arrival to its APPLIED or FAILED.
    std::unique_ptr<telemetry::Span> configSpan_;
    std::string configSpanHash_;
    bool collectorEverConnected_ = false;

    std::optional<::opamp::proto::AgentDescription> description_;
    std::optional<::opamp::proto::AvailableComponents> components_;
    // Health set before the client exists (a failed bootstrap), sent once it does.
    std::optional<::opamp::proto::ComponentHealth> pendingHealth_;

    // The remote config the collector runs (or is being moved to) and the last one that ran
    // healthy; the status last reported is in state_.
    std::optional<::opamp::proto::AgentRemoteConfig> remoteConfig_;
    std::optional<::opamp::proto::AgentRemoteConfig> workingConfig_;
    // effective.yaml as the running collector was started with it.
    std::string runningYaml_;
    // An empty remote config map asks for no collector: none runs until another config.
    bool stoppedForEmptyConfig_ = false;
    // The first launch after the bootstrap has concluded, either way: see ServiceStatus.
    bool launchConcluded_ = false;
    std::optional<ServiceStatus> publishedServiceStatus_;
    // agent.startup_fallback_configs stand in for the local config files until the first
    // connection to the server, when no remote config was persisted.
    bool usingFallback_ = false;
    std::unique_ptr<remoteconfig::ConfigValidator> validator_;
    // The collector binary: agent.executable, or the one a package installed.
    std::filesystem::path executable_;
    std::unique_ptr<packages::PackageManager> packages_;
    bool packagesResumed_ = false;
    // A new collector binary on trial: it must report healthy within
    // agent.package.health_timeout and stay healthy for agent.package.soak_period.
    struct ExecutableTrial {
        packages::PackageManager::Collector::TrialDone done;
        EventLoop::TimerId timer{};
        bool launched = false;            // the trial collector (not the bootstrap) was started
        bool collectorConnected = false;  // and it connected
        bool soaking = false;
        std::string lastHealthError;
    };
    std::optional<ExecutableTrial> trial_;
    // Between the stop of one binary and the launch of the next.
    bool switchingExecutable_ = false;
    // A remote config that came while the binary was being switched: applied after.
    std::optional<::opamp::proto::AgentRemoteConfig> deferredRemoteConfig_;
    // A remote config received but without a verdict when the supervisor last stopped.
    std::optional<::opamp::proto::AgentRemoteConfig> unfinishedApply_;
    std::optional<std::string> validatingHash_;
    std::string validateFile_;          // the candidate being validated, in the storage directory
    bool validateUnsupported_ = false;  // the collector has no validate command
    struct Apply {
        std::string hash;
        EventLoop::TimerId timer{};       // the apply timeout, then the soak period
        bool collectorConnected = false;  // the new collector has connected
        bool soaking = false;             // it reported healthy; the soak period runs
        std::string lastHealthError;
    };
    std::optional<Apply> applying_;
    // A config APPLIED in this run is on probation until the collector has had a stable run
    // on it (restart_backoff.reset_after): crashing again and again before that rolls it back.
    struct Probation {
        std::string hash;
        std::optional<::opamp::proto::AgentRemoteConfig> previous;  // the working one before
        int crashes = 0;
    };
    std::optional<Probation> probation_;
    // The own-telemetry offers in force (own_metrics, own_logs, own_traces).
    ::opamp::proto::ConnectionSettingsOffers ownTelemetry_;
    // The other connections offered (other_connections), for the collector's config.
    ::opamp::proto::ConnectionSettingsOffers otherConnections_;
    // The OpAMP connection: the settings in use, the committed offer they come from (if
    // any), and an offer being tried (with what to go back to).
    opamp::Client::Settings clientSettings_;
    std::optional<::opamp::proto::ConnectionSettingsOffers> committedOffer_;
    struct PendingOffer {
        ::opamp::proto::ConnectionSettingsOffers offer;  // hash + the merged opamp settings
        opamp::Client::Settings previous;                // what a failure goes back to
        EventLoop::TimerId timer{};
    };
    std::optional<PendingOffer> pendingOffer_;
    CertificateRequester certificates_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace opampsup::supervisor
