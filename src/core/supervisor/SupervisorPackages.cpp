// The supervisor's side of packages: the PackageManager decides what to install; here a new
// collector binary is switched to, put on trial, and switched back from when it fails.
// Everything runs on the loop thread.

#include <chrono>

#include "core/config/Duration.h"
#include "core/config/Expansion.h"
#include "core/opamp/Proxy.h"
#include "core/supervisor/Supervisor.h"
#include "opampsup/version.h"

namespace opampsup::supervisor {

namespace pb = ::opamp::proto;

namespace {

// How often a switch waiting for a remote config's verdict looks again.
constexpr std::chrono::milliseconds kSwitchRetry{500};

}  // namespace

void Supervisor::startPackageManager() {
    // accepts_packages reports statuses too (as ReportsPackageStatuses is set with it).
    if (!config_.capabilities.acceptsPackages && !config_.capabilities.reportsPackageStatuses) {
        return;
    }
    packages::Downloader::Connection connection;
    connection.tls = config_.server.tls;
    connection.userAgent = std::string("opampsupervisor/") + kVersion;
    connection.proxyFor = [this](const std::string& url) {
        return opamp::chooseProxy(url, config_.server.proxy, config::processExpansionSources().env);
    };
    packages::PackageManager::Collector collector;
    collector.tryExecutable = [this](const std::filesystem::path& executable,
                                     packages::PackageManager::Collector::TrialDone done) {
        switchExecutable(executable, std::move(done));
    };
    collector.useExecutable = [this](const std::filesystem::path& executable) {
        switchExecutable(executable, nullptr);
    };
    collector.runningVersion = [this] { return runningCollectorVersion(); };
    collector.report = [this](const pb::PackageStatuses& statuses) {
        reportPackageStatuses(statuses);
    };
    collector.finished = [this](bool installed) {
        (installed ? platform_.metrics->packagesInstalled : platform_.metrics->packagesFailed) += 1;
    };
    packages_ = std::make_unique<packages::PackageManager>(loop_, config_, store_, connection,
                                                           collector, logger_.named("packages"));
    packages_->load();
    executable_ = packages_->activeExecutable();
    validator_->setExecutable(executable_);
    if (executable_ != config_.agent.executable) {
        logger_.info("Running the collector binary a package installed",
                     {{"executable", executable_.string()}});
    }
}

// Once the collector runs: an install a restart interrupted goes on.
void Supervisor::resumePackages() {
    if (packages_ && !packagesResumed_) {
        packagesResumed_ = true;
        packages_->resume();
    }
}

void Supervisor::reportPackageStatuses(const pb::PackageStatuses& statuses) {
    if (client_) {
        client_->state().setPackageStatuses(statuses);
        client_->flush();
    }
}

std::string Supervisor::runningCollectorVersion() const {
    if (description_) {
        for (const pb::KeyValue& kv : description_->identifying_attributes()) {
            if (kv.key() == "service.version") {
                return kv.value().string_value();
            }
        }
    }
    return "";
}

void Supervisor::switchExecutable(const std::filesystem::path& executable,
                                  packages::PackageManager::Collector::TrialDone trialDone) {
    if (phase_ == Phase::ShuttingDown) {
        return;  // the journal remembers the trial; the next start takes it up
    }
    if (!trialDone && executable == executable_ && !switchingExecutable_) {
        return;  // already the binary in use (a trial that never switched)
    }
    if (trialDone && stoppedForEmptyConfig_) {
        // Nothing would run to be judged; the server may offer the package again later.
        trialDone("the remote config asks for no collector, so it could not be tried", false);
        return;
    }
    // One change at a time: a remote config being applied is judged first.
    if (applying_ || validatingHash_ || phase_ != Phase::Running || switchingExecutable_) {
        loop_.postAfter(kSwitchRetry, [this, executable, trialDone = std::move(trialDone),
                                       alive = std::weak_ptr<bool>(alive_)]() mutable {
            if (alive.lock()) {
                switchExecutable(executable, std::move(trialDone));
            }
        });
        return;
    }
    if (trialDone) {
        trial_.emplace();
        trial_->done = std::move(trialDone);
    }
    switchingExecutable_ = true;
    executable_ = executable;
    validator_->setExecutable(executable_);
    validateUnsupported_ = false;
    logger_.info(trial_ ? "Switching to a new collector binary, on trial"
                        : "Switching back to the previous collector binary",
                 {{"executable", executable_.string()}});
    commander_->stop([this, alive = std::weak_ptr<bool>(alive_)] {
        if (!alive.lock() || phase_ != Phase::Running) {
            return;
        }
        try {
            fingerprint_ = agent::ExecutableFingerprint::of(executable_);
            if (auto cached = cache_.load(*fingerprint_)) {
                description_ = cached->description;
                components_ = cached->components;
                afterExecutableSwitch(std::nullopt);
                return;
            }
        } catch (const std::exception& e) {
            fingerprint_.reset();
            logger_.warn("Cannot use the bootstrap cache", {{"error", e.what()}});
        }
        // A different binary may describe itself and its components differently.
        description_.reset();
        components_.reset();
        collectorEverConnected_ = false;
        startBootstrap();
    });
}

// After the new binary's description is known (or its bootstrap failed).
void Supervisor::afterExecutableSwitch(std::optional<std::string> bootstrapFailure) {
    switchingExecutable_ = false;
    if (client_) {
        client_->state().setAgentDescription(
            withOverrides(description_.value_or(fallbackDescription())));
        if (config_.capabilities.reportsAvailableComponents && components_) {
            client_->state().setAvailableComponents(*components_);
        }
        client_->flush();
    }
    if (bootstrapFailure && trial_) {
        endTrial("it failed its bootstrap: " + *bootstrapFailure);
        return;
    }
    if (bootstrapFailure) {
        reportHealth(false, "StatusRecoverableError", "bootstrap failed: " + *bootstrapFailure);
    }
    if (trial_) {
        trial_->launched = true;  // a failure to start now is the binary's
    }
    runCollector(Relaunch::Restart);
    if (trial_ && !commander_->running()) {
        // Not started, and not for the binary's sake: the config did not compose or breaks
        // a restriction (runCollector reported it).
        endTrial("the collector's config could not be composed, so the binary could not run",
                 false);
        return;
    }
    if (trial_) {
        trial_->timer = loop_.postAfter(
            config_.agent.package.healthTimeout, [this, alive = std::weak_ptr<bool>(alive_)] {
                if (!alive.lock() || !trial_ || trial_->soaking) {
                    return;
                }
                std::string reason = "it did not become healthy within " +
                                     config::formatGoDuration(config_.agent.package.healthTimeout);
                if (!trial_->lastHealthError.empty()) {
                    reason += ": " + trial_->lastHealthError;
                } else if (!trial_->collectorConnected) {
                    reason += " (it never connected); its last output:\n" + output_->tail(2048);
                }
                endTrial(reason);
            });
        return;
    }
    applyDeferredRemoteConfig();
}

void Supervisor::onTrialHealth(const pb::ComponentHealth& health) {
    const std::string soak = config::formatGoDuration(config_.agent.package.soakPeriod);
    if (!health.healthy()) {
        std::string error = health.last_error().empty() ? health.status() : health.last_error();
        if (trial_->soaking) {
            endTrial("it turned unhealthy within the soak period of " + soak + ": " + error);
        } else {
            trial_->lastHealthError = error;
        }
        return;
    }
    if (trial_->soaking) {
        return;
    }
    loop_.cancel(trial_->timer);
    trial_->soaking = true;
    logger_.info("The new collector binary is healthy; soaking", {{"period", soak}});
    trial_->timer = loop_.postAfter(config_.agent.package.soakPeriod,
                                    [this, alive = std::weak_ptr<bool>(alive_)] {
                                        if (alive.lock() && trial_ && trial_->soaking) {
                                            endTrial(std::nullopt);
                                        }
                                    });
}

void Supervisor::endTrial(std::optional<std::string> failure, bool binaryAtFault) {
    ExecutableTrial trial = std::move(*trial_);
    trial_.reset();
    loop_.cancel(trial.timer);
    if (failure) {
        logger_.error("The new collector binary failed its trial", {{"error", *failure}});
    } else {
        logger_.info("The new collector binary passed its trial",
                     {{"executable", executable_.string()}});
    }
    // On failure the package manager asks for the previous binary (switchExecutable).
    trial.done(std::move(failure), binaryAtFault);
    applyDeferredRemoteConfig();
}

void Supervisor::applyDeferredRemoteConfig() {
    if (!deferredRemoteConfig_ || trial_ || switchingExecutable_) {
        return;
    }
    pb::AgentRemoteConfig config = std::move(*deferredRemoteConfig_);
    deferredRemoteConfig_.reset();
    onRemoteConfig(config);
}

}  // namespace opampsup::supervisor
