#pragma once

// Keeps secrets out of logs: header values, URL passwords and anything whose key names a
// credential are replaced by kRedacted before a log line is written.

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace opampsup::telemetry {

inline constexpr std::string_view kRedacted = "[REDACTED]";

// True when a key or header name denotes a secret (authorization, cookie, token, password,
// secret, api key, private key, credential), compared without regard to case.
bool isSensitiveKey(std::string_view key);

// "https://user:pass@host/x" -> "https://user:[REDACTED]@host/x"; other text is unchanged.
std::string redactUrl(std::string_view url);

// Headers for a log line: every value is redacted, since any header (a custom
// X-Whatever-Key) can carry a credential; only the names are shown.
std::string describeHeaders(const std::map<std::string, std::vector<std::string>>& headers);

}  // namespace opampsup::telemetry
