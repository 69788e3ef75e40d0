#include <gtest/gtest.h>

#include "core/opamp/WsFraming.h"

namespace opampsup::opamp {
namespace {

std::string payloadOf(std::string_view message, std::size_t max = kMaxMessageBytes) {
    auto result = unframeWsMessage(message, max);
    if (auto* error = std::get_if<WsFramingError>(&result)) {
        return "error: " + error->reason;
    }
    return std::string(std::get<WsMessage>(result).payload);
}

TEST(WsFraming, PrefixesHeaderZero) {
    EXPECT_EQ(frameWsMessage("abc"), std::string("\0abc", 4));
    EXPECT_EQ(frameWsMessage(""), std::string("\0", 1));
}

TEST(WsFraming, RoundTrip) {
    std::string payload("\x08\x01\x10\x02", 4);
    EXPECT_EQ(payloadOf(frameWsMessage(payload)), payload);
    EXPECT_EQ(payloadOf(std::string("\0", 1)), "");  // an empty protobuf message is valid
}

TEST(WsFraming, AcceptsANonMinimalZeroVarint) {
    // 0x80 0x00 is a two-byte encoding of 0: still header 0.
    EXPECT_EQ(payloadOf(std::string("\x80\x00xyz", 5)), "xyz");
}

TEST(WsFraming, RejectsWhatItDoesNotUnderstand) {
    EXPECT_EQ(payloadOf(""), "error: empty WebSocket message (no OpAMP header)");
    EXPECT_EQ(payloadOf("\x01payload"),
              "error: unsupported OpAMP message header 1 (only 0 is defined)");
    EXPECT_EQ(payloadOf("\x96\x01"),
              "error: unsupported OpAMP message header 150 (only 0 is defined)");
    EXPECT_EQ(payloadOf("\x80"), "error: truncated OpAMP message header");
    EXPECT_EQ(payloadOf(std::string(11, '\x80') + "x"),
              "error: OpAMP message header is longer than a 64-bit varint");
    EXPECT_EQ(payloadOf(frameWsMessage("12345"), 4),
              "error: OpAMP message of 5 bytes exceeds the limit of 4");
    EXPECT_EQ(payloadOf(frameWsMessage("1234"), 4), "1234");
}

}  // namespace
}  // namespace opampsup::opamp
