#include "core/opamp/Hex.h"

namespace opampsup::opamp {

std::string hex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) {
        auto byte = static_cast<unsigned char>(c);
        out += kDigits[byte >> 4];
        out += kDigits[byte & 0xFU];
    }
    return out;
}

}  // namespace opampsup::opamp
