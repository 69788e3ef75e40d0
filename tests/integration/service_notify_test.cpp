// systemd's notify protocol, spoken to a socket the test owns: READY, STATUS, STOPPING and
// WATCHDOG datagrams as systemd reads them, and silence without NOTIFY_SOCKET.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include "platform/service.h"
#include "support/NotifySocket.h"
#include "support/TempDir.h"

namespace opampsup::platform {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// Sets the variables for one test and takes them away after it.
class Environment {
  public:
    explicit Environment(std::vector<std::pair<std::string, std::string>> variables)
        : variables_(std::move(variables)) {
        for (const auto& [name, value] : variables_) {
            ::setenv(name.c_str(), value.c_str(), 1);
        }
    }
    ~Environment() {
        for (const auto& [name, value] : variables_) {
            ::unsetenv(name.c_str());
        }
    }

  private:
    std::vector<std::pair<std::string, std::string>> variables_;
};

auto startsWith(const std::string& prefix) {
    return [prefix](const std::string& m) { return m.rfind(prefix, 0) == 0; };
}

class ServiceNotify : public ::testing::TestWithParam<bool> {};

TEST_P(ServiceNotify, SpeaksTheNotifyProtocol) {
    testing::TempDir dir;
    testing::NotifySocket systemd(dir.path(), GetParam());
    Environment env({{"NOTIFY_SOCKET", systemd.address()}});
    ServiceNotifier notifier;
    ASSERT_TRUE(notifier.listening());
    EXPECT_FALSE(notifier.watchdogInterval().has_value());

    notifier.ready("Collector running (pid 7)\nsecond line");
    auto ready = systemd.waitFor(startsWith("READY=1"), 5s);
    ASSERT_TRUE(ready);
    EXPECT_EQ(*ready, "READY=1\nSTATUS=Collector running (pid 7) second line\nMAINPID=" +
                          std::to_string(::getpid()));
    notifier.status("OpAMP server connected");
    EXPECT_EQ(systemd.waitFor(startsWith("STATUS="), 5s),
              std::optional<std::string>("STATUS=OpAMP server connected"));
    notifier.stopping("Stopping");
    EXPECT_EQ(systemd.waitFor(startsWith("STOPPING=1"), 5s),
              std::optional<std::string>("STOPPING=1\nSTATUS=Stopping"));
}

INSTANTIATE_TEST_SUITE_P(PathAndAbstract, ServiceNotify, ::testing::Bool(),
                         [](const auto& p) { return p.param ? "Abstract" : "Path"; });

TEST(ServiceNotifyWatchdog, ReadsTheIntervalMeantForThisProcessOnly) {
    testing::TempDir dir;
    testing::NotifySocket systemd(dir.path());
    {
        Environment env({{"NOTIFY_SOCKET", systemd.address()},
                         {"WATCHDOG_USEC", "3000000"},
                         {"WATCHDOG_PID", std::to_string(::getpid())}});
        ServiceNotifier notifier;
        EXPECT_EQ(notifier.watchdogInterval(), std::optional<std::chrono::microseconds>(3s));
        notifier.watchdog();
        EXPECT_EQ(systemd.waitFor(startsWith("WATCHDOG"), 5s),
                  std::optional<std::string>("WATCHDOG=1"));
    }
    {
        // Inherited from a parent that is the one watched.
        Environment env({{"NOTIFY_SOCKET", systemd.address()},
                         {"WATCHDOG_USEC", "3000000"},
                         {"WATCHDOG_PID", std::to_string(::getppid())}});
        EXPECT_FALSE(ServiceNotifier().watchdogInterval().has_value());
    }
    {
        Environment env({{"NOTIFY_SOCKET", systemd.address()}, {"WATCHDOG_USEC", "soon"}});
        EXPECT_FALSE(ServiceNotifier().watchdogInterval().has_value());
    }
}

// Without the variable, or with one systemd would never set (a relative path), the
// notifier stays silent rather than guessing.
TEST(ServiceNotifyOff, WithoutAUsableSocketNothingListens) {
    ::unsetenv("NOTIFY_SOCKET");
    EXPECT_FALSE(ServiceNotifier().listening());
    for (const char* bad : {"notify.sock", "", "@"}) {
        Environment env({{"NOTIFY_SOCKET", std::string(bad)}});
        ServiceNotifier notifier;
        EXPECT_FALSE(notifier.listening()) << bad;
        notifier.ready("x");  // and says nothing, harmlessly
    }
}

TEST(ServiceHost, OutsideAServiceManagerTheBodyRunsDirectly) {
    EXPECT_EQ(runUnderServiceManager([] { return 7; }), 7);
}

TEST(ServiceInstall, OnLinuxItPointsToThePackages) {
    try {
        installService({"/usr/bin/opampsupervisor", {"--config", "/etc/x.yaml"}});
        FAIL() << "expected an explanation";
    } catch (const std::runtime_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("systemd unit opampsupervisor.service"));
    }
}

}  // namespace
}  // namespace opampsup::platform
