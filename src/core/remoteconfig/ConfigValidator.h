#pragma once

// Runs `<collector> validate --config <file>... <agent.args>` before a new config is
// applied, so a config the collector refuses is FAILED with the collector's own words while
// the running collector is left alone (and, at start-up, to check
// agent.startup_fallback_configs). The check runs as a separate process; its result is
// delivered on the supervisor's loop.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/agent/Launcher.h"
#include "core/supervisor/Scheduler.h"

namespace opampsup::remoteconfig {

struct Validation {
    enum class Outcome {
        Valid,
        Invalid,      // the collector refused the config; `detail` has its output
        Unsupported,  // the collector has no validate command (older than v0.84)
        Failed,       // the check itself could not run or timed out
    };
    Outcome outcome = Outcome::Failed;
    std::string detail;
};

class ConfigValidator {
  public:
    ConfigValidator(supervisor::Scheduler& loop, agent::Launcher& launcher,
                    std::filesystem::path executable, std::vector<std::string> args,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~ConfigValidator();
    ConfigValidator(const ConfigValidator&) = delete;
    ConfigValidator& operator=(const ConfigValidator&) = delete;

    // Checks the config files, merged in order as the collector merges them; `done` runs on
    // the loop. A check still running is abandoned (its process killed, its callback never
    // called).
    void validate(const std::vector<std::filesystem::path>& configFiles,
                  std::function<void(Validation)> done);
    void cancel();
    bool busy() const { return static_cast<bool>(run_); }
    // The collector binary whose `validate` command checks the next configs (a package may
    // install a new one).
    void setExecutable(std::filesystem::path executable) { executable_ = std::move(executable); }

    // Reads the outcome from the exit status and the output (exposed for tests).
    static Validation interpret(const agent::ExitStatus& status, const std::string& output);

  private:
    struct Run;
    void finish(std::uint64_t generation, Validation result);

    supervisor::Scheduler& loop_;
    agent::Launcher& launcher_;
    std::filesystem::path executable_;
    std::vector<std::string> args_;
    std::chrono::milliseconds timeout_;
    std::unique_ptr<Run> run_;
    std::uint64_t generation_ = 0;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace opampsup::remoteconfig
