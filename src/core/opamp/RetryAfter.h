#pragma once

// The HTTP Retry-After header (RFC 9110 10.2.3): either delay-seconds or an HTTP-date.

#include <chrono>
#include <optional>
#include <string_view>

namespace opampsup::opamp {

// How long to wait, measured from `now`; nullopt when the value is neither form. A date in
// the past means "now" (zero).
std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

}  // namespace opampsup::opamp
