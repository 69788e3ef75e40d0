#include "core/opamp/WsFraming.h"

#include <cstdint>

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
                              " bytes exceeds the limit of " + std::to_string(maxBytes)};
    }
    return WsMessage{payload};
}

}  // namespace opampsup::opamp
