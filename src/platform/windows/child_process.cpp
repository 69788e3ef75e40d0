#include "platform/child_process.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include <windows.h>

#include "platform/windows/service_session.h"
#include "platform/windows/text.h"

namespace opampsup::platform {
namespace {

using windows::quoteArgument;
using windows::widen;

std::string lastError() {
    return windows::errorText(GetLastError());
}

// The inherited environment with the changes applied, as CreateProcessW wants it.
std::wstring environmentBlock(const std::map<std::string, std::optional<std::string>>& changes) {
    std::map<std::wstring, std::wstring> variables;  // by upper-case name
    std::map<std::wstring, std::wstring> spelled;
    wchar_t* block = GetEnvironmentStringsW();
    for (wchar_t* entry = block; entry != nullptr && *entry != L'\0'; entry += wcslen(entry) + 1) {
        std::wstring text(entry);
        std::size_t equals = text.find(L'=', 1);  // "=C:=C:\" entries start with '='
        if (equals == std::wstring::npos) {
            continue;
        }
        std::wstring name = text.substr(0, equals);
        std::wstring key = name;
        CharUpperBuffW(key.data(), static_cast<DWORD>(key.size()));
        variables[key] = text.substr(equals + 1);
        spelled[key] = name;
    }
    FreeEnvironmentStringsW(block);
    for (const auto& [name, value] : changes) {
        std::wstring wideName = widen(name);
        std::wstring key = wideName;
        CharUpperBuffW(key.data(), static_cast<DWORD>(key.size()));
        if (value) {
            variables[key] = widen(*value);
            spelled[key] = wideName;
        } else {
            variables.erase(key);
        }
    }
    std::wstring out;
    for (const auto& [key, value] : variables) {
        out += spelled[key] + L"=" + value;
        out.push_back(L'\0');
    }
    out.push_back(L'\0');
    return out;
}

// A console event reaches only the processes attached to the sender's console, and a
// service has none: without one, requestStop() could not reach the collector, which would
// be killed at the end of every stop timeout instead of shutting down cleanly. So the first
// spawn by a service gives it a console, hidden, which every collector started afterwards
// shares (the Go supervisor allocates one for the same reason). Output is not affected:
// children write to pipes, and the service's own stdout and stderr were already redirected
// to a file. A console program started without a console (detached) is left as it is.
void ensureConsoleForStopEvents() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (!runningAsService() || GetConsoleWindow() != nullptr) {
            return;
        }
        if (AllocConsole()) {
            HWND window = GetConsoleWindow();
            if (window != nullptr) {
                ShowWindow(window, SW_HIDE);
            }
        }
    });
}

// Closes what it holds, so every error path of spawn() leaves no handle behind (a leaked
// inheritable pipe end would be inherited by every later child).
class Handle {
  public:
    Handle() = default;
    explicit Handle(HANDLE handle) : handle_(handle) {}
    ~Handle() { reset(); }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;

    HANDLE get() const { return handle_; }
    HANDLE* out() { return &handle_; }
    explicit operator bool() const { return handle_ != nullptr; }
    HANDLE release() { return std::exchange(handle_, nullptr); }
    void reset() {
        if (handle_ != nullptr) {
            CloseHandle(std::exchange(handle_, nullptr));
        }
    }

  private:
    HANDLE handle_ = nullptr;
};

class WindowsChildProcess : public ChildProcess {
  public:
    WindowsChildProcess(HANDLE process, HANDLE job, DWORD pid, HANDLE out, HANDLE err,
                        ProcessOptions options)
        : process_(process), job_(job), pid_(pid), options_(std::move(options)) {
        readers_[0] = std::thread([this, out] { readOutput(out, ProcessStream::Stdout); });
        readers_[1] = std::thread([this, err] { readOutput(err, ProcessStream::Stderr); });
        waiter_ = std::thread([this] { waitForExit(); });
    }

    ~WindowsChildProcess() override {
        // Also when the collector has exited: a process it started may still hold the
        // output pipes open, and the readers below would wait for it forever.
        kill();
        waiter_.join();
        for (auto& reader : readers_) {
            reader.join();
        }
        CloseHandle(process_);
        CloseHandle(job_);
    }

    long pid() const override { return static_cast<long>(pid_); }

    void requestStop() override {
        // The collector runs in its own process group, whose ID is its PID. Should the
        // event not arrive (no console, or the collector has not installed its handler
        // yet), the caller's stop timeout ends in kill().
        GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, pid_);
    }

    void kill() override { TerminateJobObject(job_, 1); }

    void requestReload() override {
        throw std::runtime_error("a config reload by signal is not available on Windows");
    }

    bool exited() const override { return exited_; }

  private:
    void readOutput(HANDLE pipe, ProcessStream stream) {
        std::string pending;
        char buffer[16384];
        DWORD n = 0;
        while (ReadFile(pipe, buffer, sizeof buffer, &n, nullptr) && n > 0) {
            pending.append(buffer, n);
            std::size_t start = 0;
            for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos;
                 start = nl + 1) {
                deliver(stream, std::string_view(pending).substr(start, nl - start));
            }
            pending.erase(0, start);
            while (pending.size() > kMaxLineBytes) {
                deliver(stream, std::string_view(pending).substr(0, kMaxLineBytes));
                pending.erase(0, kMaxLineBytes);
            }
        }
        if (!pending.empty()) {
            deliver(stream, pending);
        }
        CloseHandle(pipe);
        std::lock_guard<std::mutex> lock(outputMutex_);
        ++streamsDone_;
        outputDone_.notify_all();
    }

    void deliver(ProcessStream stream, std::string_view line) {
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (options_.onOutput) {
            std::lock_guard<std::mutex> lock(outputMutex_);
            options_.onOutput(stream, line);
        }
    }

    void waitForExit() {
        WaitForSingleObject(process_, INFINITE);
        DWORD code = 0;
        GetExitCodeProcess(process_, &code);
        exited_ = true;
        ProcessExit exit;
        exit.code = static_cast<int>(code);
        {
            // Let the last lines arrive first, unless a grandchild holds the pipes open.
            std::unique_lock<std::mutex> lock(outputMutex_);
            outputDone_.wait_for(lock, std::chrono::milliseconds(500),
                                 [this] { return streamsDone_ == 2; });
        }
        if (options_.onExit) {
            options_.onExit(exit);
        }
    }

    HANDLE process_;
    HANDLE job_;
    DWORD pid_;
    ProcessOptions options_;
    std::mutex outputMutex_;  // one line delivered at a time; guards streamsDone_
    std::condition_variable outputDone_;
    int streamsDone_ = 0;
    std::atomic<bool> exited_{false};
    std::thread readers_[2];
    std::thread waiter_;
};

}  // namespace

std::unique_ptr<ChildProcess> ChildProcess::spawn(ProcessOptions options) {
    const std::string executable = windows::narrow(options.executable.wstring());
    auto fail = [&](const std::string& step) -> std::runtime_error {
        return std::runtime_error("cannot start " + executable + ": " + step + lastError());
    };
    if (options.runAs) {
        throw std::runtime_error("cannot start " + executable + " as user " + options.runAs->user +
                                 ": not supported on Windows");
    }
    // A child inherits every inheritable handle of this process: with two spawns at once,
    // each would hold the other's pipe open, and a reader would wait for both children.
    // From the pipes' creation to the closing of their write ends, one spawn at a time.
    static std::mutex spawning;
    std::unique_lock<std::mutex> oneAtATime(spawning);
    ensureConsoleForStopEvents();
    SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
    Handle outRead, outWrite, errRead, errWrite;
    if (!CreatePipe(outRead.out(), outWrite.out(), &inherit, 0) ||
        !CreatePipe(errRead.out(), errWrite.out(), &inherit, 0)) {
        throw fail("cannot create a pipe: ");
    }
    // Only the write ends go to the child.
    SetHandleInformation(outRead.get(), HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(errRead.get(), HANDLE_FLAG_INHERIT, 0);

    Handle job(CreateJobObjectW(nullptr, nullptr));
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (!job || !SetInformationJobObject(job.get(), JobObjectExtendedLimitInformation, &limits,
                                         sizeof limits)) {
        throw fail("cannot create a job object: ");
    }

    std::wstring commandLine = quoteArgument(options.executable.wstring());
    for (const std::string& arg : options.args) {
        commandLine += L" " + quoteArgument(widen(arg));
    }
    std::wstring environment = environmentBlock(options.environment);
    std::wstring directory =
        options.workingDirectory ? options.workingDirectory->wstring() : std::wstring();

    STARTUPINFOW startup{};
    startup.cb = sizeof startup;
    startup.dwFlags = STARTF_USESTDHANDLES;
    startup.hStdInput = nullptr;
    startup.hStdOutput = outWrite.get();
    startup.hStdError = errWrite.get();
    PROCESS_INFORMATION info{};
    if (!CreateProcessW(
            options.executable.wstring().c_str(), commandLine.data(), nullptr, nullptr, TRUE,
            CREATE_NEW_PROCESS_GROUP | CREATE_SUSPENDED | CREATE_UNICODE_ENVIRONMENT,
            environment.data(), directory.empty() ? nullptr : directory.c_str(), &startup, &info)) {
        throw fail("");
    }
    Handle process(info.hProcess);
    Handle thread(info.hThread);
    outWrite.reset();
    errWrite.reset();
    oneAtATime.unlock();
    // In the job before it runs a single instruction, so nothing it starts escapes.
    if (!AssignProcessToJobObject(job.get(), process.get())) {
        std::runtime_error error = fail("cannot put it in a job object: ");
        TerminateProcess(process.get(), 1);
        throw error;
    }
    ResumeThread(thread.get());
    return std::make_unique<WindowsChildProcess>(process.release(), job.release(), info.dwProcessId,
                                                 outRead.release(), errRead.release(),
                                                 std::move(options));
}

}  // namespace opampsup::platform
