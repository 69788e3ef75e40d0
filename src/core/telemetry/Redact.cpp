#include "core/telemetry/Redact.h"

#include <algorithm>
#include <array>

namespace opampsup::telemetry {

bool isSensitiveKey(std::string_view key) {
    std::string lower(key);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    static constexpr std::array<std::string_view, 12> kMarkers{
        "authorization", "cookie",  "token",  "password", "passwd",     "secret",
        "api-key",       "api_key", "apikey", "private",  "credential", "key_pem"};
    return std::any_of(kMarkers.begin(), kMarkers.end(), [&](std::string_view marker) {
        return lower.find(marker) != std::string::npos;
    });
}

std::string redactUrl(std::string_view url) {
    auto schemeEnd = url.find("://");
    if (schemeEnd == std::string_view::npos) {
        return std::string(url);
    }
    auto authorityStart = schemeEnd + 3;
    auto authorityEnd = url.find_first_of("/?#", authorityStart);
    std::string_view authority = url.substr(authorityStart, authorityEnd == std::string_view::npos
                                                                ? std::string_view::npos
                                                                : authorityEnd - authorityStart);
    auto at = authority.rfind('@');
    if (at == std::string_view::npos) {
        return std::string(url);
    }
    std::string_view userinfo = authority.substr(0, at);
    auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
        return std::string(url);
    }
    std::string out(url.substr(0, authorityStart + colon + 1));
    out += kRedacted;
    out += url.substr(authorityStart + at);
    return out;
}

std::string describeHeaders(const std::map<std::string, std::vector<std::string>>& headers) {
    std::string out = "{";
    for (const auto& [name, values] : headers) {
        if (out.size() > 1) {
            out += ", ";
        }
        out += name + ": " + std::string(kRedacted);
        (void)values;
    }
    return out + "}";
}

}  // namespace opampsup::telemetry
