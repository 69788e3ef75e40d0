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

// What the assembler made of one frame: "" while incomplete, the payload, or the error.
// A frame of a message: the first is binary, the ones after it continuation frames.
std::string fed(WsMessageAssembler& assembler, std::string_view frame, bool fin,
                bool continuation = false) {
    auto result = assembler.add(frame, continuation, fin);
    if (std::holds_alternative<WsMessageAssembler::Incomplete>(result)) {
        return "";
    }
    if (auto* error = std::get_if<WsFramingError>(&result)) {
        return std::string(error->tooBig ? "too big: " : "error: ") + error->reason;
    }
    return std::string(std::get<WsMessage>(result).payload);
}

TEST(WsMessageAssembler, ReadsAOneFrameMessageWhereItLies) {
    WsMessageAssembler assembler;
    const std::string frame = frameWsMessage("abc");
    auto result = assembler.add(frame, false, true);
    ASSERT_TRUE(std::holds_alternative<WsMessage>(result));
    auto payload = std::get<WsMessage>(result).payload;
    EXPECT_EQ(payload, "abc");
    EXPECT_EQ(payload.data(), frame.data() + 1);  // not copied
}

TEST(WsMessageAssembler, GathersFragmentsThenStartsAfresh) {
    WsMessageAssembler assembler;
    const std::string whole = frameWsMessage("first message");
    EXPECT_EQ(fed(assembler, whole.substr(0, 1), false), "");  // the header alone
    EXPECT_EQ(fed(assembler, whole.substr(1, 5), false, true), "");
    EXPECT_EQ(fed(assembler, whole.substr(6), true, true), "first message");
    // Nothing of the first message leaks into the next, fragmented or not.
    EXPECT_EQ(fed(assembler, frameWsMessage("second"), true), "second");
    const std::string third = frameWsMessage("third");
    EXPECT_EQ(fed(assembler, third.substr(0, 3), false), "");
    EXPECT_EQ(fed(assembler, third.substr(3), true, true), "third");
}

TEST(WsMessageAssembler, GivesBackALargeMessagesBufferOnceUsed) {
    WsMessageAssembler assembler;
    const std::string big = frameWsMessage(std::string(3U << 20, 'b'));
    EXPECT_EQ(fed(assembler, big.substr(0, 1000), false), "");
    EXPECT_EQ(fed(assembler, big.substr(1000), true, true).size(), 3U << 20);
    EXPECT_GE(assembler.retainedBytes(), 3U << 20);  // the payload still points into it
    assembler.release();
    EXPECT_LE(assembler.retainedBytes(), kKeptBufferBytes);
}

TEST(WsMessageAssembler, RefusesAFragmentedMessageOnceItPassesTheLimit) {
    WsMessageAssembler assembler(100);
    const std::string header("\0", 1);
    EXPECT_EQ(fed(assembler, header + std::string(60, 'x'), false), "");
    // 161 bytes gathered would exceed 100 plus the largest header: refused before the
    // final fragment arrives.
    EXPECT_EQ(fed(assembler, std::string(60, 'x'), false, true).rfind("too big: ", 0), 0U);
}

TEST(WsMessageAssembler, FramesOutOfOrderAreErrors) {
    WsMessageAssembler assembler;
    EXPECT_EQ(fed(assembler, frameWsMessage("x"), true, true),
              "error: a continuation frame with no message to continue");
    EXPECT_EQ(fed(assembler, std::string("\0", 1), false), "");
    EXPECT_EQ(fed(assembler, frameWsMessage("y"), true),
              "error: a new message began before the last one ended");
    // An empty first fragment still begins a message.
    WsMessageAssembler other;
    EXPECT_EQ(fed(other, "", false), "");
    EXPECT_EQ(fed(other, frameWsMessage("z"), true, true), "z");
}

TEST(WsMessageAssembler, SizeAndHeaderErrorsSayWhichTheyAre) {
    WsMessageAssembler assembler(4);
    EXPECT_EQ(fed(assembler, frameWsMessage("12345"), true).rfind("too big: ", 0), 0U);
    EXPECT_EQ(fed(assembler,
                  std::string("\x01"
                              "ab",
                              3),
                  true)
                  .rfind("error: unsupported", 0),
              0U);
    EXPECT_EQ(fed(assembler, "", true).rfind("error: empty", 0), 0U);
}

}  // namespace
}  // namespace opampsup::opamp
