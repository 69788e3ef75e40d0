#pragma once

// What the stand-in needs from the operating system, behind one neutral header (POSIX
// implementation in OsPosix.cpp): stop and reload signals, whether a process exists, the
// host facts the opamp extension reports, and a Go-panic-like crash.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace opampsup::standin::os {

enum class Signal { Interrupt, Terminate, Hangup };

// Go's name for the signal ("interrupt", "terminated", "hangup"), as the collector logs it.
std::string signalName(Signal signal);

// Delivers SIGINT, SIGTERM and SIGHUP to `handler` on a thread of its own until destroyed.
// SIGPIPE is ignored, as Go programs do for sockets.
class SignalWatcher {
  public:
    explicit SignalWatcher(std::function<void(Signal)> handler);
    ~SignalWatcher();
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

// As gopsutil's PidExists: a /proc entry (or, without procfs, a process that signal 0
// reaches).
bool processExists(std::int64_t pid);

std::string hostName();
std::string osType();         // Go's GOOS: "linux", "darwin"
std::string hostArch();       // Go's GOARCH: "amd64", "arm64"
std::string osDescription();  // "Debian 12", as the opamp extension describes Linux
unsigned cpuCount();

// Writes `panicText` to stderr as a Go panic would and exits at once with `exitCode`,
// without running destructors or shutting anything down.
[[noreturn]] void crash(const std::string& panicText, int exitCode);

}  // namespace opampsup::standin::os
