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

// The bytes of one WebSocket message carrying `payload` (a serialized protobuf message).
std::string frameWsMessage(std::string_view payload);

struct WsMessage {
    std::string_view payload;  // points into the decoded buffer
};

struct WsFramingError {
    std::string reason;
};

// Splits a received WebSocket message into header and payload. Errors: an empty message,
// a truncated or over-long varint, a header other than 0, a payload over `maxBytes`.
std::variant<WsMessage, WsFramingError> unframeWsMessage(std::string_view message,
                                                         std::size_t maxBytes = kMaxMessageBytes);

}  // namespace opampsup::opamp
