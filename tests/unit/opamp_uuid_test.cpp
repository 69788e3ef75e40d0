#include <set>

#include <gtest/gtest.h>

#include "core/opamp/Uuid.h"

namespace opampsup::opamp {
namespace {

TEST(Uuid, V7LayoutFollowsRfc9562) {
    // 2026-11-22T18:30:16.042Z
    const auto now =
        std::chrono::system_clock::time_point{std::chrono::milliseconds{1795372216042}};
    Uuid id = Uuid::generateV7(now, [](std::uint8_t* out, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            out[i] = 0xFF;
        }
    });
    const std::uint64_t millis = 1795372216042ULL;
    for (std::size_t i = 0; i < 6; ++i) {
        EXPECT_EQ(id.bytes()[i], static_cast<std::uint8_t>((millis >> (8 * (5 - i))) & 0xFF)) << i;
    }
    EXPECT_EQ(id.version(), 7);
    EXPECT_EQ(id.bytes()[6], 0x7F);  // version nibble, then random
    EXPECT_EQ(id.bytes()[8], 0xBF);  // variant bits 10, then random
    EXPECT_EQ(id.bytes()[15], 0xFF);
}

TEST(Uuid, GeneratedIdsAreUniqueAndOrderedByTime) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        ASSERT_TRUE(seen.insert(Uuid::generateV7().toString()).second);
    }
    auto early = Uuid::generateV7(std::chrono::system_clock::time_point{std::chrono::hours{1}});
    auto late = Uuid::generateV7(std::chrono::system_clock::time_point{std::chrono::hours{2}});
    EXPECT_LT(early.toString(), late.toString());
}

TEST(Uuid, TextRoundTrip) {
    auto parsed = Uuid::parse("018FE0C4-1D4A-7B5E-9C3F-2A1B3C4D5E6F");
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->toString(), "018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f");
    EXPECT_EQ(parsed->bytes()[0], 0x01);
    EXPECT_EQ(parsed->bytes()[15], 0x6F);
    EXPECT_EQ(parsed->version(), 7);
}

TEST(Uuid, RejectsMalformedText) {
    for (const char* bad :
         {"", "018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6", "018fe0c4x1d4a-7b5e-9c3f-2a1b3c4d5e6f",
          "g18fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f", "018fe0c41d4a7b5e9c3f2a1b3c4d5e6f"}) {
        EXPECT_FALSE(Uuid::parse(bad).has_value()) << bad;
    }
}

TEST(Uuid, BytesRoundTrip) {
    Uuid id = Uuid::generateV7();
    std::string raw = id.toBytesString();
    ASSERT_EQ(raw.size(), 16U);
    EXPECT_EQ(Uuid::fromBytes(raw), id);
    EXPECT_FALSE(Uuid::fromBytes("short").has_value());
    EXPECT_TRUE(Uuid().isNil());
    EXPECT_FALSE(id.isNil());
}

}  // namespace
}  // namespace opampsup::opamp
