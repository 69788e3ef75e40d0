#include "platform/service.h"

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace opampsup::platform {

int runUnderServiceManager(const std::function<int()>& body) {
    return body();
}

// systemd's notify protocol: each state change is one datagram of KEY=VALUE lines sent to
// the AF_UNIX socket named by $NOTIFY_SOCKET ("@" at its start means the abstract
// namespace). The collector does not inherit it (see posix/child_process.cpp).
class ServiceNotifier::Impl {
  public:
    Impl() {
        const char* path = std::getenv("NOTIFY_SOCKET");
        std::size_t length = path == nullptr ? 0 : std::strlen(path);
        bool abstract = length > 1 && path[0] == '@';
        // A path needs room for its terminating NUL; an abstract name has none.
        if (!(abstract || (length > 0 && path[0] == '/')) ||
            length + (abstract ? 0 : 1) > sizeof(address_.sun_path)) {
            return;
        }
        address_.sun_family = AF_UNIX;
        std::memcpy(address_.sun_path, path, length);
        if (abstract) {
            address_.sun_path[0] = '\0';
        }
        addressLength_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        readWatchdog();
    }

    ~Impl() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }

    bool listening() const { return fd_ >= 0; }

    void send(const std::string& message) {
        if (fd_ < 0) {
            return;
        }
        // One socket shared by the loop thread and the shutdown path: sendto on a datagram
        // socket is atomic, the lock only keeps the messages in the order they were made.
        std::lock_guard<std::mutex> lock(mutex_);
        while (::sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL,
                        reinterpret_cast<const sockaddr*>(&address_), addressLength_) < 0 &&
               errno == EINTR) {
        }
    }

    std::optional<std::chrono::microseconds> watchdog() const { return watchdog_; }

  private:
    // WATCHDOG_USEC is meant for the main process only: WATCHDOG_PID says which one.
    void readWatchdog() {
        const char* usec = std::getenv("WATCHDOG_USEC");
        if (usec == nullptr) {
            return;
        }
        const char* pid = std::getenv("WATCHDOG_PID");
        if (pid != nullptr && std::strtol(pid, nullptr, 10) != static_cast<long>(::getpid())) {
            return;
        }
        char* end = nullptr;
        unsigned long long value = std::strtoull(usec, &end, 10);
        if (end != usec && *end == '\0' && value > 0) {
            watchdog_ = std::chrono::microseconds(value);
        }
    }

    int fd_ = -1;
    sockaddr_un address_{};
    socklen_t addressLength_ = 0;
    std::optional<std::chrono::microseconds> watchdog_;
    std::mutex mutex_;
};

namespace {

// STATUS= is one line: a status with a newline would end it early.
std::string oneLine(std::string text) {
    for (char& c : text) {
        if (c == '\n' || c == '\r') {
            c = ' ';
        }
    }
    return text;
}

}  // namespace

ServiceNotifier::ServiceNotifier() : impl_(std::make_unique<Impl>()) {}
ServiceNotifier::~ServiceNotifier() = default;

bool ServiceNotifier::listening() const {
    return impl_->listening();
}

void ServiceNotifier::ready(const std::string& status) {
    impl_->send("READY=1\nSTATUS=" + oneLine(status) + "\nMAINPID=" + std::to_string(::getpid()));
}

void ServiceNotifier::status(const std::string& status) {
    impl_->send("STATUS=" + oneLine(status));
}

void ServiceNotifier::stopping(const std::string& status) {
    impl_->send("STOPPING=1\nSTATUS=" + oneLine(status));
}

std::optional<std::chrono::microseconds> ServiceNotifier::watchdogInterval() const {
    return impl_->watchdog();
}

void ServiceNotifier::watchdog() {
    impl_->send("WATCHDOG=1");
}

void installService(const ServiceDefinition&) {
    throw std::runtime_error(
        "on Linux the deb and rpm packages install the systemd unit opampsupervisor.service; "
        "for another install, copy installer/linux/opampsupervisor.service.in to "
        "/etc/systemd/system/opampsupervisor.service, fill in its paths, and run "
        "'systemctl enable --now opampsupervisor'");
}

void uninstallService() {
    throw std::runtime_error(
        "on Linux remove the package (apt remove / dnf remove opampsupervisor), or run "
        "'systemctl disable --now opampsupervisor' and delete the unit file");
}

}  // namespace opampsup::platform
