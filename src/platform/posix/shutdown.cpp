#include "platform/shutdown.h"

#include <atomic>
#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

namespace opampsup::platform {
namespace {

// The write end of the self-pipe; the handler only writes the signal number to it.
std::atomic<int> g_signalPipe{-1};

extern "C" void onSignal(int signal) {
    int saved = errno;
    int fd = g_signalPipe.load();
    if (fd >= 0) {
        auto byte = static_cast<unsigned char>(signal);
        [[maybe_unused]] ssize_t ignored = ::write(fd, &byte, 1);
    }
    errno = saved;
}

const char* signalName(int signal) {
    switch (signal) {
        case SIGTERM:
            return "SIGTERM";
        case SIGINT:
            return "SIGINT";
        case SIGHUP:
            return "SIGHUP";
        default:
            return "signal";
    }
}

}  // namespace

class ShutdownWatcher::Impl {
  public:
    explicit Impl(std::function<void(const std::string&)> onRequest)
        : onRequest_(std::move(onRequest)) {
        int fds[2];
        if (::pipe(fds) != 0) {
            throw std::system_error(errno, std::generic_category(), "cannot create a pipe");
        }
        for (int fd : fds) {
            ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
        readFd_ = fds[0];
        writeFd_ = fds[1];
        g_signalPipe = writeFd_;

        struct sigaction action {};
        action.sa_handler = onSignal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        ::sigaction(SIGTERM, &action, &oldTerm_);
        ::sigaction(SIGINT, &action, &oldInt_);
        // A lost terminal or a SIGHUP sent by hand would otherwise end the supervisor at
        // once and orphan the collector; the supervisor has no config reload to give it.
        ::sigaction(SIGHUP, &action, &oldHup_);
        // A peer that closes a socket must not kill the supervisor.
        struct sigaction ignore {};
        ignore.sa_handler = SIG_IGN;
        sigemptyset(&ignore.sa_mask);
        ::sigaction(SIGPIPE, &ignore, &oldPipe_);

        thread_ = std::thread([this] { run(); });
    }

    ~Impl() {
        ::sigaction(SIGTERM, &oldTerm_, nullptr);
        ::sigaction(SIGINT, &oldInt_, nullptr);
        ::sigaction(SIGHUP, &oldHup_, nullptr);
        ::sigaction(SIGPIPE, &oldPipe_, nullptr);
        g_signalPipe = -1;
        unsigned char stop = 0;  // 0 is no signal: it tells the thread to end
        [[maybe_unused]] ssize_t ignored = ::write(writeFd_, &stop, 1);
        thread_.join();
        ::close(readFd_);
        ::close(writeFd_);
    }

  private:
    void run() {
        while (true) {
            unsigned char signal = 0;
            ssize_t n = ::read(readFd_, &signal, 1);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0 || signal == 0) {
                return;
            }
            onRequest_(signalName(signal));
        }
    }

    std::function<void(const std::string&)> onRequest_;
    int readFd_ = -1;
    int writeFd_ = -1;
    struct sigaction oldTerm_ {};
    struct sigaction oldInt_ {};
    struct sigaction oldHup_ {};
    struct sigaction oldPipe_ {};
    std::thread thread_;
};

ShutdownWatcher::ShutdownWatcher(std::function<void(const std::string&)> onRequest)
    : impl_(std::make_unique<Impl>(std::move(onRequest))) {}

ShutdownWatcher::~ShutdownWatcher() = default;

}  // namespace opampsup::platform
