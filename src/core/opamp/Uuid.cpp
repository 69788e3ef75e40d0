#include "core/opamp/Uuid.h"

#include <algorithm>
#include <random>

#include "core/opamp/Hex.h"

namespace opampsup::opamp {
namespace {

void osRandomBytes(std::uint8_t* out, std::size_t count) {
    // std::random_device reads the OS entropy source (getrandom/urandom, BCryptGenRandom).
    std::random_device device;
    for (std::size_t i = 0; i < count; ++i) {
        out[i] = static_cast<std::uint8_t>(device() & 0xFFU);
    }
}

}  // namespace

Uuid Uuid::generateV7(std::chrono::system_clock::time_point now,
                      const std::function<void(std::uint8_t*, std::size_t)>& randomBytes) {
    Bytes b{};
    auto millis = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
    for (int i = 0; i < 6; ++i) {
        b[static_cast<std::size_t>(i)] =
            static_cast<std::uint8_t>((millis >> (8 * (5 - i))) & 0xFFU);
    }
    if (randomBytes) {
        randomBytes(b.data() + 6, 10);
    } else {
        osRandomBytes(b.data() + 6, 10);
    }
    b[6] = static_cast<std::uint8_t>(0x70U | (b[6] & 0x0FU));  // version 7
    b[8] = static_cast<std::uint8_t>(0x80U | (b[8] & 0x3FU));  // variant 10
    return Uuid(b);
}

Uuid Uuid::generateV7() {
    return generateV7(std::chrono::system_clock::now());
}

std::optional<Uuid> Uuid::parse(std::string_view text) {
    if (text.size() != 36) {
        return std::nullopt;
    }
    Bytes b{};
    std::size_t out = 0;
    for (std::size_t i = 0; i < text.size();) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-') {
                return std::nullopt;
            }
            ++i;
            continue;
        }
        int hi = hexDigitValue(text[i]);
        int lo = hexDigitValue(text[i + 1]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        b[out++] = static_cast<std::uint8_t>((hi << 4) | lo);
        i += 2;
    }
    return Uuid(b);
}

std::optional<Uuid> Uuid::fromBytes(std::string_view bytes) {
    if (bytes.size() != 16) {
        return std::nullopt;
    }
    Bytes b{};
    std::transform(bytes.begin(), bytes.end(), b.begin(),
                   [](char c) { return static_cast<std::uint8_t>(c); });
    return Uuid(b);
}

std::string Uuid::toBytesString() const {
    return std::string(reinterpret_cast<const char*>(bytes_.data()), bytes_.size());
}

std::string Uuid::toString() const {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < bytes_.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out += '-';
        }
        out += kHex[bytes_[i] >> 4];
        out += kHex[bytes_[i] & 0x0FU];
    }
    return out;
}

bool Uuid::isNil() const {
    return std::all_of(bytes_.begin(), bytes_.end(), [](std::uint8_t v) { return v == 0; });
}

}  // namespace opampsup::opamp
