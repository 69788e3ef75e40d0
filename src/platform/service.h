#pragma once

// The supervisor as an OS service: running under the service manager that started it, and
// telling it how things stand.
//
// - Linux: systemd's notify protocol (Type=notify): READY=1, STATUS=, STOPPING=1 and
//   WATCHDOG=1 as datagrams to $NOTIFY_SOCKET. Without that variable nothing is sent.
// - Windows: the same exe is a console program or a service. Started by the Service Control
//   Manager, it connects to the dispatcher, reports START_PENDING, RUNNING, STOP_PENDING and
//   STOPPED, and turns stop, shutdown and preshutdown into a request to ShutdownWatcher's
//   callback. Started from a console, it runs as a console program.
// - macOS: launchd needs no notification; it stops daemons with SIGTERM, which
//   ShutdownWatcher handles.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace opampsup::platform {

// The name the service is registered under, and shown by the service manager.
inline constexpr const char* kServiceName = "opampsupervisor";
inline constexpr const char* kServiceDisplayName = "OpenTelemetry Collector OpAMP Supervisor";

// Runs `body` and returns its exit code. On Windows, when the Service Control Manager
// started the process, `body` runs as the service's main function and its exit code is
// reported to the SCM; the working directory is the exe's folder (a service starts in
// System32). Elsewhere, or from a console, `body` is called directly. Throws what `body`
// throws, and std::runtime_error when the SCM's dispatcher cannot be reached for another
// reason than being started from a console. `body` must return 0 after a requested stop: the
// SCM restarts a service that exits with an error.
int runUnderServiceManager(const std::function<int()>& body);

// Tells the service manager about the supervisor. Its methods may be called from any thread;
// without a service manager listening they do nothing.
class ServiceNotifier {
  public:
    ServiceNotifier();
    ~ServiceNotifier();
    ServiceNotifier(const ServiceNotifier&) = delete;
    ServiceNotifier& operator=(const ServiceNotifier&) = delete;

    // Whether a service manager listens (systemd's socket, or the SCM).
    bool listening() const;
    // The supervisor is up: its collector runs. `status` is a one-line description.
    void ready(const std::string& status);
    void status(const std::string& status);
    // Shutdown has begun (systemd: STOPPING=1; Windows: STOP_PENDING).
    void stopping(const std::string& status);
    // When the service manager expects a sign of life: systemd's WatchdogSec (passed as
    // WATCHDOG_USEC); on Windows, a checkpoint while starting or stopping; nullopt when
    // nothing expects one.
    std::optional<std::chrono::microseconds> watchdogInterval() const;
    void watchdog();

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

// `opampsupervisor service install|uninstall`, for installs without a package (a zip on
// Windows): an automatic-start service, restarted on failure, not started by the install.
// Throws std::runtime_error with the OS's reason; on Linux and macOS it explains that the
// deb/rpm package or the launchd plist does this.
struct ServiceDefinition {
    std::filesystem::path executable;
    std::vector<std::string> arguments;  // e.g. --config <path>
};
void installService(const ServiceDefinition& service);
void uninstallService();

}  // namespace opampsup::platform
