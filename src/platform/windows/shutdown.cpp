#include "platform/shutdown.h"

#include <mutex>
#include <utility>

#include <windows.h>

namespace opampsup::platform {
namespace {

std::mutex g_mutex;
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
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_onRequest == nullptr) {
        return FALSE;
    }
    (*g_onRequest)(eventName(event));
    return TRUE;
}

}  // namespace

class ShutdownWatcher::Impl {
  public:
    explicit Impl(std::function<void(const std::string&)> onRequest)
        : onRequest_(std::move(onRequest)) {
        std::lock_guard<std::mutex> lock(g_mutex);
        g_onRequest = &onRequest_;
        SetConsoleCtrlHandler(onConsoleEvent, TRUE);
    }
    ~Impl() {
        SetConsoleCtrlHandler(onConsoleEvent, FALSE);
        std::lock_guard<std::mutex> lock(g_mutex);
        g_onRequest = nullptr;
    }

  private:
    std::function<void(const std::string&)> onRequest_;
};

ShutdownWatcher::ShutdownWatcher(std::function<void(const std::string&)> onRequest)
    : impl_(std::make_unique<Impl>(std::move(onRequest))) {}

ShutdownWatcher::~ShutdownWatcher() = default;

}  // namespace opampsup::platform
