#include "platform/service.h"

#include <stdexcept>

namespace opampsup::platform {

// launchd starts daemons directly and stops them with SIGTERM (ShutdownWatcher's job); it
// has no readiness or watchdog protocol, so there is nothing to tell it.
int runUnderServiceManager(const std::function<int()>& body) {
    return body();
}

class ServiceNotifier::Impl {};

ServiceNotifier::ServiceNotifier() : impl_(std::make_unique<Impl>()) {}
ServiceNotifier::~ServiceNotifier() = default;
bool ServiceNotifier::listening() const {
    return false;
}
void ServiceNotifier::ready(const std::string&) {}
void ServiceNotifier::status(const std::string&) {}
void ServiceNotifier::stopping(const std::string&) {}
std::optional<std::chrono::microseconds> ServiceNotifier::watchdogInterval() const {
    return std::nullopt;
}
void ServiceNotifier::watchdog() {}

void installService(const ServiceDefinition&) {
    throw std::runtime_error(
        "on macOS the pkg installs the launchd daemon "
        "/Library/LaunchDaemons/io.opentelemetry.opampsupervisor.plist; for another install, "
        "copy installer/macos's plist there and run 'launchctl bootstrap system <plist>'");
}

void uninstallService() {
    throw std::runtime_error(
        "on macOS run 'launchctl bootout system/io.opentelemetry.opampsupervisor' and delete "
        "/Library/LaunchDaemons/io.opentelemetry.opampsupervisor.plist");
}

}  // namespace opampsup::platform
