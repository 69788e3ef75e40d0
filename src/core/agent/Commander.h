#pragma once

// The collector's lifecycle on the supervisor's loop: start, stop (the polite request,
// then a kill after agent.stop_timeout), restart, and restarts after a crash as CrashPolicy
// decides. Exit notifications arrive on backend threads and are posted to the loop, so all
// of the Commander's state belongs to the loop thread.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/agent/CrashPolicy.h"
#include "core/agent/Launcher.h"
#include "core/supervisor/Scheduler.h"
#include "core/telemetry/Logger.h"

namespace opampsup::agent {

class Commander {
  public:
    struct Events {
        std::function<void(long pid)> started;
        // The collector could not be started; a retry comes after `retry`.
        std::function<void(const std::string& reason, CrashPolicy::Decision retry)> startFailed;
        // It exited without being asked to; it is restarted after `restart`.
        std::function<void(const ExitStatus&, CrashPolicy::Decision restart)> crashed;
        // It exited because it was asked to (stop or restart).
        std::function<void(const ExitStatus&)> stopped;
    };

    Commander(supervisor::Scheduler& loop, Launcher& launcher, CrashPolicy policy,
              std::chrono::milliseconds stopTimeout, Events events, telemetry::Logger logger,
              std::function<CrashPolicy::Clock::time_point()> now = CrashPolicy::Clock::now);
    ~Commander();
    Commander(const Commander&) = delete;
    Commander& operator=(const Commander&) = delete;

    // Output lines go here (from backend threads).
    void setOutput(std::function<void(OutputStream, std::string_view)> output);

    // Starts the collector with `spec` unless one is running (then the spec is used for the
    // next start). Cancels a pending crash restart.
    void start(LaunchSpec spec);
    // Stops the collector and calls `done` once it has exited (at once when none runs).
    // No restart follows.
    void stop(std::function<void()> done = {});
    // Stop, then start with `spec` (the crash count starts afresh).
    void restart(LaunchSpec spec);
    // Asks the running collector to reload its config file in place (SIGHUP). False when
    // none runs or it is stopping: then the caller starts one.
    bool reload();

    bool running() const { return process_ != nullptr; }
    std::optional<long> pid() const;
    const CrashPolicy& policy() const { return policy_; }

  private:
    void launch();
    void stopProcess(std::function<void()> done);
    void onExit(std::uint64_t generation, ExitStatus status);
    void scheduleRestart(CrashPolicy::Decision decision);
    void cancelTimer(std::optional<supervisor::Scheduler::TimerId>& timer);

    supervisor::Scheduler& loop_;
    Launcher& launcher_;
    CrashPolicy policy_;
    std::chrono::milliseconds stopTimeout_;
    Events events_;
    telemetry::Logger logger_;
    std::function<CrashPolicy::Clock::time_point()> now_;
    std::function<void(OutputStream, std::string_view)> output_;

    LaunchSpec spec_;
    std::unique_ptr<RunningCollector> process_;
    // Exit notifications of an older process are ignored.
    std::uint64_t generation_ = 0;
    bool stopping_ = false;
    bool startAfterStop_ = false;
    std::vector<std::function<void()>> onStopped_;
    std::optional<supervisor::Scheduler::TimerId> killTimer_;
    std::optional<supervisor::Scheduler::TimerId> restartTimer_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace opampsup::agent
