#include "core/opamp/WsFraming.h"

#include <cstdint>
#include <utility>

namespace opampsup::opamp {

std::string frameWsMessage(std::string_view payload) {
    std::string out;
    out.reserve(payload.size() + 1);
    out.push_back('\0');  // varint 0: the only header the spec defines
    out.append(payload);
    return out;
}

std::variant<WsMessage, WsFramingError> unframeWsMessage(std::string_view message,
                                                         std::size_t maxBytes) {
    if (message.empty()) {
        return WsFramingError{"empty WebSocket message (no OpAMP header)"};
    }
    std::uint64_t header = 0;
    std::size_t used = 0;
    for (int shift = 0;; shift += 7) {
        if (used >= message.size()) {
            return WsFramingError{"truncated OpAMP message header"};
        }
        if (shift > 63) {
            return WsFramingError{"OpAMP message header is longer than a 64-bit varint"};
        }
        auto byte = static_cast<std::uint8_t>(message[used++]);
        header |= static_cast<std::uint64_t>(byte & 0x7FU) << shift;
        if ((byte & 0x80U) == 0) {
            break;
        }
    }
    if (header != 0) {
        return WsFramingError{"unsupported OpAMP message header " + std::to_string(header) +
                              " (only 0 is defined)"};
    }
    std::string_view payload = message.substr(used);
    if (payload.size() > maxBytes) {
        return WsFramingError{"OpAMP message of " + std::to_string(payload.size()) +
                                  " bytes exceeds the limit of " + std::to_string(maxBytes),
                              true};
    }
    return WsMessage{payload};
}

void WsMessageAssembler::release() {
    delivered_ = false;
    gathered_.clear();
    if (gathered_.capacity() > kKeptBufferBytes) {
        std::string().swap(gathered_);
    }
}

namespace {

std::variant<WsMessageAssembler::Incomplete, WsMessage, WsFramingError> widen(
    std::variant<WsMessage, WsFramingError> unframed) {
    if (auto* error = std::get_if<WsFramingError>(&unframed)) {
        return std::move(*error);
    }
    return std::get<WsMessage>(unframed);
}

}  // namespace

std::variant<WsMessageAssembler::Incomplete, WsMessage, WsFramingError> WsMessageAssembler::add(
    std::string_view frame, bool continuation, bool fin) {
    if (delivered_) {
        release();
    }
    if (continuation != inProgress_) {
        std::string().swap(gathered_);
        inProgress_ = false;
        return WsFramingError{continuation ? "a continuation frame with no message to continue"
                                           : "a new message began before the last one ended"};
    }
    if (fin && !inProgress_) {
        return widen(unframeWsMessage(frame, maxBytes_));
    }
    // The header is at most 10 bytes, so anything longer than that plus the limit is refused
    // before it is buffered whole.
    if (gathered_.size() + frame.size() > maxBytes_ + 10) {
        std::string().swap(gathered_);
        inProgress_ = false;
        return WsFramingError{"a fragmented OpAMP message exceeds the limit of " +
                                  std::to_string(maxBytes_) + " bytes",
                              true};
    }
    gathered_.append(frame);
    if (!fin) {
        inProgress_ = true;
        return Incomplete{};
    }
    inProgress_ = false;
    delivered_ = true;
    return widen(unframeWsMessage(gathered_, maxBytes_));
}

}  // namespace opampsup::opamp
