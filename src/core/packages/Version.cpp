#include "core/packages/Version.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string_view>
#include <vector>

namespace opampsup::packages {

namespace {

struct Parsed {
    std::vector<std::uint64_t> release;
    std::vector<std::string> prerelease;  // empty: a release, which sorts after its prereleases
};

bool allDigits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

std::vector<std::string> split(std::string_view s, char separator) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        std::size_t end = s.find(separator, start);
        parts.emplace_back(s.substr(start, end == std::string_view::npos ? end : end - start));
        if (end == std::string_view::npos) {
            return parts;
        }
        start = end + 1;
    }
}

std::optional<Parsed> parse(std::string_view text) {
    if (!text.empty() && (text.front() == 'v' || text.front() == 'V')) {
        text.remove_prefix(1);
    }
    text = text.substr(0, text.find('+'));
    std::string_view core = text.substr(0, text.find('-'));
    Parsed out;
    for (const std::string& number : split(core, '.')) {
        // More than 18 digits would overflow; no real version has them.
        if (!allDigits(number) || number.size() > 18) {
            return std::nullopt;
        }
        out.release.push_back(std::stoull(number));
    }
    if (std::size_t dash = text.find('-'); dash != std::string_view::npos) {
        out.prerelease = split(text.substr(dash + 1), '.');
        for (const std::string& id : out.prerelease) {
            if (id.empty()) {
                return std::nullopt;
            }
        }
    }
    return out;
}

int sign(long long v) {
    return v < 0 ? -1 : (v > 0 ? 1 : 0);
}

// Numeric identifiers compare as numbers and sort before alphanumeric ones.
int comparePrereleaseIds(const std::string& a, const std::string& b) {
    bool aNumeric = allDigits(a) && a.size() <= 18;
    bool bNumeric = allDigits(b) && b.size() <= 18;
    if (aNumeric && bNumeric) {
        std::uint64_t x = std::stoull(a);
        std::uint64_t y = std::stoull(b);
        return x < y ? -1 : (x > y ? 1 : 0);
    }
    if (aNumeric != bNumeric) {
        return aNumeric ? -1 : 1;
    }
    return sign(a.compare(b));
}

}  // namespace

std::optional<int> compareVersions(const std::string& a, const std::string& b) {
    std::optional<Parsed> x = parse(a);
    std::optional<Parsed> y = parse(b);
    if (!x || !y) {
        return std::nullopt;
    }
    // Missing trailing numbers count as zero: "1.2" is "1.2.0".
    std::size_t n = std::max(x->release.size(), y->release.size());
    for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t p = i < x->release.size() ? x->release[i] : 0;
        std::uint64_t q = i < y->release.size() ? y->release[i] : 0;
        if (p != q) {
            return p < q ? -1 : 1;
        }
    }
    // A release sorts after its prereleases.
    if (x->prerelease.empty() || y->prerelease.empty()) {
        return sign(static_cast<long long>(x->prerelease.empty()) -
                    static_cast<long long>(y->prerelease.empty()));
    }
    std::size_t m = std::min(x->prerelease.size(), y->prerelease.size());
    for (std::size_t i = 0; i < m; ++i) {
        if (int c = comparePrereleaseIds(x->prerelease[i], y->prerelease[i]); c != 0) {
            return c;
        }
    }
    return sign(static_cast<long long>(x->prerelease.size()) -
                static_cast<long long>(y->prerelease.size()));
}

}  // namespace opampsup::packages
