#pragma once

// OpAMP over WebSocket sends each protobuf message in one binary WebSocket message,
// preceded by a varint header that the spec currently fixes at 0. The header exists so
// later protocol versions can add framing options; a receiver must refuse values it does
// not know rather than guess.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace opampsup::opamp {

// The spec's recommended limit on one message, in either direction.
inline constexpr std::size_t kMaxMessageBytes = 64U * 1024U * 1024U;

// Receive buffers above this size are given back after each message: a large message (a
// big config) is rare, and its buffers should not stay allocated for the connection's life.
inline constexpr std::size_t kKeptBufferBytes = 1U << 20;

// The bytes of one WebSocket message carrying `payload` (a serialized protobuf message).
std::string frameWsMessage(std::string_view payload);

struct WsMessage {
    std::string_view payload;  // points into the decoded buffer
};

struct WsFramingError {
    std::string reason;
    bool tooBig = false;  // over the size limit (close code 1009) rather than malformed
};

// Splits a received WebSocket message into header and payload. Errors: an empty message,
// a truncated or over-long varint, a header other than 0, a payload over `maxBytes`.
std::variant<WsMessage, WsFramingError> unframeWsMessage(std::string_view message,
                                                         std::size_t maxBytes = kMaxMessageBytes);

// Turns the data frames of one WebSocket connection into OpAMP payloads. A message in one
// frame (the usual case) is unframed where it lies; a fragmented one is gathered first,
// and refused as soon as it passes `maxBytes`.
class WsMessageAssembler {
  public:
    // The message is not complete yet: read the next frame.
    struct Incomplete {};

    explicit WsMessageAssembler(std::size_t maxBytes = kMaxMessageBytes) : maxBytes_(maxBytes) {}

    // Takes one data frame: a binary frame begins a message, continuation frames carry the
    // rest, `fin` marks the last. A continuation with nothing to continue, or a new message
    // before the last one ended, is an error. A complete message's payload points into
    // `frame` or into the assembler, and stays valid until the next call to add().
    std::variant<Incomplete, WsMessage, WsFramingError> add(std::string_view frame,
                                                            bool continuation, bool fin);

    // Call once a complete message is used: a gathered message's buffer is given back
    // rather than held while the connection idles. add() does it too, if it was not called.
    void release();

    // Memory held for gathering between messages.
    std::size_t retainedBytes() const { return gathered_.capacity(); }

  private:
    std::size_t maxBytes_;
    std::string gathered_;
    bool inProgress_ = false;  // a message has begun and not ended
    bool delivered_ = false;   // gathered_ holds a message already handed out
};

}  // namespace opampsup::opamp
