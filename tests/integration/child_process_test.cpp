// The POSIX process backend with real processes (/bin/sh scripts).

#include "platform/child_process.h"

#include <fstream>

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/TempDir.h"
#include "support/Waiter.h"

namespace opampsup::platform {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class ChildProcessTest : public ::testing::Test {
  protected:
    std::unique_ptr<ChildProcess> shell(const std::string& script,
                                        std::map<std::string, std::optional<std::string>> env = {},
                                        std::optional<std::filesystem::path> cwd = {}) {
        ProcessOptions options;
        options.executable = "/bin/sh";
        options.args = {"-c", script};
        options.environment = std::move(env);
        options.workingDirectory = std::move(cwd);
        options.onOutput = [this](ProcessStream stream, std::string_view line) {
            lines_.push((stream == ProcessStream::Stdout ? "out: " : "err: ") + std::string(line));
        };
        options.onExit = [this](const ProcessExit& exit) { exits_.push(exit); };
        return ChildProcess::spawn(std::move(options));
    }

    std::vector<std::string> allLines() {
        std::vector<std::string> out;
        while (auto line = lines_.pop(200ms)) {
            out.push_back(*line);
        }
        return out;
    }

    testing::TempDir dir_;
    testing::Waiter<std::string> lines_;
    testing::Waiter<ProcessExit> exits_;
};

TEST_F(ChildProcessTest, ReportsTheExitCodeAndDeliversOutputLinesInOrder) {
    auto child = shell("echo one; echo two >&2; printf 'three'; exit 3");
    auto exit = exits_.pop();
    ASSERT_TRUE(exit);
    EXPECT_FALSE(exit->signaled);
    EXPECT_EQ(exit->code, 3);
    EXPECT_THAT(allLines(), ::testing::UnorderedElementsAre("out: one", "err: two", "out: three"));
    EXPECT_TRUE(child->exited());
}

TEST_F(ChildProcessTest, AMissingExecutableIsASpawnErrorNamingIt) {
    ProcessOptions options;
    options.executable = dir_.path() / "no-such-collector";
    try {
        ChildProcess::spawn(options);
        FAIL() << "spawned a missing executable";
    } catch (const std::runtime_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("cannot start " + options.executable.string()));
        EXPECT_THAT(e.what(), HasSubstr("No such file or directory"));
    }
    auto notExecutable = dir_.write("plain.txt", "x");
    options.executable = notExecutable;
    EXPECT_THROW(ChildProcess::spawn(options), std::runtime_error);
}

TEST_F(ChildProcessTest, TheServiceManagersVariablesStayWithTheSupervisor) {
    ::setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
    ::setenv("WATCHDOG_USEC", "60000000", 1);
    ::setenv("WATCHDOG_PID", "1", 1);
    auto child =
        shell("echo \"${NOTIFY_SOCKET-unset}|${WATCHDOG_USEC-unset}|${WATCHDOG_PID-unset}\"");
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
    ASSERT_TRUE(exits_.pop());
    EXPECT_THAT(allLines(), ::testing::ElementsAre("out: unset|unset|unset"));
}

TEST_F(ChildProcessTest, EnvironmentChangesAndWorkingDirectory) {
    ::setenv("OPAMPSUP_TEST_REMOVED", "still here", 1);
    auto child = shell("echo \"$OPAMPSUP_TEST_ADDED|${OPAMPSUP_TEST_REMOVED-unset}|$(pwd)\"",
                       {{"OPAMPSUP_TEST_ADDED", "added"}, {"OPAMPSUP_TEST_REMOVED", std::nullopt}},
                       dir_.path());
    ASSERT_TRUE(exits_.pop());
    auto lines = allLines();
    ASSERT_EQ(lines.size(), 1U);
    EXPECT_EQ(lines[0], "out: added|unset|" + std::filesystem::canonical(dir_.path()).string());
    ::unsetenv("OPAMPSUP_TEST_REMOVED");
}

TEST_F(ChildProcessTest, StopRequestIsSigterm) {
    auto child =
        shell("trap 'echo got TERM; exit 0' TERM; echo ready; while :; do sleep 0.05; done");
    ASSERT_EQ(lines_.pop(), std::optional<std::string>("out: ready"));
    child->requestStop();
    auto exit = exits_.pop();
    ASSERT_TRUE(exit);
    EXPECT_EQ(exit->code, 0);
    // The whole group gets SIGTERM, so the shell may also report its killed `sleep` on
    // stderr; stdout and stderr are read by different threads, in no fixed order.
    bool trapped = false;
    while (auto line = lines_.pop()) {
        if (*line == "out: got TERM") {
            trapped = true;
            break;
        }
    }
    EXPECT_TRUE(trapped);
}

TEST_F(ChildProcessTest, KillEndsAChildThatIgnoresTheStopRequestAndItsGroup) {
    auto child = shell("trap '' TERM; sleep 60 & echo \"grandchild $!\"; wait");
    auto line = lines_.pop();
    ASSERT_TRUE(line);
    pid_t grandchild = std::stoi(line->substr(line->find(' ', 5) + 1));
    child->requestStop();
    EXPECT_FALSE(exits_.pop(300ms).has_value()) << "TERM should have been ignored";
    child->kill();
    auto exit = exits_.pop();
    ASSERT_TRUE(exit);
    EXPECT_TRUE(exit->signaled);
    EXPECT_EQ(exit->signal, SIGKILL);
    EXPECT_EQ(exit->signalName, "SIGKILL");
    // The grandchild was in the group: it is gone too (or a zombie of init's).
    auto deadline = std::chrono::steady_clock::now() + 5s;
    bool gone = false;
    while (!gone && std::chrono::steady_clock::now() < deadline) {
        std::ifstream stat("/proc/" + std::to_string(grandchild) + "/stat");
        std::string content;
        std::getline(stat, content);
        gone = !stat || content.find(") Z") != std::string::npos;
        if (!gone) {
            std::this_thread::sleep_for(20ms);
        }
    }
    EXPECT_TRUE(gone) << "grandchild " << grandchild << " survived";
}

TEST_F(ChildProcessTest, TheChildInheritsNoStrayDescriptors) {
    // A descriptor the supervisor opened without close-on-exec must not leak.
    int opened = ::open("/dev/null", O_RDONLY);
    ASSERT_GE(opened, 0);
    int leaky = ::dup2(opened, 100);  // dup2 clears close-on-exec
    ::close(opened);
    ASSERT_EQ(leaky, 100);
    auto child = shell("ls /proc/self/fd");
    ASSERT_TRUE(exits_.pop());
    ::close(leaky);
    std::vector<std::string> fds;
    for (const auto& line : allLines()) {
        fds.push_back(line.substr(5));
    }
    // 0-2, plus the descriptor ls opens to read the directory.
    EXPECT_LE(fds.size(), 4U) << ::testing::PrintToString(fds);
    EXPECT_THAT(fds, ::testing::Not(::testing::Contains(std::to_string(leaky))));
}

TEST_F(ChildProcessTest, LongLinesArriveInPieces) {
    auto child = shell("head -c 150000 /dev/zero | tr '\\0' x; echo");
    ASSERT_TRUE(exits_.pop());
    auto lines = allLines();
    ASSERT_EQ(lines.size(), 3U);
    EXPECT_EQ(lines[0].size(), 5 + kMaxLineBytes);
}

// The supervisor dies by SIGKILL: its collector must not outlive it.
// Starts a child from a forked parent, SIGKILLs that parent, and expects the child gone.
void expectTheChildDiesWithItsParent(const std::optional<Account>& runAs) {
    int report[2];
    ASSERT_EQ(::pipe(report), 0);
    pid_t parent = ::fork();
    ASSERT_GE(parent, 0);
    if (parent == 0) {
        ::close(report[0]);
        ProcessOptions options;
        options.executable = "/bin/sleep";
        options.args = {"60"};
        options.runAs = runAs;
        auto child = ChildProcess::spawn(options);
        long pid = child->pid();
        [[maybe_unused]] ssize_t n = ::write(report[1], &pid, sizeof pid);
        ::pause();
        ::_exit(0);
    }
    ::close(report[1]);
    long sleeper = 0;
    ASSERT_EQ(::read(report[0], &sleeper, sizeof sleeper), static_cast<ssize_t>(sizeof sleeper));
    ::close(report[0]);
    ASSERT_EQ(::kill(parent, 0), 0);
    ::kill(parent, SIGKILL);
    ::waitpid(parent, nullptr, 0);
    auto deadline = std::chrono::steady_clock::now() + 5s;
    bool gone = false;
    while (!gone && std::chrono::steady_clock::now() < deadline) {
        std::ifstream stat("/proc/" + std::to_string(sleeper) + "/stat");
        std::string content;
        std::getline(stat, content);
        gone = !stat || content.find(") Z") != std::string::npos;
        if (!gone) {
            std::this_thread::sleep_for(20ms);
        }
    }
    EXPECT_TRUE(gone) << "the child outlived its SIGKILLed parent";
}

TEST_F(ChildProcessTest, TheChildDiesWithItsParent) {
    expectTheChildDiesWithItsParent(std::nullopt);
}

TEST(AccountLookup, FindsUsersAndGroupsByName) {
    Account root = lookUpAccount("root", "");
    EXPECT_EQ(root.uid, 0);
    EXPECT_EQ(root.gid, 0);
    EXPECT_EQ(root.group, "root");
    EXPECT_EQ(root.home, "/root");
    EXPECT_THAT(root.supplementaryGroups, ::testing::Contains(0L));
    Account nobody = lookUpAccount("nobody", "root");
    EXPECT_EQ(nobody.uid, 65534);
    EXPECT_EQ(nobody.gid, 0);
    EXPECT_EQ(nobody.group, "root");
}

TEST(AccountLookup, WhatDoesNotExistIsNamed) {
    EXPECT_THAT([] { lookUpAccount("no-such-user-here", ""); },
                ::testing::ThrowsMessage<std::runtime_error>(
                    HasSubstr("no such user \"no-such-user-here\"")));
    EXPECT_THAT([] { lookUpAccount("root", "no-such-group-here"); },
                ::testing::ThrowsMessage<std::runtime_error>(
                    HasSubstr("no such group \"no-such-group-here\"")));
}

// agent.run_as. Changing user needs root, as the service has; elsewhere these skip.
class RunAsTest : public ChildProcessTest {
  protected:
    void SetUp() override {
        if (::geteuid() != 0) {
            GTEST_SKIP() << "starting a child as another user needs root";
        }
        nobody_ = lookUpAccount("nobody", "");
    }

    std::unique_ptr<ChildProcess> shellAs(const std::string& script,
                                          std::map<std::string, std::optional<std::string>> env) {
        ProcessOptions options;
        options.executable = "/bin/sh";
        options.args = {"-c", script};
        options.environment = std::move(env);
        options.runAs = nobody_;
        options.onOutput = [this](ProcessStream, std::string_view line) {
            lines_.push(std::string(line));
        };
        options.onExit = [this](const ProcessExit& exit) { exits_.push(exit); };
        return ChildProcess::spawn(std::move(options));
    }

    Account nobody_;
};

TEST_F(RunAsTest, TheChildHasTheAccountsUserGroupsAndLoginVariablesOnly) {
    auto child = shellAs("echo \"$(id -u) $(id -g) $(id -G) $HOME $USER $LOGNAME\"", {});
    auto exit = exits_.pop(5s);
    ASSERT_TRUE(exit.has_value());
    EXPECT_EQ(exit->code, 0);
    auto line = lines_.pop(1s);
    ASSERT_TRUE(line.has_value());
    std::string groups;
    for (long group : nobody_.supplementaryGroups) {
        groups += " " + std::to_string(group);
    }
    // No trace of root's group 0 stays with the child.
    EXPECT_EQ(*line, std::to_string(nobody_.uid) + " " + std::to_string(nobody_.gid) + groups +
                         " " + nobody_.home + " nobody nobody");
    EXPECT_THAT(*line, ::testing::Not(HasSubstr(" 0 ")));
}

TEST_F(RunAsTest, VariablesTheConfigSetsWinOverTheLoginOnes) {
    auto child = shellAs("echo \"$HOME $USER\"", {{"HOME", "/var/lib/otelcol"}});
    ASSERT_TRUE(exits_.pop(5s).has_value());
    EXPECT_EQ(lines_.pop(1s), "/var/lib/otelcol nobody");
}

TEST_F(RunAsTest, AnExecutableTheAccountMayNotRunIsAnErrorNamingTheUser) {
    testing::TempDir dir;
    std::filesystem::copy_file("/bin/true", dir.path() / "private-true");
    std::filesystem::permissions(dir.path() / "private-true", std::filesystem::perms::owner_all);
    ProcessOptions options;
    options.executable = dir.path() / "private-true";
    options.runAs = nobody_;
    EXPECT_THAT([&] { ChildProcess::spawn(options); },
                ::testing::ThrowsMessage<std::runtime_error>(
                    HasSubstr("as user nobody: Permission denied")));
}

TEST_F(RunAsTest, TheChildStillDiesWithItsParent) {
    // Linux clears the parent-death signal when credentials change, so it is set after.
    expectTheChildDiesWithItsParent(nobody_);
}

}  // namespace
}  // namespace opampsup::platform
