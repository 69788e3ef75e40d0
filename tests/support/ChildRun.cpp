#include "support/ChildRun.h"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace opampsup::testing {

bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

std::string readFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

std::vector<std::string> completeLines(const std::filesystem::path& path) {
    std::string text = readFile(path);
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
        lines.push_back(text.substr(start, nl - start));
    }
    return lines;
}

std::size_t countOf(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t pos = text.find(what); pos != std::string::npos;
         pos = text.find(what, pos + what.size())) {
        ++n;
    }
    return n;
}

Child::Child(const TempDir& dir, const std::string& program, std::vector<std::string> args,
             const std::map<std::string, std::string>& extraEnv) {
    static int counter = 0;
    const std::string tag = std::to_string(++counter);
    out_ = dir.path() / ("stdout-" + tag + ".txt");
    err_ = dir.path() / ("stderr-" + tag + ".txt");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
    // The child must not hold the test's sockets: a listening socket it inherited keeps
    // taking connections when a test restarts a server on that port (SO_REUSEPORT), and
    // they are never answered.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
    std::vector<std::string> argvStrings{program};
    argvStrings.insert(argvStrings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argvStrings) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    std::vector<std::string> envStrings;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string entry(*e);
        if (extraEnv.count(entry.substr(0, entry.find('='))) == 0) {
            envStrings.push_back(std::move(entry));
        }
    }
    for (const auto& [name, value] : extraEnv) {
        envStrings.push_back(name + "=" + value);
    }
    std::vector<char*> envp;
    for (std::string& e : envStrings) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    started_ = Clock::now();
    int rc = posix_spawnp(&pid_, program.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        throw std::runtime_error("cannot start " + program);
    }
}

Child::~Child() {
    if (!status_) {
        kill(pid_, SIGKILL);
        waitExit(kDeadline);
    }
}

void Child::signal(int number) {
    kill(pid_, number);
}

std::optional<int> Child::poll() {
    if (!status_) {
        int raw = 0;
        if (waitpid(pid_, &raw, WNOHANG) == pid_) {
            status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : -WTERMSIG(raw);
        }
    }
    return status_;
}

std::optional<int> Child::waitExit(std::chrono::milliseconds timeout) {
    waitUntil([this] { return poll().has_value(); }, timeout);
    return poll();
}

bool Child::waitForErr(const std::string& text, std::chrono::milliseconds timeout) {
    return waitUntil([&] { return err().find(text) != std::string::npos; }, timeout);
}

bool processAlive(pid_t pid) {
    if (kill(pid, 0) != 0) {
        return false;
    }
    // A zombie (exited, not yet reaped by its parent) is not running.
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (std::getline(stat, line)) {
        auto close = line.rfind(')');
        if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z') {
            return false;
        }
    }
    return true;
}

}  // namespace opampsup::testing
