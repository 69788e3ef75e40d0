#pragma once

// Durations written as Go's time.ParseDuration reads them ("250ms", "5s", "1m30s", "1.5h"),
// so a config written for the Go supervisor keeps its meaning.

#include <chrono>
#include <string>
#include <string_view>

namespace opampsup::config {

// Parses a Go duration. Throws std::invalid_argument with a message that says what is wrong.
std::chrono::nanoseconds parseGoDuration(std::string_view text);

// Formats a duration the way Go's Duration.String() does ("1m30s", "250ms", "0s").
std::string formatGoDuration(std::chrono::nanoseconds value);

}  // namespace opampsup::config
