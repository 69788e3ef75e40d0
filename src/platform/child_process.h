#pragma once

// Starting and supervising a child process (the collector), one implementation per OS.
//
// POSIX: fork/exec with the exec error reported back through a close-on-exec pipe, the
// child in its own process group, every other descriptor closed on exec, signals reset,
// stdin from /dev/null; on Linux the child also gets SIGKILL when the supervisor dies
// (PR_SET_PDEATHSIG). Windows: CreateProcess in a new process group inside a job object
// that kills the collector when the supervisor's last handle closes.

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/account.h"

namespace opampsup::platform {

struct ProcessExit {
    bool signaled = false;
    int code = 0;    // exit code when not signaled
    int signal = 0;  // signal number when signaled (POSIX)
    std::string signalName;
};

enum class ProcessStream { Stdout, Stderr };

struct ProcessOptions {
    std::filesystem::path executable;  // run as given: no PATH search
    std::vector<std::string> args;     // without the program name
    // Changes to the inherited environment: a value sets the variable, nullopt removes it.
    // The service manager's variables for the supervisor (NOTIFY_SOCKET, WATCHDOG_USEC,
    // WATCHDOG_PID) are never inherited.
    std::map<std::string, std::optional<std::string>> environment;
    std::optional<std::filesystem::path> workingDirectory;
    // POSIX: the child drops to this account (supplementary groups, group, user) before
    // exec, with HOME, USER and LOGNAME naming it unless `environment` sets them.
    std::optional<Account> runAs;
    // Each line of output (without its newline), from a reader thread. Lines longer than
    // kMaxLineBytes are delivered in pieces. Empty: output is discarded.
    std::function<void(ProcessStream, std::string_view)> onOutput;
    // Once, from a watcher thread, after the process has exited (and its output has been
    // delivered, unless a grandchild keeps the pipes open).
    std::function<void(const ProcessExit&)> onExit;
};

inline constexpr std::size_t kMaxLineBytes = 64U * 1024U;

class ChildProcess {
  public:
    // Throws std::runtime_error naming the executable and the reason ("cannot start
    // /usr/bin/otelcol: No such file or directory").
    static std::unique_ptr<ChildProcess> spawn(ProcessOptions options);

    // Kills the process if it still runs and waits for the watcher threads.
    virtual ~ChildProcess() = default;
    virtual long pid() const = 0;
    // SIGTERM to the process group (CTRL_BREAK_EVENT on Windows).
    virtual void requestStop() = 0;
    // SIGKILL to the process group (the job object is terminated on Windows).
    virtual void kill() = 0;
    // SIGHUP to the process itself: the collector reloads its config in place. Throws
    // std::runtime_error on Windows, which has no such signal.
    virtual void requestReload() = 0;
    virtual bool exited() const = 0;
};

}  // namespace opampsup::platform
