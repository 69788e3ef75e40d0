#pragma once

// Bytes as lower-case hex, as config hashes, launch secrets and unparseable UIDs are shown.

#include <string>
#include <string_view>

namespace opampsup::opamp {

std::string hex(std::string_view bytes);

}  // namespace opampsup::opamp
