#include <gtest/gtest.h>

#include "core/agent/CrashPolicy.h"

namespace opampsup::agent {
namespace {

using namespace std::chrono_literals;
using Clock = CrashPolicy::Clock;

CrashPolicy::Options options() {
    CrashPolicy::Options o;
    o.initial = 1s;
    o.max = 8s;
    o.multiplier = 2.0;
    o.resetAfter = 30s;
    return o;
}

TEST(CrashPolicy, GrowsExponentiallyUpToTheCap) {
    double jitter = 0.999999;  // the top of each step
    CrashPolicy policy(options(), [&] { return jitter; });
    Clock::time_point t{};
    std::vector<std::int64_t> delays;
    for (int i = 0; i < 6; ++i) {
        policy.started(t);
        t += 1s;  // each run short-lived
        delays.push_back(policy.crashed(t).delay.count());
    }
    EXPECT_EQ(delays, (std::vector<std::int64_t>{999, 1999, 3999, 7999, 7999, 7999}));
    EXPECT_EQ(policy.consecutiveFailures(), 6);
}

TEST(CrashPolicy, JitterStaysBetweenHalfAndAllOfTheStep) {
    for (double jitter : {0.0, 0.5}) {
        CrashPolicy policy(options(), [&] { return jitter; });
        policy.started(Clock::time_point{});
        auto first = policy.crashed(Clock::time_point{} + 1s);
        EXPECT_EQ(first.delay, jitter == 0.0 ? 500ms : 750ms);
        EXPECT_EQ(first.attempt, 1);
    }
}

TEST(CrashPolicy, ALongRunResetsTheCount) {
    CrashPolicy policy(options(), [] { return 0.0; });
    Clock::time_point t{};
    for (int i = 0; i < 3; ++i) {
        policy.started(t);
        t += 1s;
        policy.crashed(t);
    }
    ASSERT_EQ(policy.consecutiveFailures(), 3);
    policy.started(t);
    t += 30s;  // stable for resetAfter
    auto decision = policy.crashed(t);
    EXPECT_EQ(decision.attempt, 1);
    EXPECT_EQ(decision.delay, 500ms);
}

TEST(CrashPolicy, ResetStartsAfresh) {
    CrashPolicy policy(options(), [] { return 0.0; });
    policy.started(Clock::time_point{});
    policy.crashed(Clock::time_point{} + 1s);
    policy.reset();
    policy.started(Clock::time_point{} + 2s);
    EXPECT_EQ(policy.crashed(Clock::time_point{} + 3s).attempt, 1);
}

TEST(CrashPolicy, DescribesTheDecision) {
    EXPECT_EQ(CrashPolicy::describe({4000ms, 3}), "restarting in 4 s, attempt 3");
    EXPECT_EQ(CrashPolicy::describe({250ms, 1}), "restarting in 250 ms, attempt 1");
}

}  // namespace
}  // namespace opampsup::agent
