#pragma once

// 16-byte UUIDs for the agent's instance_uid: UUIDv7 generation (RFC 9562: Unix-millisecond
// timestamp, then random bits), and the canonical 8-4-4-4-12 text form.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace opampsup::opamp {

class Uuid {
  public:
    using Bytes = std::array<std::uint8_t, 16>;

    Uuid() = default;
    explicit Uuid(const Bytes& bytes) : bytes_(bytes) {}

    // A UUIDv7 for `now`, its random bits filled by `randomBytes` (the OS random source
    // when not given).
    static Uuid generateV7(std::chrono::system_clock::time_point now,
                           const std::function<void(std::uint8_t*, std::size_t)>& randomBytes = {});
    static Uuid generateV7();

    // Canonical text (any case); nullopt for anything else.
    static std::optional<Uuid> parse(std::string_view text);
    // Exactly 16 bytes, as instance_uid travels in OpAMP messages; nullopt otherwise.
    static std::optional<Uuid> fromBytes(std::string_view bytes);

    const Bytes& bytes() const { return bytes_; }
    std::string toBytesString() const;  // the 16 raw bytes, for protobuf `bytes` fields
    std::string toString() const;       // lower-case 8-4-4-4-12
    int version() const { return bytes_[6] >> 4; }
    bool isNil() const;

    friend bool operator==(const Uuid&, const Uuid&) = default;

  private:
    Bytes bytes_{};
};

}  // namespace opampsup::opamp
