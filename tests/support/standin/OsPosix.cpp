#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "Os.h"

namespace opampsup::standin::os {

namespace {

// The write end of the self-pipe; the handler may only make async-signal-safe calls.
int gSignalPipe = -1;

void onSignal(int number) {
    int saved = errno;
    unsigned char byte = static_cast<unsigned char>(number);
    if (gSignalPipe >= 0) {
        [[maybe_unused]] ssize_t n = write(gSignalPipe, &byte, 1);
    }
    errno = saved;
}

}  // namespace

std::string signalName(Signal signal) {
    switch (signal) {
        case Signal::Interrupt:
            return "interrupt";
        case Signal::Terminate:
            return "terminated";
        case Signal::Hangup:
            return "hangup";
    }
    return "unknown";
}

class SignalWatcher::Impl {
  public:
    explicit Impl(std::function<void(Signal)> handler) : handler_(std::move(handler)) {
        if (pipe(signals_) != 0 || pipe(stop_) != 0) {
            throw std::runtime_error("cannot create the signal pipes");
        }
        fcntl(signals_[1], F_SETFL, O_NONBLOCK);
        gSignalPipe = signals_[1];
        struct sigaction action {};
        action.sa_handler = onSignal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        for (int number : {SIGINT, SIGTERM, SIGHUP}) {
            sigaction(number, &action, nullptr);
        }
        std::signal(SIGPIPE, SIG_IGN);
        thread_ = std::thread([this] { run(); });
    }

    ~Impl() {
        for (int number : {SIGINT, SIGTERM, SIGHUP}) {
            std::signal(number, SIG_DFL);
        }
        char byte = 0;
        [[maybe_unused]] ssize_t n = write(stop_[1], &byte, 1);
        thread_.join();
        gSignalPipe = -1;
        for (int fd : {signals_[0], signals_[1], stop_[0], stop_[1]}) {
            close(fd);
        }
    }

  private:
    void run() {
        while (true) {
            pollfd fds[2] = {{signals_[0], POLLIN, 0}, {stop_[0], POLLIN, 0}};
            if (poll(fds, 2, -1) < 0) {
                continue;
            }
            if ((fds[1].revents & POLLIN) != 0) {
                return;
            }
            unsigned char byte = 0;
            if (read(signals_[0], &byte, 1) != 1) {
                continue;
            }
            static const std::map<int, Signal> kSignals{{SIGINT, Signal::Interrupt},
                                                        {SIGTERM, Signal::Terminate},
                                                        {SIGHUP, Signal::Hangup}};
            if (auto it = kSignals.find(byte); it != kSignals.end()) {
                handler_(it->second);
            }
        }
    }

    std::function<void(Signal)> handler_;
    int signals_[2] = {-1, -1};
    int stop_[2] = {-1, -1};
    std::thread thread_;
};

SignalWatcher::SignalWatcher(std::function<void(Signal)> handler)
    : impl_(std::make_unique<Impl>(std::move(handler))) {}

SignalWatcher::~SignalWatcher() = default;

bool processExists(std::int64_t pid) {
    if (pid <= 0) {
        return false;
    }
    struct stat info {};
    if (stat("/proc/1", &info) == 0) {
        return stat(("/proc/" + std::to_string(pid)).c_str(), &info) == 0;
    }
    return kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

std::string hostName() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) {
        return "localhost";
    }
    return name;
}

std::string osType() {
    utsname u{};
    if (uname(&u) != 0) {
        return "linux";
    }
    std::string sys = u.sysname;
    if (sys == "Darwin") {
        return "darwin";
    }
    for (char& c : sys) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return sys;
}

std::string hostArch() {
    utsname u{};
    if (uname(&u) != 0) {
        return "amd64";
    }
    static const std::map<std::string, std::string> kGoArch{
        {"x86_64", "amd64"}, {"amd64", "amd64"},     {"aarch64", "arm64"},
        {"arm64", "arm64"},  {"i686", "386"},        {"i386", "386"},
        {"armv7l", "arm"},   {"ppc64le", "ppc64le"}, {"s390x", "s390x"}};
    auto it = kGoArch.find(u.machine);
    return it == kGoArch.end() ? u.machine : it->second;
}

std::string osDescription() {
    if (osType() != "linux") {
        return osType();
    }
    // gopsutil's platform (ID) with its first letter upper-cased, then VERSION_ID.
    std::ifstream release("/etc/os-release");
    std::string line;
    std::string id;
    std::string version;
    auto unquote = [](std::string v) {
        if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'')) {
            v = v.substr(1, v.size() - 2);
        }
        return v;
    };
    while (std::getline(release, line)) {
        if (line.rfind("ID=", 0) == 0) {
            id = unquote(line.substr(3));
        } else if (line.rfind("VERSION_ID=", 0) == 0) {
            version = unquote(line.substr(11));
        }
    }
    if (id.empty()) {
        return "linux";
    }
    id[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(id[0])));
    return version.empty() ? id : id + " " + version;
}

unsigned cpuCount() {
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : n;
}

void crash(const std::string& panicText, int exitCode) {
    std::fflush(stdout);
    std::string text = "panic: " + panicText + "\n\ngoroutine 1 [running]:\n" +
                       "main.main()\n\t(stand-in collector: no Go stack)\n";
    [[maybe_unused]] ssize_t n = write(STDERR_FILENO, text.data(), text.size());
    _exit(exitCode);
}

}  // namespace opampsup::standin::os
