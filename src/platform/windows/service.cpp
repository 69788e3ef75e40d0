#include "platform/service.h"

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <windows.h>

#include "platform/os.h"
#include "platform/windows/service_session.h"
#include "platform/windows/shutdown_request.h"
#include "platform/windows/text.h"

namespace opampsup::platform {
namespace {

constexpr DWORD kAcceptedControls =
    SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PRESHUTDOWN;
// How long the SCM should wait for the next sign of progress while starting or stopping.
constexpr DWORD kPendingWaitHintMs = 30'000;
// How long Windows waits for the service to stop before it goes on shutting down.
constexpr DWORD kPreshutdownTimeoutMs = 30'000;
constexpr std::chrono::seconds kUninstallStopTimeout{30};

using windows::errorText;
using windows::narrow;
using windows::widen;

// `code` is passed in rather than read here: building the message may change GetLastError.
std::runtime_error failure(const std::string& what, DWORD code) {
    std::string message = what + ": " + errorText(code);
    if (code == ERROR_ACCESS_DENIED) {
        message += " (run it as administrator, from an elevated prompt)";
    }
    return std::runtime_error(message);
}

// The command line the SCM starts. The program name is always quoted: unquoted, a path with
// spaces ("C:\Program Files\...") is tried piece by piece, and "C:\Program.exe" would win.
// It takes no escapes, which a file name (no quotes, no trailing backslash) never needs.
std::wstring serviceCommandLine(const ServiceDefinition& service) {
    std::wstring commandLine = L"\"" + service.executable.wstring() + L"\"";
    for (const std::string& arg : service.arguments) {
        commandLine += L" " + windows::quoteArgument(widen(arg));
    }
    return commandLine;
}

class ScHandle {
  public:
    explicit ScHandle(SC_HANDLE handle) : handle_(handle) {}
    ~ScHandle() {
        if (handle_ != nullptr) {
            CloseServiceHandle(handle_);
        }
    }
    ScHandle(const ScHandle&) = delete;
    ScHandle& operator=(const ScHandle&) = delete;

    SC_HANDLE get() const { return handle_; }
    explicit operator bool() const { return handle_ != nullptr; }

  private:
    SC_HANDLE handle_;
};

// Running as a service. The SCM calls the control handler on the dispatcher's thread (the
// process's main thread) while the service thread, and the supervisor's own threads through
// ServiceNotifier, report progress: each report changes the status and sends all of it, so
// one mutex keeps the changes whole and the reports in the order they were made.
struct ServiceState {
    std::mutex mutex;
    SERVICE_STATUS_HANDLE handle = nullptr;  // set while running as a service
    SERVICE_STATUS status{};
    const std::function<int()>* body = nullptr;
    int exitCode = 0;
    std::exception_ptr error;  // thrown by body; rethrown once the dispatcher returns
};
ServiceState g_service;

bool isPending(DWORD state) {
    return state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING;
}

// Reports `state`; a pending state reported again moves the checkpoint on, which tells the
// SCM the service is not hung. Nothing is reported once STOPPED has been. The caller holds
// the mutex.
void reportLocked(DWORD state) {
    SERVICE_STATUS& status = g_service.status;
    if (g_service.handle == nullptr || status.dwCurrentState == SERVICE_STOPPED) {
        return;
    }
    if (!isPending(state)) {
        status.dwCheckPoint = 0;
    } else if (status.dwCurrentState == state) {
        ++status.dwCheckPoint;
    } else {
        status.dwCheckPoint = 1;
    }
    status.dwCurrentState = state;
    // The SCM sends no controls to a pending service anyway.
    status.dwControlsAccepted = state == SERVICE_RUNNING ? kAcceptedControls : 0;
    status.dwWaitHint = isPending(state) ? kPendingWaitHintMs : 0;
    SetServiceStatus(g_service.handle, &status);
}

void reportStoppedLocked(int exitCode) {
    SERVICE_STATUS& status = g_service.status;
    if (g_service.handle == nullptr || status.dwCurrentState == SERVICE_STOPPED) {
        return;
    }
    status.dwCurrentState = SERVICE_STOPPED;
    status.dwControlsAccepted = 0;
    status.dwCheckPoint = 0;
    status.dwWaitHint = 0;
    // A non-zero exit is a failure, which makes the SCM apply the failure actions.
    status.dwWin32ExitCode = exitCode == 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR;
    status.dwServiceSpecificExitCode = static_cast<DWORD>(exitCode);
    SetServiceStatus(g_service.handle, &status);
}

const char* controlName(DWORD control) {
    switch (control) {
        case SERVICE_CONTROL_STOP:
            return "SERVICE_CONTROL_STOP";
        case SERVICE_CONTROL_SHUTDOWN:
            return "SERVICE_CONTROL_SHUTDOWN";
        case SERVICE_CONTROL_PRESHUTDOWN:
            return "SERVICE_CONTROL_PRESHUTDOWN";
        default:
            return "service control";
    }
}

DWORD WINAPI onServiceControl(DWORD control, DWORD, LPVOID, LPVOID) {
    switch (control) {
        case SERVICE_CONTROL_STOP:
        case SERVICE_CONTROL_SHUTDOWN:
        case SERVICE_CONTROL_PRESHUTDOWN: {
            {
                std::lock_guard<std::mutex> lock(g_service.mutex);
                reportLocked(SERVICE_STOP_PENDING);
            }
            // Outside the lock: the callback may report through ServiceNotifier itself.
            // Controls are accepted only once the supervisor is ready, and so has its
            // ShutdownWatcher installed; without one, the body is already on its way out.
            requestShutdown(controlName(control));
            return NO_ERROR;
        }
        case SERVICE_CONTROL_INTERROGATE:
            return NO_ERROR;
        default:
            return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

void WINAPI serviceMain(DWORD, LPWSTR*) {
    std::wstring name = widen(kServiceName);
    SERVICE_STATUS_HANDLE handle =
        RegisterServiceCtrlHandlerExW(name.c_str(), onServiceControl, nullptr);
    if (handle == nullptr) {
        // Nothing can be reported without it; for an own-process service only a lack of
        // memory makes this fail.
        return;
    }
    const std::function<int()>* body = nullptr;
    {
        std::lock_guard<std::mutex> lock(g_service.mutex);
        g_service.handle = handle;
        g_service.status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
        g_service.status.dwWin32ExitCode = NO_ERROR;
        reportLocked(SERVICE_START_PENDING);
        body = g_service.body;
    }

    // A service starts in System32; relative paths in the config mean the exe's folder.
    // Should this fail, they fail later with their own error. A service has no console
    // either: what the supervisor prints before its log is set up (a config it refuses) or
    // to stdout/stderr goes to a file beside the exe instead of nowhere.
    try {
        std::filesystem::path folder = currentExecutable().parent_path();
        SetCurrentDirectoryW(folder.c_str());
        std::wstring console = (folder / L"opampsupervisor-service.log").wstring();
        _wfreopen(console.c_str(), L"a", stderr);
        _wfreopen(console.c_str(), L"a", stdout);
    } catch (const std::exception&) {
    }

    int exitCode = 1;
    std::exception_ptr error;
    try {
        exitCode = (*body)();
    } catch (...) {
        error = std::current_exception();  // cannot cross the dispatcher's C frames
    }

    // Last: once STOPPED is reported the process may be ended at any time.
    std::lock_guard<std::mutex> lock(g_service.mutex);
    g_service.exitCode = exitCode;
    g_service.error = error;
    reportStoppedLocked(exitCode);
}

}  // namespace

bool runningAsService() {
    std::lock_guard<std::mutex> lock(g_service.mutex);
    return g_service.handle != nullptr;
}

int runUnderServiceManager(const std::function<int()>& body) {
    std::wstring name = widen(kServiceName);
    {
        std::lock_guard<std::mutex> lock(g_service.mutex);
        g_service.body = &body;
    }
    SERVICE_TABLE_ENTRYW services[] = {{name.data(), serviceMain}, {nullptr, nullptr}};
    // Blocks, running serviceMain on a thread of its own, until the service has stopped.
    if (!StartServiceCtrlDispatcherW(services)) {
        DWORD code = GetLastError();
        if (code == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
            return body();  // started from a console, not by the SCM
        }
        throw failure("cannot connect to the Service Control Manager", code);
    }
    std::lock_guard<std::mutex> lock(g_service.mutex);
    if (g_service.error) {
        std::rethrow_exception(g_service.error);
    }
    return g_service.exitCode;
}

class ServiceNotifier::Impl {
  public:
    bool listening() const {
        std::lock_guard<std::mutex> lock(g_service.mutex);
        return g_service.handle != nullptr;
    }

    void ready() {
        std::lock_guard<std::mutex> lock(g_service.mutex);
        // Never back from STOP_PENDING: the supervisor may have begun to stop first.
        DWORD state = g_service.status.dwCurrentState;
        if (state == SERVICE_START_PENDING || state == SERVICE_RUNNING) {
            reportLocked(SERVICE_RUNNING);
        }
    }

    void stopping() {
        std::lock_guard<std::mutex> lock(g_service.mutex);
        reportLocked(SERVICE_STOP_PENDING);
    }

    // A sign of life counts only while starting or stopping: it keeps a long start or stop
    // from looking hung.
    void watchdog() {
        std::lock_guard<std::mutex> lock(g_service.mutex);
        DWORD state = g_service.status.dwCurrentState;
        if (isPending(state)) {
            reportLocked(state);
        }
    }
};

ServiceNotifier::ServiceNotifier() : impl_(std::make_unique<Impl>()) {}
ServiceNotifier::~ServiceNotifier() = default;

bool ServiceNotifier::listening() const {
    return impl_->listening();
}

// The SCM shows no status text: only the state is reported.
void ServiceNotifier::ready(const std::string&) {
    impl_->ready();
}

void ServiceNotifier::status(const std::string&) {}

void ServiceNotifier::stopping(const std::string&) {
    impl_->stopping();
}

// The SCM expects signs of life through the checkpoints of a pending state, within the
// wait hint: fed every few seconds from the supervisor's loop, a long start or stop (the
// collector's stop timeout) does not look hung.
std::optional<std::chrono::microseconds> ServiceNotifier::watchdogInterval() const {
    if (!impl_->listening()) {
        return std::nullopt;
    }
    return std::chrono::seconds(10);
}

void ServiceNotifier::watchdog() {
    impl_->watchdog();
}

namespace {

// Settings CreateServiceW has no parameters for. Failure actions are what make the SCM
// restart a supervisor that has exited with an error.
void configureService(SC_HANDLE service) {
    std::wstring description = L"Runs the OpenTelemetry Collector and manages it through OpAMP.";
    SERVICE_DESCRIPTIONW descriptionInfo{description.data()};
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_DESCRIPTION, &descriptionInfo)) {
        throw failure("cannot set the service's description", GetLastError());
    }

    SERVICE_PRESHUTDOWN_INFO preshutdown{kPreshutdownTimeoutMs};
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_PRESHUTDOWN_INFO, &preshutdown)) {
        throw failure("cannot set the service's preshutdown timeout", GetLastError());
    }

    SC_ACTION restarts[3] = {
        {SC_ACTION_RESTART, 5'000}, {SC_ACTION_RESTART, 5'000}, {SC_ACTION_RESTART, 5'000}};
    SERVICE_FAILURE_ACTIONSW actions{};
    actions.dwResetPeriod = 24 * 60 * 60;  // seconds without a failure before the count resets
    actions.cActions = 3;
    actions.lpsaActions = restarts;
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_FAILURE_ACTIONS, &actions)) {
        throw failure("cannot set the service's restart on failure", GetLastError());
    }

    // Without this only a crash counts as a failure, not a non-zero exit code. Every
    // Windows since Vista knows the setting; Wine's SCM does not (ERROR_INVALID_LEVEL),
    // and a service there restarts after crashes only.
    SERVICE_FAILURE_ACTIONS_FLAG nonCrashFailures{TRUE};
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &nonCrashFailures)) {
        DWORD code = GetLastError();
        if (code != ERROR_INVALID_LEVEL) {
            throw failure("cannot make the service restart after an exit with an error", code);
        }
    }
}

// Asks a running service to stop and waits for it, so that DeleteService removes it now
// rather than once it stops. Returns whether it has stopped.
bool stopAndWait(SC_HANDLE service) {
    SERVICE_STATUS_PROCESS status{};
    DWORD needed = 0;
    auto query = [&] {
        return QueryServiceStatusEx(service, SC_STATUS_PROCESS_INFO,
                                    reinterpret_cast<LPBYTE>(&status), sizeof status, &needed);
    };
    if (!query()) {
        throw failure("cannot query the service's state", GetLastError());
    }
    if (status.dwCurrentState == SERVICE_STOPPED) {
        return true;
    }
    if (status.dwCurrentState != SERVICE_STOP_PENDING) {
        SERVICE_STATUS ignored{};
        // May fail while it is starting (no controls accepted then): the wait covers that.
        ControlService(service, SERVICE_CONTROL_STOP, &ignored);
    }
    auto deadline = std::chrono::steady_clock::now() + kUninstallStopTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        if (!query()) {
            throw failure("cannot query the service's state", GetLastError());
        }
        if (status.dwCurrentState == SERVICE_STOPPED) {
            return true;
        }
    }
    return false;
}

}  // namespace

void installService(const ServiceDefinition& service) {
    ScHandle manager(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CREATE_SERVICE));
    if (!manager) {
        throw failure("cannot open the Service Control Manager", GetLastError());
    }
    std::wstring name = widen(kServiceName);
    std::wstring displayName = widen(kServiceDisplayName);
    std::wstring commandLine = serviceCommandLine(service);
    // SERVICE_START: a restart among the failure actions needs it.
    ScHandle created(CreateServiceW(manager.get(), name.c_str(), displayName.c_str(),
                                    SERVICE_CHANGE_CONFIG | SERVICE_START | DELETE,
                                    SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                                    SERVICE_ERROR_NORMAL, commandLine.c_str(), nullptr, nullptr,
                                    nullptr, nullptr, nullptr));
    if (!created) {
        DWORD code = GetLastError();
        if (code == ERROR_SERVICE_EXISTS) {
            throw std::runtime_error(std::string("the service ") + kServiceName +
                                     " is already installed; remove it first with "
                                     "'opampsupervisor service uninstall'");
        }
        if (code == ERROR_SERVICE_MARKED_FOR_DELETE) {
            throw std::runtime_error(std::string("the service ") + kServiceName +
                                     " is still being removed; close the Services console "
                                     "(services.msc) and try again");
        }
        throw failure(std::string("cannot create the service ") + kServiceName, code);
    }
    try {
        configureService(created.get());
    } catch (...) {
        // Half configured, it would not restart after a failure: leave nothing behind.
        DeleteService(created.get());
        throw;
    }
}

void uninstallService() {
    ScHandle manager(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
    if (!manager) {
        throw failure("cannot open the Service Control Manager", GetLastError());
    }
    std::wstring name = widen(kServiceName);
    ScHandle service(
        OpenServiceW(manager.get(), name.c_str(), SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE));
    if (!service) {
        DWORD code = GetLastError();
        if (code == ERROR_SERVICE_DOES_NOT_EXIST) {
            throw std::runtime_error(std::string("the service ") + kServiceName +
                                     " is not installed");
        }
        throw failure(std::string("cannot open the service ") + kServiceName, code);
    }
    bool stopped = stopAndWait(service.get());
    if (!DeleteService(service.get())) {
        DWORD code = GetLastError();
        if (code != ERROR_SERVICE_MARKED_FOR_DELETE) {
            throw failure(std::string("cannot delete the service ") + kServiceName, code);
        }
    }
    if (!stopped) {
        throw std::runtime_error(std::string("the service ") + kServiceName +
                                 " did not stop within " +
                                 std::to_string(kUninstallStopTimeout.count()) +
                                 " s; it is marked for deletion and is removed once it stops");
    }
}

}  // namespace opampsup::platform
