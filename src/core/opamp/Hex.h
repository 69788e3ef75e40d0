#pragma once

// Bytes as lower-case hex, as config hashes, launch secrets and unparseable UIDs are shown
// (and as persistent_state.yaml keeps the last remote config hash).

#include <optional>
#include <string>
#include <string_view>

namespace opampsup::opamp {

std::string hex(std::string_view bytes);
// The value of one hex digit (either case); -1 for any other character.
int hexDigitValue(char c);

// The bytes of hex text (either case); nullopt when it is not an even run of hex digits.
std::optional<std::string> unhex(std::string_view text);

}  // namespace opampsup::opamp
