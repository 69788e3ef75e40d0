#include "core/config/Duration.h"

#include <array>
#include <cstdint>
#include <limits>
#include <stdexcept>

namespace opampsup::config {
namespace {

struct Unit {
    std::string_view name;
    std::int64_t nanoseconds;
};

// Longest names first so "ms" is not read as "m" followed by "s".
constexpr std::array<Unit, 8> kUnits{{
    {"ns", 1},
    {"us", 1'000},
    {"\xC2\xB5s", 1'000},  // U+00B5 micro sign
    {"\xCE\xBCs", 1'000},  // U+03BC Greek mu
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60LL * 1'000'000'000},
    {"h", 3600LL * 1'000'000'000},
}};

[[noreturn]] void fail(std::string_view text, const std::string& why) {
    throw std::invalid_argument("invalid duration \"" + std::string(text) + "\": " + why);
}

bool isDigit(char c) {
    return c >= '0' && c <= '9';
}

}  // namespace

std::chrono::nanoseconds parseGoDuration(std::string_view text) {
    std::string_view rest = text;
    bool negative = false;
    if (!rest.empty() && (rest.front() == '-' || rest.front() == '+')) {
        negative = rest.front() == '-';
        rest.remove_prefix(1);
    }
    if (rest == "0") {
        return std::chrono::nanoseconds{0};
    }
    if (rest.empty()) {
        fail(text, "empty value (write it like 250ms, 5s or 1m30s)");
    }

    // Accumulate in long double: fractions are allowed ("1.5h"), and the total is checked
    // against the int64 nanosecond range Go also uses.
    long double total = 0;
    while (!rest.empty()) {
        std::size_t i = 0;
        long double number = 0;
        bool sawDigits = false;
        while (i < rest.size() && isDigit(rest[i])) {
            number = number * 10 + (rest[i] - '0');
            sawDigits = true;
            ++i;
        }
        if (i < rest.size() && rest[i] == '.') {
            ++i;
            long double scale = 0.1L;
            while (i < rest.size() && isDigit(rest[i])) {
                number += (rest[i] - '0') * scale;
                scale /= 10;
                sawDigits = true;
                ++i;
            }
        }
        if (!sawDigits) {
            fail(text, "expected a number before \"" + std::string(rest) + "\"");
        }
        std::size_t unitEnd = i;
        while (unitEnd < rest.size() && rest[unitEnd] != '.' && !isDigit(rest[unitEnd])) {
            ++unitEnd;
        }
        std::string_view unitName = rest.substr(i, unitEnd - i);
        if (unitName.empty()) {
            fail(text, "missing unit (valid units: ns, us, ms, s, m, h)");
        }
        const Unit* unit = nullptr;
        for (const Unit& candidate : kUnits) {
            if (candidate.name == unitName) {
                unit = &candidate;
                break;
            }
        }
        if (unit == nullptr) {
            fail(text, "unknown unit \"" + std::string(unitName) +
                           "\" (valid units: ns, us, ms, s, m, h)");
        }
        total += number * static_cast<long double>(unit->nanoseconds);
        rest.remove_prefix(unitEnd);
    }
    if (total > static_cast<long double>(std::numeric_limits<std::int64_t>::max())) {
        fail(text, "out of range (at most about 292 years)");
    }
    auto nanos = static_cast<std::int64_t>(total + 0.5L);
    return std::chrono::nanoseconds{negative ? -nanos : nanos};
}

std::string formatGoDuration(std::chrono::nanoseconds value) {
    std::int64_t ns = value.count();
    if (ns == 0) {
        return "0s";
    }
    std::string sign = ns < 0 ? "-" : "";
    // Negating INT64_MIN overflows; the magnitude is formatted unsigned.
    std::uint64_t magnitude =
        ns < 0 ? static_cast<std::uint64_t>(-(ns + 1)) + 1 : static_cast<std::uint64_t>(ns);

    auto withFraction = [](std::uint64_t units, std::uint64_t perUnit, const char* suffix) {
        std::string out = std::to_string(units / perUnit);
        std::uint64_t fraction = units % perUnit;
        if (fraction != 0) {
            std::string digits = std::to_string(fraction);
            std::string padded =
                std::string(std::to_string(perUnit).size() - 1 - digits.size(), '0') + digits;
            while (!padded.empty() && padded.back() == '0') {
                padded.pop_back();
            }
            out += "." + padded;
        }
        return out + suffix;
    };

    constexpr std::uint64_t kSecond = 1'000'000'000;
    if (magnitude < 1'000) {
        return sign + std::to_string(magnitude) + "ns";
    }
    if (magnitude < 1'000'000) {
        return sign + withFraction(magnitude, 1'000, "\xC2\xB5s");
    }
    if (magnitude < kSecond) {
        return sign + withFraction(magnitude, 1'000'000, "ms");
    }
    std::string out;
    std::uint64_t hours = magnitude / (3600 * kSecond);
    std::uint64_t minutes = (magnitude / (60 * kSecond)) % 60;
    std::uint64_t secondsPart = magnitude % (60 * kSecond);
    if (hours > 0) {
        out += std::to_string(hours) + "h";
    }
    if (hours > 0 || minutes > 0) {
        out += std::to_string(minutes) + "m";
    }
    out += withFraction(secondsPart, kSecond, "s");
    return sign + out;
}

}  // namespace opampsup::config
