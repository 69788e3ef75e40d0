#include "platform/child_process.h"

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "platform/posix/child_process_hooks.h"

extern char** environ;

namespace opampsup::platform {
namespace {

std::string errorText(int error) {
    return std::strerror(error);
}

const char* signalName(int signal) {
    switch (signal) {
        case SIGKILL:
            return "SIGKILL";
        case SIGTERM:
            return "SIGTERM";
        case SIGINT:
            return "SIGINT";
        case SIGSEGV:
            return "SIGSEGV";
        case SIGABRT:
            return "SIGABRT";
        case SIGBUS:
            return "SIGBUS";
        case SIGILL:
            return "SIGILL";
        case SIGFPE:
            return "SIGFPE";
        case SIGHUP:
            return "SIGHUP";
        case SIGPIPE:
            return "SIGPIPE";
        default:
            return "";
    }
}

// systemd's notify and watchdog variables speak to the supervisor, the process it started;
// a child that took them for its own could send READY=1 or feed the watchdog for it.
bool forTheSupervisorOnly(const std::string& name) {
    return name == "NOTIFY_SOCKET" || name == "WATCHDOG_USEC" || name == "WATCHDOG_PID";
}

// The environment for the child: the supervisor's, with the changes applied.
std::vector<std::string> childEnvironment(
    const std::map<std::string, std::optional<std::string>>& changes) {
    std::vector<std::string> out;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        std::string text(*entry);
        std::string name = text.substr(0, text.find('='));
        if (changes.count(name) == 0 && !forTheSupervisorOnly(name)) {
            out.push_back(std::move(text));
        }
    }
    for (const auto& [name, value] : changes) {
        if (value) {
            out.push_back(name + "=" + *value);
        }
    }
    return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (auto& s : strings) {
        out.push_back(s.data());
    }
    out.push_back(nullptr);
    return out;
}

// What the child was doing when it failed, reported with errno before it exits.
enum class ChildStep : int { Exec, ChangeDirectory, SetGroups, SetGid, SetUid };
struct ChildFailure {
    ChildStep step;
    int error;
};

void makePipe(int fds[2]) {
    if (::pipe(fds) != 0) {
        throw std::runtime_error("cannot create a pipe: " + errorText(errno));
    }
    ::fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    ::fcntl(fds[1], F_SETFD, FD_CLOEXEC);
}

class PosixChildProcess : public ChildProcess {
  public:
    PosixChildProcess(pid_t pid, int out, int err, ProcessOptions options)
        : pid_(pid), options_(std::move(options)) {
        reader_ = std::thread([this, out, err] { readOutput(out, err); });
        waiter_ = std::thread([this] { waitForExit(); });
    }

    // Once the child is reaped its group is not signalled again (the ID could be reused), so
    // a process it left running that holds the output pipes open keeps the reader, and this
    // destructor, waiting until it exits. Windows kills the whole job here instead.
    ~PosixChildProcess() override {
        if (!exited()) {
            kill();
        }
        waiter_.join();
        reader_.join();
    }

    long pid() const override { return pid_; }

    void requestStop() override { signalGroup(SIGTERM); }
    void kill() override { signalGroup(SIGKILL); }
    void requestReload() override {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!exited_) {
            ::kill(pid_, SIGHUP);
        }
    }

    bool exited() const override {
        std::lock_guard<std::mutex> lock(mutex_);
        return exited_;
    }

  private:
    // Signals are sent only while the child is known not to be reaped, so its PID (and
    // group) cannot have been reused by another process.
    void signalGroup(int signal) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!exited_) {
            ::kill(-pid_, signal);
        }
    }

    void readOutput(int out, int err) {
        std::string pending[2];
        pollfd fds[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
        int open = 2;
        char buffer[16384];
        while (open > 0) {
            if (::poll(fds, 2, -1) < 0) {
                if (errno == EINTR) {
                    continue;
                }
                break;
            }
            for (int i = 0; i < 2; ++i) {
                if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
                    continue;
                }
                ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
                if (n < 0 && errno == EINTR) {
                    continue;
                }
                auto stream = i == 0 ? ProcessStream::Stdout : ProcessStream::Stderr;
                if (n <= 0) {
                    if (!pending[i].empty()) {
                        deliver(stream, pending[i]);
                        pending[i].clear();
                    }
                    ::close(fds[i].fd);
                    fds[i].fd = -1;
                    --open;
                    continue;
                }
                pending[i].append(buffer, static_cast<std::size_t>(n));
                std::size_t start = 0;
                for (std::size_t nl; (nl = pending[i].find('\n', start)) != std::string::npos;
                     start = nl + 1) {
                    deliver(stream, std::string_view(pending[i]).substr(start, nl - start));
                }
                pending[i].erase(0, start);
                while (pending[i].size() > kMaxLineBytes) {
                    deliver(stream, std::string_view(pending[i]).substr(0, kMaxLineBytes));
                    pending[i].erase(0, kMaxLineBytes);
                }
            }
        }
        std::lock_guard<std::mutex> lock(mutex_);
        outputDone_ = true;
        outputDoneCv_.notify_all();
    }

    void deliver(ProcessStream stream, std::string_view line) {
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (options_.onOutput) {
            options_.onOutput(stream, line);
        }
    }

    void waitForExit() {
        // Wait without reaping first, so signalGroup() cannot hit a reused PID.
        siginfo_t info{};
        while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) != 0 &&
               errno == EINTR) {
        }
        int status = 0;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
            }
            exited_ = true;
        }
        ProcessExit exit;
        if (WIFSIGNALED(status)) {
            exit.signaled = true;
            exit.signal = WTERMSIG(status);
            exit.signalName = signalName(exit.signal);
        } else {
            exit.code = WEXITSTATUS(status);
        }
        {
            // Let the last lines arrive first, unless a grandchild holds the pipes open.
            std::unique_lock<std::mutex> lock(mutex_);
            outputDoneCv_.wait_for(lock, std::chrono::milliseconds(500),
                                   [this] { return outputDone_; });
        }
        if (options_.onExit) {
            options_.onExit(exit);
        }
    }

    pid_t pid_;
    ProcessOptions options_;
    mutable std::mutex mutex_;
    std::condition_variable outputDoneCv_;
    bool exited_ = false;
    bool outputDone_ = false;
    std::thread reader_;
    std::thread waiter_;
};

}  // namespace

std::unique_ptr<ChildProcess> ChildProcess::spawn(ProcessOptions options) {
    const std::string executable = options.executable.string();
    // Everything the child needs is prepared before fork: after it, only async-signal-safe
    // calls are allowed.
    std::vector<std::string> argStrings{executable};
    argStrings.insert(argStrings.end(), options.args.begin(), options.args.end());
    std::vector<char*> argv = pointers(argStrings);
    std::map<std::string, std::optional<std::string>> environment = options.environment;
    std::vector<gid_t> groups;
    // Already that user and group (a non-root supervisor): nothing to switch, and
    // setgroups would need a privilege this process does not have.
    if (options.runAs && static_cast<long>(::geteuid()) == options.runAs->uid &&
        static_cast<long>(::getegid()) == options.runAs->gid) {
        options.runAs.reset();
    }
    if (options.runAs) {
        // As a login would; a value the config gives wins.
        environment.emplace("HOME", options.runAs->home);
        environment.emplace("USER", options.runAs->user);
        environment.emplace("LOGNAME", options.runAs->user);
        for (long group : options.runAs->supplementaryGroups) {
            groups.push_back(static_cast<gid_t>(group));
        }
    }
    std::vector<std::string> envStrings = childEnvironment(environment);
    std::vector<char*> envp = pointers(envStrings);
    std::string workingDirectory =
        options.workingDirectory ? options.workingDirectory->string() : std::string();

    int status[2];
    int out[2];
    int err[2];
    makePipe(status);
    makePipe(out);
    makePipe(err);
    int devNull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const pid_t parent = ::getpid();

    pid_t pid = ::fork();
    if (pid < 0) {
        int error = errno;
        for (int fd : {status[0], status[1], out[0], out[1], err[0], err[1], devNull}) {
            ::close(fd);
        }
        throw std::runtime_error("cannot start " + executable +
                                 ": fork failed: " + errorText(error));
    }
    if (pid == 0) {
        // The child. Report a failure as the failing step and errno through the status
        // pipe, then leave.
        auto fail = [&](ChildStep step, int error) {
            const ChildFailure failure{step, error};
            [[maybe_unused]] ssize_t ignored = ::write(status[1], &failure, sizeof failure);
            ::_exit(127);
        };
        ::setpgid(0, 0);
        if (options.runAs) {
            // Groups first: once the user has changed, they can no longer be changed.
            if (::setgroups(groups.size(), groups.data()) != 0) {
                fail(ChildStep::SetGroups, errno);
            }
            if (::setgid(static_cast<gid_t>(options.runAs->gid)) != 0) {
                fail(ChildStep::SetGid, errno);
            }
            if (::setuid(static_cast<uid_t>(options.runAs->uid)) != 0) {
                fail(ChildStep::SetUid, errno);
            }
        }
        // After the credentials change, which clears the parent-death signal on Linux.
        if (!posix::tieToParent(static_cast<int>(parent))) {
            ::_exit(127);
        }
        // Signals the supervisor ignores or blocks would stay so across exec.
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        struct sigaction defaults {};
        defaults.sa_handler = SIG_DFL;
        sigemptyset(&defaults.sa_mask);
        for (int signal : {SIGPIPE, SIGTERM, SIGINT, SIGHUP}) {
            ::sigaction(signal, &defaults, nullptr);
        }
        if (::dup2(devNull, STDIN_FILENO) < 0 || ::dup2(out[1], STDOUT_FILENO) < 0 ||
            ::dup2(err[1], STDERR_FILENO) < 0) {
            fail(ChildStep::Exec, errno);
        }
        posix::closeDescriptorsOnExec();
        if (!workingDirectory.empty() && ::chdir(workingDirectory.c_str()) != 0) {
            fail(ChildStep::ChangeDirectory, errno);
        }
        ::execve(argv[0], argv.data(), envp.data());
        fail(ChildStep::Exec, errno);
    }

    for (int fd : {status[1], out[1], err[1], devNull}) {
        ::close(fd);
    }
    ChildFailure failure{};
    ssize_t n;
    while ((n = ::read(status[0], &failure, sizeof failure)) < 0 && errno == EINTR) {
    }
    ::close(status[0]);
    if (n > 0) {
        ::close(out[0]);
        ::close(err[0]);
        int ignored = 0;
        ::waitpid(pid, &ignored, 0);
        std::string reason = errorText(failure.error);
        switch (failure.step) {
            case ChildStep::ChangeDirectory:
                reason = "working directory " + workingDirectory + ": " + reason;
                break;
            case ChildStep::SetGroups:
                reason = "setgroups: " + reason;
                break;
            case ChildStep::SetGid:
                reason = "setgid " + std::to_string(options.runAs->gid) + ": " + reason;
                break;
            case ChildStep::SetUid:
                reason = "setuid " + std::to_string(options.runAs->uid) + ": " + reason;
                break;
            case ChildStep::Exec:
                break;
        }
        const std::string as = options.runAs ? " as user " + options.runAs->user : "";
        throw std::runtime_error("cannot start " + executable + as + ": " + reason);
    }
    return std::make_unique<PosixChildProcess>(pid, out[0], err[0], std::move(options));
}

}  // namespace opampsup::platform
