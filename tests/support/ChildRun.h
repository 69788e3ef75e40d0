#pragma once

// Runs a program as a real child process for a test (POSIX), its stdout and stderr captured
// in files of the test's directory, and waits on conditions with a deadline instead of
// sleeping.

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "support/TempDir.h"

namespace opampsup::testing {

using namespace std::chrono_literals;
inline constexpr std::chrono::milliseconds kDeadline = 10s;

// Polls `condition` until it holds or `timeout` passes.
bool waitUntil(const std::function<bool()>& condition,
               std::chrono::milliseconds timeout = kDeadline);

std::string readFile(const std::filesystem::path& path);
// Whole lines only: a line still being written has no newline yet.
std::vector<std::string> completeLines(const std::filesystem::path& path);
std::size_t countOf(const std::string& text, const std::string& what);

class Child {
  public:
    using Clock = std::chrono::steady_clock;

    // Starts `program` (looked up in PATH when it has no slash) with the test's environment
    // plus `extraEnv`.
    Child(const TempDir& dir, const std::string& program, std::vector<std::string> args,
          const std::map<std::string, std::string>& extraEnv = {});
    // Kills the child if it still runs, and reaps it.
    ~Child();
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    pid_t pid() const { return pid_; }
    Clock::time_point started() const { return started_; }
    void signal(int number);

    // The exit code, or minus the signal that ended it; nullopt while it still runs.
    std::optional<int> poll();
    std::optional<int> waitExit(std::chrono::milliseconds timeout = kDeadline);

    std::string out() const { return readFile(out_); }
    std::string err() const { return readFile(err_); }
    bool waitForErr(const std::string& text, std::chrono::milliseconds timeout = kDeadline);

  private:
    pid_t pid_ = -1;
    Clock::time_point started_;
    std::optional<int> status_;
    std::filesystem::path out_;
    std::filesystem::path err_;
};

// True while a process with this PID exists (and is not a zombie).
bool processAlive(pid_t pid);

}  // namespace opampsup::testing
