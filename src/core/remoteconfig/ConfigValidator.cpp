#include "core/remoteconfig/ConfigValidator.h"

#include <mutex>

namespace opampsup::remoteconfig {
namespace {

// Enough for the collector's error, which comes last; the rest is cut from the front.
constexpr std::size_t kMaxOutput = 8 * 1024;

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) {
        text.pop_back();
    }
    return text;
}

}  // namespace

struct ConfigValidator::Run {
    struct Output {
        std::mutex mutex;
        std::string text;
    };
    std::unique_ptr<agent::RunningCollector> process;
    std::function<void(Validation)> done;
    supervisor::Scheduler::TimerId timer{};
    std::shared_ptr<Output> output = std::make_shared<Output>();
    bool timedOut = false;
};

ConfigValidator::ConfigValidator(supervisor::Scheduler& loop, agent::Launcher& launcher,
                                 std::filesystem::path executable, std::vector<std::string> args,
                                 std::chrono::milliseconds timeout)
    : loop_(loop),
      launcher_(launcher),
      executable_(std::move(executable)),
      args_(std::move(args)),
      timeout_(timeout) {}

ConfigValidator::~ConfigValidator() {
    *alive_ = false;
    cancel();
}

void ConfigValidator::cancel() {
    if (!run_) {
        return;
    }
    loop_.cancel(run_->timer);
    if (run_->process) {
        run_->process->kill();
    }
    run_.reset();
    ++generation_;
}

void ConfigValidator::validate(const std::vector<std::filesystem::path>& configFiles,
                               std::function<void(Validation)> done) {
    cancel();
    const std::uint64_t generation = ++generation_;
    auto run = std::make_unique<Run>();
    run->done = std::move(done);

    agent::LaunchSpec spec;
    spec.executable = executable_;
    spec.args = {"validate"};
    for (const std::filesystem::path& file : configFiles) {
        spec.args.insert(spec.args.end(), {"--config", file.string()});
    }
    spec.args.insert(spec.args.end(), args_.begin(), args_.end());
    agent::LaunchCallbacks callbacks;
    callbacks.output = [output = run->output](agent::OutputStream, std::string_view line) {
        std::lock_guard lock(output->mutex);
        output->text.append(line).push_back('\n');
        if (output->text.size() > kMaxOutput) {
            output->text.erase(0, output->text.size() - kMaxOutput);
        }
    };
    callbacks.exited = [this, generation, output = run->output,
                        alive = std::weak_ptr<bool>(alive_)](agent::ExitStatus status) {
        loop_.post([this, generation, output, status, alive] {
            if (!alive.lock()) {
                return;
            }
            std::string text;
            {
                std::lock_guard lock(output->mutex);
                text = output->text;
            }
            finish(generation, interpret(status, text));
        });
    };
    try {
        run->process = launcher_.launch(spec, std::move(callbacks));
    } catch (const std::exception& e) {
        // Reported through finish(), so a cancel() before it runs still suppresses it.
        run_ = std::move(run);
        loop_.post([this, generation, reason = std::string(e.what()),
                    alive = std::weak_ptr<bool>(alive_)] {
            if (alive.lock()) {
                finish(generation,
                       {Validation::Outcome::Failed, "cannot run the validate command: " + reason});
            }
        });
        return;
    }
    run->timer = loop_.postAfter(timeout_, [this, generation, alive = std::weak_ptr<bool>(alive_)] {
        if (!alive.lock() || !run_ || generation != generation_) {
            return;
        }
        // The exit that follows the kill reports the outcome.
        run_->timedOut = true;
        run_->process->kill();
    });
    run_ = std::move(run);
}

void ConfigValidator::finish(std::uint64_t generation, Validation result) {
    if (!run_ || generation != generation_) {
        return;
    }
    loop_.cancel(run_->timer);
    if (run_->timedOut) {
        result = {Validation::Outcome::Failed, "the validate command did not finish within " +
                                                   std::to_string(timeout_.count()) + " ms"};
    }
    std::function<void(Validation)> done = std::move(run_->done);
    run_.reset();
    done(std::move(result));
}

Validation ConfigValidator::interpret(const agent::ExitStatus& status, const std::string& output) {
    if (status.success()) {
        return {Validation::Outcome::Valid, ""};
    }
    // Cobra's words when a collector predates the validate command.
    if (output.find("unknown command \"validate\"") != std::string::npos) {
        return {Validation::Outcome::Unsupported, trimmed(output)};
    }
    if (status.signaled) {
        return {Validation::Outcome::Failed,
                "the validate command was " + status.describe() + ": " + trimmed(output)};
    }
    return {Validation::Outcome::Invalid, trimmed(output)};
}

}  // namespace opampsup::remoteconfig
