#include <chrono>

#include <gtest/gtest.h>

#include "core/opamp/Backoff.h"
#include "core/opamp/RetryAfter.h"

namespace opampsup::opamp {
namespace {

using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;

Backoff::Options options() {
    return {Ms{1000}, Ms{8000}, 2.0};
}

TEST(Backoff, CeilingDoublesUpToTheCap) {
    Backoff backoff(options(), [] { return 0.999999; });
    EXPECT_EQ(backoff.next(), Ms{999});
    EXPECT_EQ(backoff.next(), Ms{1999});
    EXPECT_EQ(backoff.next(), Ms{3999});
    EXPECT_EQ(backoff.next(), Ms{7999});
    EXPECT_EQ(backoff.next(), Ms{7999});  // capped at max
    EXPECT_EQ(backoff.currentCeiling(), Ms{8000});
    EXPECT_EQ(backoff.attempts(), 5U);
}

TEST(Backoff, FullJitterSpansZeroToCeiling) {
    double value = 0.0;
    Backoff backoff(options(), [&] { return value; });
    EXPECT_EQ(backoff.next(), Ms{0});
    value = 0.5;
    EXPECT_EQ(backoff.next(), Ms{1000});  // half of the 2 s ceiling
}

TEST(Backoff, ResetStartsOver) {
    Backoff backoff(options(), [] { return 0.5; });
    backoff.next();
    backoff.next();
    backoff.reset();
    EXPECT_EQ(backoff.currentCeiling(), Ms{1000});
    EXPECT_EQ(backoff.attempts(), 0U);
    EXPECT_EQ(backoff.next(), Ms{500});
}

TEST(Backoff, ServerHintIsNeverShortened) {
    Backoff backoff(options(), [] { return 0.5; });
    EXPECT_EQ(backoff.nextWithHint(Ms{30000}), Ms{30000});
    EXPECT_EQ(backoff.nextWithHint(Ms{10}), Ms{1000});  // jitter longer than the hint
}

TEST(Backoff, SystemRandomStaysInRange) {
    Backoff::UnitRandom random = systemUnitRandom();
    for (int i = 0; i < 1000; ++i) {
        double v = random();
        ASSERT_GE(v, 0.0);
        ASSERT_LT(v, 1.0);
    }
}

// 2026-11-22T18:30:16Z
const auto kNow = std::chrono::system_clock::time_point{std::chrono::seconds{1795372216}};

TEST(RetryAfter, DelaySeconds) {
    EXPECT_EQ(parseRetryAfter("120", kNow), Ms{120000});
    EXPECT_EQ(parseRetryAfter(" 0 ", kNow), Ms{0});
    EXPECT_EQ(parseRetryAfter("99999999999999999999999", kNow), Ms{24 * 3600 * 1000});
}

TEST(RetryAfter, HttpDate) {
    EXPECT_EQ(parseRetryAfter("Sun, 22 Nov 2026 18:31:16 GMT", kNow), Ms{60000});
    EXPECT_EQ(parseRetryAfter("Sun, 22 Nov 2026 18:00:00 GMT", kNow), Ms{0});       // in the past
    EXPECT_EQ(parseRetryAfter("Sunday, 22-Nov-26 18:30:46 GMT", kNow), Ms{30000});  // RFC 850
    EXPECT_EQ(parseRetryAfter("Sun Nov 22 18:30:26 2026", kNow), Ms{10000});        // asctime
}

TEST(RetryAfter, Garbage) {
    EXPECT_FALSE(parseRetryAfter("", kNow).has_value());
    EXPECT_FALSE(parseRetryAfter("soon", kNow).has_value());
    EXPECT_FALSE(parseRetryAfter("-5", kNow).has_value());
    EXPECT_FALSE(parseRetryAfter("1.5", kNow).has_value());
    EXPECT_FALSE(parseRetryAfter("2026-11-22T18:31:16Z", kNow).has_value());
    EXPECT_FALSE(parseRetryAfter("Sun, 31 Nov 2026 18:31:16 GMT", kNow).has_value());
    EXPECT_FALSE(parseRetryAfter("Sun, 22 Nov 2026 18:31:16 GMT trailing", kNow).has_value());
}

}  // namespace
}  // namespace opampsup::opamp
