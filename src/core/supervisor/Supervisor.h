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
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/agent/BootstrapCache.h"
#include "core/agent/CollectorOutput.h"
#include "core/agent/Commander.h"
#include "core/config/SupervisorConfig.h"
#include "core/localserver/LocalOpampServer.h"
#include "core/opamp/Client.h"
#include "core/storage/PersistentState.h"
#include "core/storage/StateStore.h"
#include "core/supervisor/EventLoop.h"
#include "core/telemetry/Logger.h"

namespace opampsup::supervisor {

class Supervisor {
  public:
    struct Platform {
        agent::Launcher& launcher;
        long supervisorPid = 0;
        std::string hostName;
        std::string osType;
        std::string arch;
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
    enum class Phase { Bootstrapping, Running, ShuttingDown };

    void startBootstrap();
    void finishBootstrap(std::optional<std::string> failure);
    void startClient();
    void runCollector();
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
    void onNewInstanceUid(const opamp::Uuid& uid);
    void onRemoteConfig(const ::opamp::proto::AgentRemoteConfig& config);

    EventLoop& loop_;
    const config::SupervisorConfig& config_;
    const storage::StateStore& store_;
    storage::PersistentState state_;
    Platform platform_;
    telemetry::Logger logger_;

    Phase phase_ = Phase::Bootstrapping;
    std::string secret_;
    std::unique_ptr<localserver::LocalOpampServer> localServer_;
    std::unique_ptr<agent::CollectorOutput> output_;
    std::unique_ptr<agent::Commander> commander_;
    std::unique_ptr<opamp::Client> client_;
    agent::BootstrapCache cache_;
    std::optional<agent::ExecutableFingerprint> fingerprint_;
    std::optional<EventLoop::TimerId> bootstrapTimer_;
    bool collectorConnected_ = false;
    bool collectorEverConnected_ = false;

    std::optional<::opamp::proto::AgentDescription> description_;
    std::optional<::opamp::proto::AvailableComponents> components_;
    // Health set before the client exists (a failed bootstrap), sent once it does.
    std::optional<::opamp::proto::ComponentHealth> pendingHealth_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace opampsup::supervisor
