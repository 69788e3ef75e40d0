#pragma once

// JSON text without a JSON library: quoting a string, for the log lines and the status
// endpoint, which write their own small objects.

#include <string>
#include <string_view>

namespace opampsup::telemetry {

// Appends `text` as a JSON string (quoted, escaped; bytes >= 0x80 pass through as UTF-8).
void appendJsonString(std::string& out, std::string_view text);

}  // namespace opampsup::telemetry
