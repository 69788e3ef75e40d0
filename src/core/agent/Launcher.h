#pragma once

// How the Commander starts the collector, as an interface so the lifecycle logic can be
// tested without processes. The real implementation (ProcessLauncher) wraps the platform
// process backend.

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opampsup::agent {

struct ExitStatus {
    bool signaled = false;
    int code = 0;    // the exit code when not signaled
    int signal = 0;  // the signal number when signaled
    std::string signalName;

    bool success() const { return !signaled && code == 0; }
    // "exit code 3", "killed by signal 9 (SIGKILL)"
    std::string describe() const;
};

enum class OutputStream { Stdout, Stderr };

struct LaunchSpec {
    std::filesystem::path executable;
    std::vector<std::string> args;
    // Added to (or, with nullopt, removed from) the supervisor's environment.
    std::map<std::string, std::optional<std::string>> environment;
    std::optional<std::filesystem::path> workingDirectory;
};

struct LaunchCallbacks {
    // Both run on the backend's threads.
    std::function<void(OutputStream, std::string_view line)> output;
    std::function<void(ExitStatus)> exited;
};

class RunningCollector {
  public:
    virtual ~RunningCollector() = default;
    virtual long pid() const = 0;
    // The polite request: SIGTERM, or CTRL_BREAK on Windows.
    virtual void requestStop() = 0;
    virtual void kill() = 0;
    // SIGHUP: reload the config file in place (not on Windows).
    virtual void requestReload() = 0;
};

class Launcher {
  public:
    virtual ~Launcher() = default;
    // Throws std::runtime_error with a reason a user can act on when the process cannot be
    // started (missing executable, no permission).
    virtual std::unique_ptr<RunningCollector> launch(const LaunchSpec& spec,
                                                     LaunchCallbacks callbacks) = 0;
};

}  // namespace opampsup::agent
