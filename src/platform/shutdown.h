#pragma once

// Turns the OS's requests to stop into one callback: SIGTERM, SIGINT and SIGHUP on Linux and
// macOS; Ctrl-C, Ctrl-Break, console close and system shutdown on Windows, and the
// Service Control Manager's stop, shutdown and preshutdown (platform/service.h). The callback
// runs on a thread of the watcher's own, never inside a signal handler, so it may post to
// an event loop, log, or take locks. Also makes a broken socket an error rather than a
// fatal SIGPIPE.

#include <functional>
#include <memory>
#include <string>

namespace opampsup::platform {

class ShutdownWatcher {
  public:
    // `onRequest` receives the request's name ("SIGTERM", "CTRL_BREAK_EVENT", ...). It is
    // called for every request; a second one usually means "hurry".
    explicit ShutdownWatcher(std::function<void(const std::string& request)> onRequest);
    ~ShutdownWatcher();
    ShutdownWatcher(const ShutdownWatcher&) = delete;
    ShutdownWatcher& operator=(const ShutdownWatcher&) = delete;

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace opampsup::platform
