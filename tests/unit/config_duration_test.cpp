#include <stdexcept>

#include <gtest/gtest.h>

#include "core/config/Duration.h"

namespace opampsup::config {
namespace {

using namespace std::chrono_literals;

TEST(GoDuration, ParsesSingleUnits) {
    EXPECT_EQ(parseGoDuration("250ms"), 250ms);
    EXPECT_EQ(parseGoDuration("5s"), 5s);
    EXPECT_EQ(parseGoDuration("2m"), 2min);
    EXPECT_EQ(parseGoDuration("1h"), 1h);
    EXPECT_EQ(parseGoDuration("10us"), 10us);
    EXPECT_EQ(parseGoDuration("10\xC2\xB5s"), 10us);
    EXPECT_EQ(parseGoDuration("10\xCE\xBCs"), 10us);
    EXPECT_EQ(parseGoDuration("7ns"), 7ns);
}

TEST(GoDuration, ParsesCompoundsFractionsAndSigns) {
    EXPECT_EQ(parseGoDuration("1m30s"), 90s);
    EXPECT_EQ(parseGoDuration("1h2m3s4ms"), 1h + 2min + 3s + 4ms);
    EXPECT_EQ(parseGoDuration("1.5h"), 90min);
    EXPECT_EQ(parseGoDuration(".5s"), 500ms);
    EXPECT_EQ(parseGoDuration("1.s"), 1s);
    EXPECT_EQ(parseGoDuration("-5s"), -5s);
    EXPECT_EQ(parseGoDuration("+5s"), 5s);
    EXPECT_EQ(parseGoDuration("0"), 0s);
    EXPECT_EQ(parseGoDuration("-0"), 0s);
}

void expectError(const char* text, const std::string& fragment) {
    try {
        parseGoDuration(text);
        FAIL() << "expected an error for \"" << text << "\"";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
            << "message was: " << e.what();
    }
}

TEST(GoDuration, RejectsBadInputWithReasons) {
    expectError("5", "missing unit");
    expectError("5x", "unknown unit \"x\"");
    expectError("", "empty value");
    expectError("s", "expected a number");
    expectError("1m30", "missing unit");
    expectError("5 s", "unknown unit \" s\"");
    expectError("9999999999h", "out of range");
    expectError("abc", "expected a number");
}

TEST(GoDuration, FormatsLikeGo) {
    EXPECT_EQ(formatGoDuration(0s), "0s");
    EXPECT_EQ(formatGoDuration(90s), "1m30s");
    EXPECT_EQ(formatGoDuration(250ms), "250ms");
    EXPECT_EQ(formatGoDuration(1500ms), "1.5s");
    EXPECT_EQ(formatGoDuration(2h), "2h0m0s");
    EXPECT_EQ(formatGoDuration(-5s), "-5s");
    EXPECT_EQ(formatGoDuration(7ns), "7ns");
    EXPECT_EQ(formatGoDuration(1500us), "1.5ms");
    EXPECT_EQ(formatGoDuration(10us), "10\xC2\xB5s");
}

TEST(GoDuration, RoundTrips) {
    for (const char* text : {"1m30s", "250ms", "1h0m0s", "3.25s", "42ns"}) {
        EXPECT_EQ(formatGoDuration(parseGoDuration(text)), text);
    }
}

}  // namespace
}  // namespace opampsup::config
