// The Windows platform layer with real processes, files and services, cross-built with
// mingw-w64 and run under Wine (tests/windows/README.md says what that proves). The child
// is opampsup-test-child.exe, built beside this test; test_child.cpp lists its modes.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <windows.h>
// shellapi.h needs windows.h before it.
#include <shellapi.h>

#include "platform/account.h"
#include "platform/child_process.h"
#include "platform/fs.h"
#include "platform/os.h"
#include "platform/paths.h"
#include "platform/service.h"
#include "platform/shutdown.h"
#include "platform/windows/shutdown_request.h"
#include "platform/windows/text.h"

namespace opampsup::platform {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using windows::narrow;
using windows::widen;

// Text that UTF-16 needs two units for (U+1F680), beside Latin and CJK letters.
const std::string kNonAscii = "Donn\xC3\xA9\x65s \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x9A\x80";

std::filesystem::path testChild() {
    return currentExecutable().parent_path() / L"opampsup-test-child.exe";
}

// A fresh directory under the temp folder, removed at the end of the test.
class TempDir {
  public:
    TempDir() {
        std::filesystem::path base = std::filesystem::temp_directory_path();
        path_ = base / (L"opampsup-" + std::to_wstring(GetCurrentProcessId()) + L"-" +
                        std::to_wstring(counter_++));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    const std::filesystem::path& path() const { return path_; }

  private:
    static inline int counter_ = 0;
    std::filesystem::path path_;
};

// A child's output and exit, collected from the ChildProcess threads.
class Spawned {
  public:
    explicit Spawned(ProcessOptions options) {
        options.onOutput = [this](ProcessStream stream, std::string_view line) {
            std::lock_guard<std::mutex> lock(mutex_);
            (stream == ProcessStream::Stdout ? out_ : err_).emplace_back(line);
            changed_.notify_all();
        };
        options.onExit = [this](const ProcessExit& exit) {
            std::lock_guard<std::mutex> lock(mutex_);
            exit_ = exit;
            linesAtExit_ = out_.size() + err_.size();
            changed_.notify_all();
        };
        child_ = ChildProcess::spawn(std::move(options));
    }

    static ProcessOptions of(std::vector<std::string> args) {
        ProcessOptions options;
        options.executable = testChild();
        options.args = std::move(args);
        return options;
    }

    ChildProcess& child() { return *child_; }
    void destroy() { child_.reset(); }

    std::optional<ProcessExit> waitForExit(std::chrono::milliseconds timeout = 20s) {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait_for(lock, timeout, [this] { return exit_.has_value(); });
        return exit_;
    }

    // The first stdout line that starts with `prefix`, without it.
    std::optional<std::string> waitForLine(const std::string& prefix,
                                           std::chrono::milliseconds timeout = 20s) {
        std::unique_lock<std::mutex> lock(mutex_);
        std::optional<std::string> found;
        changed_.wait_for(lock, timeout, [&] {
            for (const std::string& line : out_) {
                if (line.rfind(prefix, 0) == 0) {
                    found = line.substr(prefix.size());
                    return true;
                }
            }
            return false;
        });
        return found;
    }

    std::vector<std::string> out() {
        std::lock_guard<std::mutex> lock(mutex_);
        return out_;
    }
    std::vector<std::string> err() {
        std::lock_guard<std::mutex> lock(mutex_);
        return err_;
    }
    std::size_t linesAtExit() {
        std::lock_guard<std::mutex> lock(mutex_);
        return linesAtExit_;
    }

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::string> out_;
    std::vector<std::string> err_;
    std::optional<ProcessExit> exit_;
    std::size_t linesAtExit_ = 0;
    std::unique_ptr<ChildProcess> child_;
};

// Wine says who it is through an export of its ntdll that Windows lacks.
bool underWine() {
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    return ntdll != nullptr && GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

// Whether process `pid` ends within `timeout` (or is gone already).
bool processEnds(DWORD pid, std::chrono::milliseconds timeout = 10s) {
    HANDLE process = OpenProcess(SYNCHRONIZE, FALSE, pid);
    if (process == nullptr) {
        return true;
    }
    DWORD waited = WaitForSingleObject(process, static_cast<DWORD>(timeout.count()));
    CloseHandle(process);
    return waited == WAIT_OBJECT_0;
}

// --- text: UTF-8 and UTF-16, error messages, quoting -------------------------------------

TEST(WindowsText, Utf8AndUtf16RoundTripIncludingSurrogatePairs) {
    std::wstring wide = widen(kNonAscii);
    EXPECT_EQ(wide, L"Donn\u00e9es \u65e5\u672c \U0001F680");
    EXPECT_EQ(narrow(wide), kNonAscii);
    EXPECT_EQ(widen(""), L"");
    EXPECT_EQ(narrow(L""), "");
}

TEST(WindowsText, AnErrorCodeReadsAsTheSystemsMessageWithoutTrailingPunctuation) {
    std::string text = windows::errorText(ERROR_FILE_NOT_FOUND);
    EXPECT_FALSE(text.empty());
    EXPECT_NE(text.back(), '.');
    EXPECT_NE(text.back(), '\n');
    EXPECT_EQ(text.find("error 2"), std::string::npos) << "no message found: " << text;
}

// What quoteArgument writes, CommandLineToArgvW (and so the C runtime of any child) reads
// back unchanged.
TEST(WindowsText, QuotedArgumentsSplitBackIntoTheSameArguments) {
    const std::vector<std::wstring> args = {L"plain",
                                            L"with space",
                                            L"",
                                            L"say \"hi\"",
                                            L"C:\\Program Files\\otelcol\\",
                                            L"trailing\\\\",
                                            L"a\\\"b",
                                            L"\\\\server\\share\\",
                                            L"tab\there",
                                            L"--config=C:\\a b\\c.yaml",
                                            widen(kNonAscii)};
    std::wstring line = L"program.exe";
    for (const std::wstring& arg : args) {
        line += L" " + windows::quoteArgument(arg);
    }
    int argc = 0;
    wchar_t** argv = CommandLineToArgvW(line.c_str(), &argc);
    ASSERT_NE(argv, nullptr);
    std::vector<std::wstring> split(argv + 1, argv + argc);
    LocalFree(argv);
    EXPECT_EQ(split, args);
}

// --- default paths and OS facts -----------------------------------------------------------

class ProgramDataOverride : public ::testing::Test {
  protected:
    void SetUp() override {
        const wchar_t* current = _wgetenv(L"ProgramData");
        if (current != nullptr) {
            saved_ = current;
        }
    }
    void TearDown() override { _wputenv_s(L"ProgramData", saved_ ? saved_->c_str() : L""); }
    std::optional<std::wstring> saved_;
};

TEST_F(ProgramDataOverride, StorageDefaultsToOtelcolSupervisorUnderProgramData) {
    _wputenv_s(L"ProgramData", L"C:\\ProgramData");
    EXPECT_EQ(defaultStorageDirectory().wstring(), L"C:\\ProgramData\\Otelcol\\Supervisor");
    // A localised or moved ProgramData keeps its letters.
    _wputenv_s(L"ProgramData", (L"D:\\" + widen(kNonAscii)).c_str());
    EXPECT_EQ(narrow(defaultStorageDirectory().wstring()),
              "D:\\" + kNonAscii + "\\Otelcol\\Supervisor");
    // Unset, the usual location.
    _wputenv_s(L"ProgramData", L"");
    EXPECT_EQ(defaultStorageDirectory().wstring(), L"C:\\ProgramData\\Otelcol\\Supervisor");
}

TEST(WindowsOs, FactsTheConfigDependsOn) {
    EXPECT_EQ(osType(), "windows");
    EXPECT_FALSE(supportsHupReload());
    EXPECT_FALSE(supportsRunAs());
    EXPECT_EQ(defaultAgentBinaryName(), "otelcol-contrib.exe");
    EXPECT_EQ(currentExecutable().filename().wstring(), L"windows_platform_test.exe");
    EXPECT_TRUE(currentExecutable().is_absolute());
}

// --- files ---------------------------------------------------------------------------------

TEST(WindowsFs, AtomicWritesReplaceTheFileAndLeaveNoTemporaryUnderNonAsciiNames) {
    TempDir dir;
    std::filesystem::path folder = dir.path() / widen(kNonAscii) / L"nested";
    createPrivateDirectory(folder);
    ASSERT_TRUE(std::filesystem::is_directory(folder));
    std::filesystem::path file = folder / (widen(kNonAscii) + L".yaml");
    const std::string first("first\r\nwith a NUL \0 inside\n", 27);
    writeFileAtomically(file, first);
    writeFileAtomically(file, "second");
    {
        // Closed before the next write: Windows refuses to replace a file that is open
        // without FILE_SHARE_DELETE, as a stream opens it.
        std::ifstream in(file, std::ios::binary);
        std::string read(static_cast<std::size_t>(std::filesystem::file_size(file)), '\0');
        in.read(read.data(), static_cast<std::streamsize>(read.size()));
        EXPECT_EQ(read, "second");
    }
    std::vector<std::filesystem::path> entries(std::filesystem::directory_iterator(folder), {});
    EXPECT_THAT(entries, ElementsAre(file)) << "a temporary file was left behind";
    writeFileAtomically(file, first);
    EXPECT_EQ(std::filesystem::file_size(file), first.size());
    EXPECT_NO_THROW(flushToDisk(file));
}

TEST(WindowsFs, AFailedWriteNamesThePathInUtf8) {
    TempDir dir;
    std::filesystem::path missing = dir.path() / widen(kNonAscii) / L"config.yaml";
    try {
        writeFileAtomically(missing, "x");
        FAIL() << "writing into a missing folder succeeded";
    } catch (const std::system_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("cannot create"));
        EXPECT_THAT(e.what(), HasSubstr(kNonAscii));
    }
}

TEST(WindowsFs, SharingWithAGroupIsRefusedForWindowsHasNoRunAs) {
    TempDir dir;
    EXPECT_THROW(shareWithGroup(dir.path(), 1000), std::system_error);
    EXPECT_THROW(writeFileAtomically(dir.path() / L"f", "x", 1000L), std::system_error);
}

// --- child processes -------------------------------------------------------------------------

TEST(WindowsChildProcess, ExitCodeAndOutputLinesInOrderAllDeliveredBeforeTheExit) {
    Spawned run(Spawned::of({"exit", "7"}));
    auto exit = run.waitForExit();
    ASSERT_TRUE(exit);
    EXPECT_FALSE(exit->signaled);
    EXPECT_EQ(exit->code, 7);
    EXPECT_THAT(run.out(), ElementsAre("first line", "second line"));
    EXPECT_THAT(run.err(), ElementsAre("an error line"));
    EXPECT_EQ(run.linesAtExit(), 3U) << "onExit came before the output was delivered";
    EXPECT_TRUE(run.child().exited());
    EXPECT_THROW(run.child().requestReload(), std::runtime_error);
}

TEST(WindowsChildProcess, AMissingExecutableIsASpawnErrorNamingIt) {
    TempDir dir;
    ProcessOptions options;
    options.executable = dir.path() / widen(kNonAscii) / L"otelcol-contrib.exe";
    try {
        ChildProcess::spawn(options);
        FAIL() << "a missing executable started";
    } catch (const std::runtime_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("cannot start"));
        EXPECT_THAT(e.what(), HasSubstr(kNonAscii + "\\otelcol-contrib.exe"));
    }
}

TEST(WindowsChildProcess, ArgumentsWithSpacesQuotesAndBackslashesArriveIntact) {
    const std::vector<std::string> args = {"--config",
                                           "C:\\Program Files\\otelcol\\config.yaml",
                                           "",
                                           "say \"hi\"",
                                           "ends with a backslash\\",
                                           "a\\\"b",
                                           "\\\\server\\share\\",
                                           "--set=processors::batch::timeout=1s",
                                           kNonAscii};
    std::vector<std::string> withMode = {"args"};
    withMode.insert(withMode.end(), args.begin(), args.end());
    Spawned run(Spawned::of(withMode));
    ASSERT_TRUE(run.waitForExit());
    std::vector<std::string> received;
    for (const std::string& line : run.out()) {
        received.push_back(line.substr(4));  // "arg="
    }
    EXPECT_EQ(received, args);
}

TEST(WindowsChildProcess, EnvironmentChangesAndAWorkingDirectoryWithNonAsciiLetters) {
    TempDir dir;
    std::filesystem::path cwd = dir.path() / widen(kNonAscii);
    std::filesystem::create_directories(cwd);
    SetEnvironmentVariableW(L"OPAMPSUP_TEST_REMOVED", L"still here");
    SetEnvironmentVariableW(L"OPAMPSUP_TEST_KEPT", L"kept");
    ProcessOptions options = Spawned::of({"env", "OPAMPSUP_TEST_ADDED", "OPAMPSUP_TEST_REMOVED",
                                          "OPAMPSUP_TEST_KEPT", "OPAMPSUP_TEST_REPLACED"});
    options.environment = {{"OPAMPSUP_TEST_ADDED", kNonAscii},
                           {"OPAMPSUP_TEST_REMOVED", std::nullopt},
                           // Names are case-insensitive on Windows: this replaces KEPT's
                           // spelling and value, it does not add a second variable.
                           {"opampsup_test_replaced", "new"}};
    SetEnvironmentVariableW(L"OPAMPSUP_TEST_REPLACED", L"old");
    options.workingDirectory = cwd;
    Spawned env(std::move(options));
    ASSERT_TRUE(env.waitForExit());
    EXPECT_THAT(env.out(),
                ElementsAre("OPAMPSUP_TEST_ADDED=" + kNonAscii, "OPAMPSUP_TEST_REMOVED unset",
                            "OPAMPSUP_TEST_KEPT=kept", "OPAMPSUP_TEST_REPLACED=new"));

    ProcessOptions inCwd = Spawned::of({"cwd"});
    inCwd.workingDirectory = cwd;
    Spawned where(std::move(inCwd));
    ASSERT_TRUE(where.waitForExit());
    EXPECT_THAT(where.out(), ElementsAre("cwd=" + narrow(cwd.wstring())));
    SetEnvironmentVariableW(L"OPAMPSUP_TEST_REMOVED", nullptr);
    SetEnvironmentVariableW(L"OPAMPSUP_TEST_KEPT", nullptr);
    SetEnvironmentVariableW(L"OPAMPSUP_TEST_REPLACED", nullptr);
}

TEST(WindowsChildProcess, AnExecutableInANonAsciiFolderStarts) {
    TempDir dir;
    std::filesystem::path folder = dir.path() / (widen(kNonAscii) + L" bin");
    std::filesystem::create_directories(folder);
    std::filesystem::path copy = folder / L"otelcol contrib.exe";
    std::filesystem::copy_file(testChild(), copy);
    ProcessOptions options = Spawned::of({"exit", "0"});
    options.executable = copy;
    Spawned run(std::move(options));
    auto exit = run.waitForExit();
    ASSERT_TRUE(exit);
    EXPECT_EQ(exit->code, 0);
    EXPECT_THAT(run.out(), ElementsAre("first line", "second line"));
}

// The collector's graceful stop: CTRL_BREAK to its process group, which the child's
// ShutdownWatcher turns into a request.
TEST(WindowsChildProcess, AStopRequestIsACtrlBreakTheChildCanHandle) {
    if (underWine()) {
        // Wine 8 has no console without a terminal, and with one GenerateConsoleCtrlEvent
        // still fails for another process group (ERROR_INVALID_HANDLE). The handler side
        // is proven by WindowsShutdown below; this needs real Windows.
        GTEST_SKIP() << "Wine does not deliver console control events to a process group";
    }
    Spawned run(Spawned::of({"wait-for-stop"}));
    ASSERT_TRUE(run.waitForLine("ready")) << ::testing::PrintToString(run.err());
    run.child().requestStop();
    EXPECT_EQ(run.waitForLine("stop="), std::optional<std::string>("CTRL_BREAK_EVENT"));
    auto exit = run.waitForExit();
    ASSERT_TRUE(exit);
    EXPECT_EQ(exit->code, 0);
}

TEST(WindowsChildProcess, KillEndsAChildThatIgnoresTheStopRequest) {
    Spawned run(Spawned::of({"ignore-stop"}));
    ASSERT_TRUE(run.waitForLine("ready"));
    run.child().requestStop();
    EXPECT_FALSE(run.waitForExit(500ms)) << "the child was meant to ignore the stop request";
    run.child().kill();
    auto exit = run.waitForExit();
    ASSERT_TRUE(exit);
    EXPECT_NE(exit->code, 0);
}

// The job object: what the collector starts dies with it.
TEST(WindowsChildProcess, KillEndsTheWholeProcessTree) {
    Spawned run(Spawned::of({"grandchild"}));
    auto grandchild = run.waitForLine("grandchild=");
    ASSERT_TRUE(grandchild) << ::testing::PrintToString(run.err());
    const auto pid = static_cast<DWORD>(std::stoul(*grandchild));
    EXPECT_FALSE(processEnds(pid, 200ms)) << "the grandchild did not run";
    run.child().kill();
    ASSERT_TRUE(run.waitForExit());
    EXPECT_TRUE(processEnds(pid)) << "the grandchild outlived the job";
}

TEST(WindowsChildProcess, DestroyingTheHandleEndsTheTree) {
    Spawned run(Spawned::of({"grandchild"}));
    auto grandchild = run.waitForLine("grandchild=");
    ASSERT_TRUE(grandchild);
    const auto pid = static_cast<DWORD>(std::stoul(*grandchild));
    run.destroy();
    EXPECT_TRUE(processEnds(pid));
}

// A supervisor that dies without cleaning up (TerminateProcess, a crash) takes its
// collector along: the job is killed when its last handle closes.
TEST(WindowsChildProcess, TheCollectorDiesWithTheSupervisor) {
    Spawned supervisor(Spawned::of({"middle"}));
    auto collector = supervisor.waitForLine("grandchild=");
    ASSERT_TRUE(collector) << ::testing::PrintToString(supervisor.err());
    const auto pid = static_cast<DWORD>(std::stoul(*collector));
    EXPECT_FALSE(processEnds(pid, 200ms));
    HANDLE middle =
        OpenProcess(PROCESS_TERMINATE, FALSE, static_cast<DWORD>(supervisor.child().pid()));
    ASSERT_NE(middle, nullptr);
    TerminateProcess(middle, 9);
    CloseHandle(middle);
    ASSERT_TRUE(supervisor.waitForExit());
    EXPECT_TRUE(processEnds(pid)) << "the collector outlived its supervisor";
}

// Two children started at once each get only their own pipes. Were the sleeping one to
// inherit the quick one's pipe ends, the quick one's readers would not finish, and
// destroying its handle (which waits for them) would block until the sleeper exits.
TEST(WindowsChildProcess, ChildrenStartedAtOnceDoNotHoldEachOthersOutputOpen) {
    for (int round = 0; round < 10; ++round) {
        std::unique_ptr<Spawned> sleeper;
        std::unique_ptr<Spawned> quick;
        std::thread a([&] { sleeper = std::make_unique<Spawned>(Spawned::of({"ignore-stop"})); });
        std::thread b([&] { quick = std::make_unique<Spawned>(Spawned::of({"exit", "3"})); });
        a.join();
        b.join();
        auto exit = quick->waitForExit(10s);
        ASSERT_TRUE(exit) << "round " << round;
        EXPECT_EQ(exit->code, 3);
        auto destroyed = std::async(std::launch::async, [&] { quick.reset(); });
        const bool alone = destroyed.wait_for(10s) == std::future_status::ready;
        sleeper->child().kill();
        destroyed.wait();
        ASSERT_TRUE(alone) << "round " << round
                           << ": the quick child's output stayed open while the other ran";
        ASSERT_TRUE(sleeper->waitForExit());
    }
}

// --- shutdown requests -----------------------------------------------------------------------

TEST(WindowsShutdown, ServiceControlsReachTheWatchersCallback) {
    EXPECT_FALSE(requestShutdown("SERVICE_CONTROL_STOP")) << "no watcher yet";
    std::vector<std::string> requests;
    {
        ShutdownWatcher watcher([&](const std::string& name) { requests.push_back(name); });
        EXPECT_TRUE(requestShutdown("SERVICE_CONTROL_STOP"));
        EXPECT_TRUE(requestShutdown("SERVICE_CONTROL_PRESHUTDOWN"));
    }
    EXPECT_FALSE(requestShutdown("SERVICE_CONTROL_SHUTDOWN")) << "the watcher is gone";
    EXPECT_THAT(requests, ElementsAre("SERVICE_CONTROL_STOP", "SERVICE_CONTROL_PRESHUTDOWN"));
}

// --- the service --------------------------------------------------------------------------------

// Started from a console (as this test is), the dispatcher is refused and the body runs in
// the calling thread, its result returned. Windows refuses at once; Wine after several
// seconds, so the test calls it once.
TEST(WindowsService, FromAConsoleTheBodyRunsDirectly) {
    const DWORD caller = GetCurrentThreadId();
    DWORD ranOn = 0;
    EXPECT_EQ(runUnderServiceManager([&] {
                  ranOn = GetCurrentThreadId();
                  return 7;
              }),
              7);
    EXPECT_EQ(ranOn, caller);
    ServiceNotifier notifier;
    EXPECT_FALSE(notifier.listening());
    EXPECT_EQ(notifier.watchdogInterval(), std::nullopt);
}

class ScmHandle {
  public:
    explicit ScmHandle(SC_HANDLE handle) : handle_(handle) {}
    ~ScmHandle() {
        if (handle_ != nullptr) {
            CloseServiceHandle(handle_);
        }
    }
    SC_HANDLE get() const { return handle_; }

  private:
    SC_HANDLE handle_;
};

std::optional<SERVICE_STATUS_PROCESS> waitForServiceState(SC_HANDLE service, DWORD state) {
    SERVICE_STATUS_PROCESS status{};
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
        DWORD needed = 0;
        if (!QueryServiceStatusEx(service, SC_STATUS_PROCESS_INFO,
                                  reinterpret_cast<LPBYTE>(&status), sizeof status, &needed)) {
            return std::nullopt;
        }
        if (status.dwCurrentState == state) {
            return status;
        }
        std::this_thread::sleep_for(50ms);
    }
    return std::nullopt;
}

// The whole life of the service in Wine's Service Control Manager: installed, started (the
// dispatcher connects and reports RUNNING), stopped (the stop control reaches the
// ShutdownWatcher), its exit code reported, and uninstalled.
TEST(WindowsService, InstalledStartedStoppedAndUninstalledThroughTheScm) {
    TempDir dir;
    std::filesystem::path folder = dir.path() / L"Program Files" / L"Otelcol";
    std::filesystem::create_directories(folder);
    std::filesystem::path exe = folder / L"opampsupervisor.exe";
    std::filesystem::copy_file(testChild(), exe);
    installService({exe, {"service", "0"}});
    try {
        installService({exe, {"service", "0"}});
        ADD_FAILURE() << "installed twice";
    } catch (const std::runtime_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("already installed"));
    }

    {
        // Closed before the uninstall: the SCM deletes a service once no handle is open.
        ScmHandle manager(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
        ASSERT_NE(manager.get(), nullptr);
        ScmHandle service(OpenServiceW(
            manager.get(), widen(kServiceName).c_str(),
            SERVICE_START | SERVICE_STOP | SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG));
        ASSERT_NE(service.get(), nullptr);

        std::vector<BYTE> buffer(8192);
        DWORD needed = 0;
        ASSERT_TRUE(QueryServiceConfigW(service.get(),
                                        reinterpret_cast<QUERY_SERVICE_CONFIGW*>(buffer.data()),
                                        static_cast<DWORD>(buffer.size()), &needed));
        auto* config = reinterpret_cast<QUERY_SERVICE_CONFIGW*>(buffer.data());
        EXPECT_EQ(config->dwStartType, static_cast<DWORD>(SERVICE_AUTO_START));
        EXPECT_EQ(std::wstring(config->lpBinaryPathName), L"\"" + exe.wstring() + L"\" service 0");

        ASSERT_TRUE(StartServiceW(service.get(), 0, nullptr)) << windows::errorText(GetLastError());
        auto running = waitForServiceState(service.get(), SERVICE_RUNNING);
        ASSERT_TRUE(running) << "the service did not report RUNNING";
        EXPECT_EQ(running->dwControlsAccepted & SERVICE_ACCEPT_STOP,
                  static_cast<DWORD>(SERVICE_ACCEPT_STOP));
        SERVICE_STATUS ignored{};
        ASSERT_TRUE(ControlService(service.get(), SERVICE_CONTROL_STOP, &ignored));
        auto stopped = waitForServiceState(service.get(), SERVICE_STOPPED);
        ASSERT_TRUE(stopped) << "the stop control did not stop the service";
        EXPECT_EQ(stopped->dwWin32ExitCode, static_cast<DWORD>(NO_ERROR));
    }

    uninstallService();
    try {
        uninstallService();
        ADD_FAILURE() << "uninstalled twice";
    } catch (const std::runtime_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("is not installed"));
    }
}

// A body that returns an error is reported as the service's own exit code, which is what
// makes the SCM apply its restart-on-failure actions.
TEST(WindowsService, AnErrorExitIsReportedAsAServiceSpecificCode) {
    TempDir dir;
    std::filesystem::path exe = dir.path() / L"opampsupervisor.exe";
    std::filesystem::copy_file(testChild(), exe);
    installService({exe, {"service", "3"}});
    {
        ScmHandle manager(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
        ScmHandle service(OpenServiceW(manager.get(), widen(kServiceName).c_str(),
                                       SERVICE_START | SERVICE_STOP | SERVICE_QUERY_STATUS));
        ASSERT_NE(service.get(), nullptr);
        ASSERT_TRUE(StartServiceW(service.get(), 0, nullptr));
        ASSERT_TRUE(waitForServiceState(service.get(), SERVICE_RUNNING));
        SERVICE_STATUS ignored{};
        ASSERT_TRUE(ControlService(service.get(), SERVICE_CONTROL_STOP, &ignored));
        auto stopped = waitForServiceState(service.get(), SERVICE_STOPPED);
        ASSERT_TRUE(stopped);
        EXPECT_EQ(stopped->dwWin32ExitCode, static_cast<DWORD>(ERROR_SERVICE_SPECIFIC_ERROR));
        EXPECT_EQ(stopped->dwServiceSpecificExitCode, 3U);
    }
    uninstallService();
}

}  // namespace
}  // namespace opampsup::platform
