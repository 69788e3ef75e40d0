#pragma once

// "host:port" as the collector's configs write listen addresses (healthcheck.endpoint,
// status.endpoint).

#include <cstdint>
#include <optional>
#include <string>

namespace opampsup::config {

struct ListenAddress {
    std::string host;  // empty: every interface; IPv6 without brackets
    std::uint16_t port = 0;
};

// nullopt when the text has no port (or port 0 while `zeroPortMeansOff`). Throws
// std::invalid_argument naming `key` and the problem.
std::optional<ListenAddress> parseListenAddress(const std::string& endpoint, const std::string& key,
                                                bool zeroPortMeansOff);

// localhost, 127.0.0.0/8 or ::1.
bool isLoopbackHost(const std::string& host);

}  // namespace opampsup::config
