#include "core/agent/Commander.h"

#include <stdexcept>

namespace opampsup::agent {

std::string ExitStatus::describe() const {
    if (!signaled) {
        return "exit code " + std::to_string(code);
    }
    std::string text = "killed by signal " + std::to_string(signal);
    if (!signalName.empty()) {
        text += " (" + signalName + ")";
    }
    return text;
}

Commander::Commander(supervisor::Scheduler& loop, Launcher& launcher, CrashPolicy policy,
                     std::chrono::milliseconds stopTimeout, Events events, telemetry::Logger logger,
                     std::function<CrashPolicy::Clock::time_point()> now)
    : loop_(loop),
      launcher_(launcher),
      policy_(std::move(policy)),
      stopTimeout_(stopTimeout),
      events_(std::move(events)),
      logger_(std::move(logger)),
      now_(std::move(now)) {}

Commander::~Commander() {
    *alive_ = false;
    cancelTimer(killTimer_);
    cancelTimer(restartTimer_);
    if (process_) {
        // The owner should have stopped it; never leave a collector behind.
        process_->kill();
    }
}

void Commander::setOutput(std::function<void(OutputStream, std::string_view)> output) {
    output_ = std::move(output);
}

void Commander::cancelTimer(std::optional<supervisor::Scheduler::TimerId>& timer) {
    if (timer) {
        loop_.cancel(*timer);
        timer.reset();
    }
}

std::optional<long> Commander::pid() const {
    return process_ ? std::optional<long>(process_->pid()) : std::nullopt;
}

void Commander::start(LaunchSpec spec) {
    spec_ = std::move(spec);
    cancelTimer(restartTimer_);
    if (process_) {
        return;
    }
    launch();
}

void Commander::restart(LaunchSpec spec) {
    spec_ = std::move(spec);
    cancelTimer(restartTimer_);
    policy_.reset();
    if (!process_) {
        launch();
        return;
    }
    startAfterStop_ = true;
    stopProcess({});
}

bool Commander::reload() {
    if (!process_ || stopping_) {
        return false;
    }
    logger_.info("Reloading the collector's config (SIGHUP)",
                 {{"pid", std::to_string(process_->pid())}});
    process_->requestReload();
    return true;
}

void Commander::launch() {
    ++generation_;
    std::uint64_t generation = generation_;
    LaunchCallbacks callbacks;
    callbacks.output = [this, alive = std::weak_ptr<bool>(alive_)](OutputStream stream,
                                                                   std::string_view line) {
        // Output handlers are thread-safe; they are set before the first launch.
        if (alive.lock() && output_) {
            output_(stream, line);
        }
    };
    callbacks.exited = [this, generation, alive = std::weak_ptr<bool>(alive_)](ExitStatus status) {
        if (!alive.lock()) {
            return;
        }
        loop_.post([this, generation, status, alive] {
            if (alive.lock()) {
                onExit(generation, status);
            }
        });
    };
    try {
        process_ = launcher_.launch(spec_, std::move(callbacks));
    } catch (const std::exception& e) {
        CrashPolicy::Decision retry = policy_.crashed(now_());
        logger_.error("Cannot start the collector",
                      {{"error", e.what()}, {"retry", CrashPolicy::describe(retry)}});
        if (events_.startFailed) {
            events_.startFailed(e.what(), retry);
        }
        scheduleRestart(retry);
        return;
    }
    policy_.started(now_());
    logger_.info("Collector started", {{"pid", std::to_string(process_->pid())}});
    if (events_.started) {
        events_.started(process_->pid());
    }
}

void Commander::stop(std::function<void()> done) {
    // A stop wins over a restart still waiting for the old process to exit.
    startAfterStop_ = false;
    stopProcess(std::move(done));
}

void Commander::stopProcess(std::function<void()> done) {
    cancelTimer(restartTimer_);
    if (done) {
        onStopped_.push_back(std::move(done));
    }
    if (!process_) {
        auto callbacks = std::move(onStopped_);
        onStopped_.clear();
        for (auto& callback : callbacks) {
            callback();
        }
        return;
    }
    if (stopping_) {
        return;
    }
    stopping_ = true;
    logger_.info("Stopping the collector", {{"pid", std::to_string(process_->pid())}});
    process_->requestStop();
    killTimer_ = loop_.postAfter(stopTimeout_, [this, alive = std::weak_ptr<bool>(alive_)] {
        if (!alive.lock() || !process_) {
            return;
        }
        killTimer_.reset();
        logger_.warn("The collector did not stop in time; killing it",
                     {{"stop_timeout_ms", std::to_string(stopTimeout_.count())}});
        process_->kill();
    });
}

void Commander::onExit(std::uint64_t generation, ExitStatus status) {
    if (generation != generation_ || !process_) {
        return;
    }
    process_.reset();
    cancelTimer(killTimer_);
    if (stopping_) {
        stopping_ = false;
        logger_.info("Collector stopped", {{"status", status.describe()}});
        if (events_.stopped) {
            events_.stopped(status);
        }
        auto callbacks = std::move(onStopped_);
        onStopped_.clear();
        for (auto& callback : callbacks) {
            callback();
        }
        if (startAfterStop_) {
            startAfterStop_ = false;
            // A stop callback may have started the collector already: one process only.
            if (!process_) {
                launch();
            }
        }
        return;
    }
    CrashPolicy::Decision decision = policy_.crashed(now_());
    logger_.error("The collector exited unexpectedly",
                  {{"status", status.describe()}, {"restart", CrashPolicy::describe(decision)}});
    if (events_.crashed) {
        events_.crashed(status, decision);
    }
    scheduleRestart(decision);
}

void Commander::scheduleRestart(CrashPolicy::Decision decision) {
    cancelTimer(restartTimer_);
    restartTimer_ = loop_.postAfter(decision.delay, [this, alive = std::weak_ptr<bool>(alive_)] {
        if (!alive.lock()) {
            return;
        }
        restartTimer_.reset();
        if (!process_) {
            launch();
        }
    });
}

}  // namespace opampsup::agent
