// The OS's stop requests reach the callback on its own thread, and a closed pipe no longer
// kills the process.

#include "platform/shutdown.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "support/Waiter.h"

namespace opampsup::platform {
namespace {

TEST(ShutdownWatcher, DeliversSigtermSigintAndSighupToTheCallback) {
    testing::Waiter<std::string> requests;
    ShutdownWatcher watcher([&](const std::string& request) { requests.push(request); });
    ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
    EXPECT_EQ(requests.pop(), std::optional<std::string>("SIGTERM"));
    ASSERT_EQ(::kill(::getpid(), SIGINT), 0);
    EXPECT_EQ(requests.pop(), std::optional<std::string>("SIGINT"));
    ASSERT_EQ(::kill(::getpid(), SIGHUP), 0);  // without the watcher, the test would die
    EXPECT_EQ(requests.pop(), std::optional<std::string>("SIGHUP"));
}

TEST(ShutdownWatcher, AClosedPipeIsAnErrorNotADeath) {
    ShutdownWatcher watcher([](const std::string&) {});
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    ::close(fds[0]);
    char byte = 1;
    EXPECT_EQ(::write(fds[1], &byte, 1), -1);  // EPIPE instead of SIGPIPE
    ::close(fds[1]);
}

}  // namespace
}  // namespace opampsup::platform
