#include "platform/shutdown.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>

#include <windows.h>

#include "platform/windows/shutdown_request.h"

namespace opampsup::platform {
namespace {

std::mutex g_mutex;
std::condition_variable g_watcherGone;
std::function<void(const std::string&)>* g_onRequest = nullptr;

const char* eventName(DWORD event) {
    switch (event) {
        case CTRL_C_EVENT:
            return "CTRL_C_EVENT";
        case CTRL_BREAK_EVENT:
            return "CTRL_BREAK_EVENT";
        case CTRL_CLOSE_EVENT:
            return "CTRL_CLOSE_EVENT";
        case CTRL_LOGOFF_EVENT:
            return "CTRL_LOGOFF_EVENT";
        case CTRL_SHUTDOWN_EVENT:
            return "CTRL_SHUTDOWN_EVENT";
        default:
            return "console event";
    }
}

// Windows runs console handlers on a thread of its own, so the callback may be called
// directly.
BOOL WINAPI onConsoleEvent(DWORD event) {
    // Only services receive it, when any user logs off: no reason for a service to stop.
    // Handling it keeps the default handler, which ends the process, from running.
    if (event == CTRL_LOGOFF_EVENT) {
        return TRUE;
    }
    if (!requestShutdown(eventName(event))) {
        return FALSE;
    }
    // For a closed console and a system shutdown, Windows ends the process as soon as the
    // handler returns: hold it until the orderly shutdown is over (the watcher goes with
    // it), within the few seconds Windows allows anyway.
    if (event == CTRL_CLOSE_EVENT || event == CTRL_SHUTDOWN_EVENT) {
        std::unique_lock<std::mutex> lock(g_mutex);
        g_watcherGone.wait_for(lock, std::chrono::seconds(20),
                               [] { return g_onRequest == nullptr; });
    }
    return TRUE;
}

}  // namespace

bool requestShutdown(const std::string& name) {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_onRequest == nullptr) {
        return false;
    }
    (*g_onRequest)(name);
    return true;
}

class ShutdownWatcher::Impl {
  public:
    explicit Impl(std::function<void(const std::string&)> onRequest)
        : onRequest_(std::move(onRequest)) {
        std::lock_guard<std::mutex> lock(g_mutex);
        g_onRequest = &onRequest_;
        SetConsoleCtrlHandler(onConsoleEvent, TRUE);
    }
    // The handler is released before it is unregistered: Windows holds a lock while a
    // handler runs that SetConsoleCtrlHandler also takes, so unregistering first would wait
    // for the handler that waits for this.
    ~Impl() {
        {
            std::lock_guard<std::mutex> lock(g_mutex);
            g_onRequest = nullptr;
        }
        g_watcherGone.notify_all();
        SetConsoleCtrlHandler(onConsoleEvent, FALSE);
    }

  private:
    std::function<void(const std::string&)> onRequest_;
};

ShutdownWatcher::ShutdownWatcher(std::function<void(const std::string&)> onRequest)
    : impl_(std::make_unique<Impl>(std::move(onRequest))) {}

ShutdownWatcher::~ShutdownWatcher() = default;

}  // namespace opampsup::platform
