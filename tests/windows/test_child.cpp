// The child process of the Windows platform tests. Each mode does one thing a test then
// checks from outside, through its output (UTF-8 lines), its exit code or its processes:
//
//   exit <code>         two lines on stdout, one on stderr, then exits with <code>
//   args <arg>...       "arg=<arg>" per argument, as CommandLineToArgvW splits the line
//   env <name>...       "<name>=<value>" or "<name> unset" per name
//   cwd                 "cwd=<working directory>"
//   wait-for-stop       "ready"; on a stop request (ShutdownWatcher) "stop=<request>",
//                       then exits 0
//   ignore-stop         "ready"; handles every console event by ignoring it, runs forever
//   grandchild          starts "sleep" of itself (CreateProcess), "grandchild=<pid>", sleeps
//   middle              starts "sleep" of itself through ChildProcess (its own job),
//                       "grandchild=<pid>", sleeps
//   sleep               sleeps
//   service <code>      runs under runUnderServiceManager: "console" when started from a
//                       console; as a service, waits for the SCM's stop and exits with <code>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include <windows.h>
// shellapi.h needs windows.h before it.
#include <shellapi.h>

#include "platform/child_process.h"
#include "platform/service.h"
#include "platform/shutdown.h"
#include "platform/windows/text.h"

namespace {

using opampsup::platform::windows::narrow;

void say(HANDLE stream, const std::string& line) {
    std::string text = line + "\n";
    DWORD written = 0;
    WriteFile(stream, text.data(), static_cast<DWORD>(text.size()), &written, nullptr);
}

void say(const std::string& line) {
    say(GetStdHandle(STD_OUTPUT_HANDLE), line);
}

std::wstring self() {
    std::wstring path(32768, L'\0');
    DWORD n = GetModuleFileNameW(nullptr, path.data(), static_cast<DWORD>(path.size()));
    path.resize(n);
    return path;
}

[[noreturn]] void sleepForever() {
    for (;;) {
        Sleep(INFINITE);
    }
}

int waitForStop() {
    std::mutex mutex;
    std::condition_variable stopped;
    std::string request;
    opampsup::platform::ShutdownWatcher watcher([&](const std::string& name) {
        std::lock_guard<std::mutex> lock(mutex);
        if (request.empty()) {
            request = name;
        }
        stopped.notify_all();
    });
    say("ready");
    std::unique_lock<std::mutex> lock(mutex);
    stopped.wait(lock, [&] { return !request.empty(); });
    say("stop=" + request);
    return 0;
}

BOOL WINAPI ignoreEvent(DWORD) {
    return TRUE;
}

int startGrandchild() {
    std::wstring commandLine = L"\"" + self() + L"\" sleep";
    STARTUPINFOW startup{};
    startup.cb = sizeof startup;
    PROCESS_INFORMATION info{};
    if (!CreateProcessW(nullptr, commandLine.data(), nullptr, nullptr, FALSE, 0, nullptr, nullptr,
                        &startup, &info)) {
        say("cannot start the grandchild");
        return 2;
    }
    CloseHandle(info.hThread);
    CloseHandle(info.hProcess);
    say("grandchild=" + std::to_string(info.dwProcessId));
    sleepForever();
}

int startGrandchildInAJob() {
    opampsup::platform::ProcessOptions options;
    options.executable = self();
    options.args = {"sleep"};
    auto child = opampsup::platform::ChildProcess::spawn(std::move(options));
    say("grandchild=" + std::to_string(child->pid()));
    sleepForever();
}

int runAsService(int code) {
    return opampsup::platform::runUnderServiceManager([code] {
        opampsup::platform::ServiceNotifier notifier;
        if (!notifier.listening()) {
            say("console");
            return code;
        }
        std::mutex mutex;
        std::condition_variable stopped;
        bool stop = false;
        opampsup::platform::ShutdownWatcher watcher([&](const std::string&) {
            std::lock_guard<std::mutex> lock(mutex);
            stop = true;
            stopped.notify_all();
        });
        notifier.ready("running");
        std::unique_lock<std::mutex> lock(mutex);
        stopped.wait(lock, [&] { return stop; });
        notifier.stopping("stopping");
        return code;
    });
}

}  // namespace

int main() {
    int argc = 0;
    wchar_t** wide = CommandLineToArgvW(GetCommandLineW(), &argc);
    std::vector<std::string> args;
    for (int i = 0; i < argc; ++i) {
        args.push_back(narrow(wide[i]));
    }
    LocalFree(wide);
    const std::string mode = args.size() > 1 ? args[1] : "";
    if (mode == "exit" && args.size() == 3) {
        say("first line");
        say(GetStdHandle(STD_ERROR_HANDLE), "an error line");
        say("second line");
        return std::atoi(args[2].c_str());
    }
    if (mode == "args") {
        for (std::size_t i = 2; i < args.size(); ++i) {
            say("arg=" + args[i]);
        }
        return 0;
    }
    if (mode == "env") {
        for (std::size_t i = 2; i < args.size(); ++i) {
            std::wstring name = opampsup::platform::windows::widen(args[i]);
            std::wstring value(32768, L'\0');
            DWORD n = GetEnvironmentVariableW(name.c_str(), value.data(),
                                              static_cast<DWORD>(value.size()));
            if (n == 0 && GetLastError() == ERROR_ENVVAR_NOT_FOUND) {
                say(args[i] + " unset");
            } else {
                value.resize(n);
                say(args[i] + "=" + narrow(value));
            }
        }
        return 0;
    }
    if (mode == "cwd") {
        std::wstring cwd(32768, L'\0');
        cwd.resize(GetCurrentDirectoryW(static_cast<DWORD>(cwd.size()), cwd.data()));
        say("cwd=" + narrow(cwd));
        return 0;
    }
    if (mode == "wait-for-stop") {
        return waitForStop();
    }
    if (mode == "ignore-stop") {
        SetConsoleCtrlHandler(ignoreEvent, TRUE);
        say("ready");
        sleepForever();
    }
    if (mode == "grandchild") {
        return startGrandchild();
    }
    if (mode == "middle") {
        return startGrandchildInAJob();
    }
    if (mode == "sleep") {
        sleepForever();
    }
    if (mode == "service" && args.size() == 3) {
        return runAsService(std::atoi(args[2].c_str()));
    }
    say(GetStdHandle(STD_ERROR_HANDLE), "unknown mode: " + mode);
    return 64;
}
