// The collector lifecycle with a fake launcher and a manual scheduler: every decision is
// checked without processes or waiting.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/agent/Commander.h"
#include "support/ManualScheduler.h"

namespace opampsup::agent {
namespace {

using namespace std::chrono_literals;

struct FakeProcess : RunningCollector {
    explicit FakeProcess(long processId) : id(processId) {}
    long pid() const override { return id; }
    void requestStop() override { ++stopRequests; }
    void kill() override { ++kills; }
    void requestReload() override { ++reloads; }
    long id;
    int stopRequests = 0;
    int kills = 0;
    int reloads = 0;
};

struct FakeLauncher : Launcher {
    std::unique_ptr<RunningCollector> launch(const LaunchSpec& spec,
                                             LaunchCallbacks callbacks) override {
        specs.push_back(spec);
        if (failNext) {
            failNext = false;
            throw std::runtime_error("cannot start /x/otelcol: No such file or directory");
        }
        exited = callbacks.exited;
        auto process = std::make_unique<FakeProcess>(100 + static_cast<long>(specs.size()));
        current = process.get();
        return process;
    }
    std::vector<LaunchSpec> specs;
    std::function<void(ExitStatus)> exited;
    FakeProcess* current = nullptr;
    bool failNext = false;
};

class CommanderTest : public ::testing::Test {
  protected:
    CommanderTest() {
        CrashPolicy::Options options;
        options.initial = 1s;
        options.max = 8s;
        options.resetAfter = 60s;
        Commander::Events events;
        events.started = [this](long pid) { log.push_back("started " + std::to_string(pid)); };
        events.startFailed = [this](const std::string& reason, CrashPolicy::Decision d) {
            log.push_back("start failed: " + reason + "; " + CrashPolicy::describe(d));
        };
        events.crashed = [this](const ExitStatus& s, CrashPolicy::Decision d) {
            log.push_back("crashed: " + s.describe() + "; " + CrashPolicy::describe(d));
        };
        events.stopped = [this](const ExitStatus& s) { log.push_back("stopped: " + s.describe()); };
        telemetry::LoggerOptions quiet;
        quiet.level = telemetry::LogLevel::Error;
        commander = std::make_unique<Commander>(
            scheduler, launcher, CrashPolicy(options, [] { return 0.999; }), 10s, events,
            telemetry::Logger::create(quiet), [this] { return now; });
    }

    LaunchSpec spec(const std::string& config) {
        LaunchSpec s;
        s.executable = "/x/otelcol";
        s.args = {"--config", config};
        return s;
    }

    void exit(int code) {
        ExitStatus status;
        status.code = code;
        launcher.exited(status);
        scheduler.runPosted();
    }

    testing::ManualScheduler scheduler;
    FakeLauncher launcher;
    CrashPolicy::Clock::time_point now{};
    std::vector<std::string> log;
    std::unique_ptr<Commander> commander;
};

TEST_F(CommanderTest, ACrashIsRestartedAfterTheBackoff) {
    commander->start(spec("a.yaml"));
    ASSERT_TRUE(commander->running());
    now += 2s;
    exit(3);
    EXPECT_FALSE(commander->running());
    EXPECT_EQ(log.back(), "crashed: exit code 3; restarting in 999 ms, attempt 1");
    ASSERT_EQ(scheduler.timerCount(), 1U);
    EXPECT_EQ(scheduler.nextDelay(), std::optional<CrashPolicy::Clock::duration>(999ms));
    scheduler.fireNext();
    EXPECT_TRUE(commander->running());
    EXPECT_EQ(launcher.specs.size(), 2U);

    now += 1s;
    exit(3);
    EXPECT_EQ(log.back(), "crashed: exit code 3; restarting in 2 s, attempt 2");
}

TEST_F(CommanderTest, StopAsksPolitelyAndDoesNotRestart) {
    commander->start(spec("a.yaml"));
    bool done = false;
    commander->stop([&] { done = true; });
    EXPECT_EQ(launcher.current->stopRequests, 1);
    EXPECT_FALSE(done);
    exit(0);
    EXPECT_TRUE(done);
    EXPECT_EQ(log.back(), "stopped: exit code 0");
    EXPECT_EQ(scheduler.timerCount(), 0U);  // neither a kill nor a restart is pending
}

TEST_F(CommanderTest, KillsACollectorThatIgnoresTheStopRequest) {
    commander->start(spec("a.yaml"));
    commander->stop();
    ASSERT_EQ(scheduler.nextDelay(), std::optional<CrashPolicy::Clock::duration>(10s));
    FakeProcess* process = launcher.current;
    scheduler.fireNext();
    EXPECT_EQ(process->kills, 1);
    ExitStatus killed;
    killed.signaled = true;
    killed.signal = 9;
    killed.signalName = "SIGKILL";
    launcher.exited(killed);
    scheduler.runPosted();
    EXPECT_EQ(log.back(), "stopped: killed by signal 9 (SIGKILL)");
}

TEST_F(CommanderTest, AStartFailureIsReportedAndRetried) {
    launcher.failNext = true;
    commander->start(spec("a.yaml"));
    EXPECT_FALSE(commander->running());
    ASSERT_FALSE(log.empty());
    EXPECT_THAT(log.back(), ::testing::HasSubstr("start failed: cannot start /x/otelcol"));
    ASSERT_EQ(scheduler.timerCount(), 1U);
    scheduler.fireNext();
    EXPECT_TRUE(commander->running());
}

TEST_F(CommanderTest, RestartStopsThenStartsWithTheNewSpec) {
    commander->start(spec("a.yaml"));
    commander->restart(spec("b.yaml"));
    EXPECT_EQ(launcher.current->stopRequests, 1);
    exit(0);
    ASSERT_EQ(launcher.specs.size(), 2U);
    EXPECT_EQ(launcher.specs[1].args[1], "b.yaml");
    EXPECT_TRUE(commander->running());
}

TEST_F(CommanderTest, AStopDuringARestartWins) {
    commander->start(spec("a.yaml"));
    commander->restart(spec("b.yaml"));
    bool stopped = false;
    commander->stop([&] { stopped = true; });
    exit(0);
    EXPECT_TRUE(stopped);
    EXPECT_EQ(launcher.specs.size(), 1U) << "the restart started a collector after the stop";
    EXPECT_FALSE(commander->running());
}

// A restart asked while a stop is under way, whose callback starts the collector itself
// (the supervisor after a new instance UID): one collector, not two.
TEST_F(CommanderTest, AStopCallbackThatStartsAndAPendingRestartLaunchOnce) {
    commander->start(spec("a.yaml"));
    commander->stop([&] { commander->start(spec("c.yaml")); });
    commander->restart(spec("b.yaml"));
    exit(0);
    ASSERT_EQ(launcher.specs.size(), 2U) << "a second collector was launched over the first";
    EXPECT_TRUE(commander->running());
}

TEST_F(CommanderTest, ReloadSignalsTheRunningCollectorOnly) {
    EXPECT_FALSE(commander->reload());  // none runs
    commander->start(spec("a.yaml"));
    EXPECT_TRUE(commander->reload());
    EXPECT_EQ(launcher.current->reloads, 1);
    EXPECT_EQ(launcher.specs.size(), 1U);
    commander->stop();
    EXPECT_FALSE(commander->reload());  // it is stopping
    EXPECT_EQ(launcher.current->reloads, 1);
}

TEST_F(CommanderTest, AnOldProcessExitIsIgnored) {
    commander->start(spec("a.yaml"));
    auto oldExit = launcher.exited;
    commander->restart(spec("b.yaml"));
    exit(0);  // the first process stops; the second starts
    ASSERT_TRUE(commander->running());
    ExitStatus late;
    late.code = 1;
    oldExit(late);  // a duplicate notice about the first process
    scheduler.runPosted();
    EXPECT_TRUE(commander->running());
    EXPECT_EQ(log.back(), "started 102");
}

TEST_F(CommanderTest, StopCancelsAPendingRestart) {
    commander->start(spec("a.yaml"));
    exit(1);
    ASSERT_EQ(scheduler.timerCount(), 1U);
    bool done = false;
    commander->stop([&] { done = true; });
    EXPECT_TRUE(done);
    EXPECT_EQ(scheduler.timerCount(), 0U);
}

}  // namespace
}  // namespace opampsup::agent
