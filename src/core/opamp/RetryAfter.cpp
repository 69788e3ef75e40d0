#include "core/opamp/RetryAfter.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <iomanip>
#include <locale>
#include <sstream>
#include <string>

namespace opampsup::opamp {
namespace {

// HTTP-date (RFC 9110 5.6.7): IMF-fixdate, or the obsolete RFC 850 and asctime forms.
// Strict: the whole value must match one form and name a real date.
std::optional<std::chrono::system_clock::time_point> parseHttpDate(const std::string& text) {
    for (const char* format :
         {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y"}) {
        std::tm tm{};
        std::istringstream in(text);
        in.imbue(std::locale::classic());
        in >> std::get_time(&tm, format);
        if (in.fail()) {
            continue;
        }
        in >> std::ws;
        if (!in.eof()) {
            continue;
        }
        using namespace std::chrono;
        year_month_day date{year{tm.tm_year + 1900}, month{static_cast<unsigned>(tm.tm_mon + 1)},
                            day{static_cast<unsigned>(tm.tm_mday)}};
        if (!date.ok() || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
            return std::nullopt;
        }
        return sys_days{date} + hours{tm.tm_hour} + minutes{tm.tm_min} + seconds{tm.tm_sec};
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::chrono::milliseconds> parseRetryAfter(
    std::string_view value, std::chrono::system_clock::time_point now) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
    }
    if (value.empty()) {
        return std::nullopt;
    }
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        std::uint64_t seconds = 0;
        auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        // A huge number is a server asking us to wait "forever": cap it at one day.
        constexpr std::uint64_t kMaxSeconds = 24 * 3600;
        if (ec == std::errc::result_out_of_range || seconds > kMaxSeconds) {
            seconds = kMaxSeconds;
        } else if (ec != std::errc() || ptr != value.data() + value.size()) {
            return std::nullopt;
        }
        return std::chrono::seconds(seconds);
    }
    std::optional<std::chrono::system_clock::time_point> target = parseHttpDate(std::string(value));
    if (!target) {
        return std::nullopt;
    }
    if (*target <= now) {
        return std::chrono::milliseconds{0};
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(*target - now);
}

}  // namespace opampsup::opamp
