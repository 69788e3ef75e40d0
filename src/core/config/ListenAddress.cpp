#include "core/config/ListenAddress.h"

#include <algorithm>
#include <stdexcept>

namespace opampsup::config {

std::optional<ListenAddress> parseListenAddress(const std::string& endpoint, const std::string& key,
                                                bool zeroPortMeansOff) {
    std::size_t colon = endpoint.rfind(':');
    if (endpoint.empty() || colon == std::string::npos) {
        return std::nullopt;
    }
    ListenAddress address;
    address.host = endpoint.substr(0, colon);
    if (address.host.size() >= 2 && address.host.front() == '[' && address.host.back() == ']') {
        address.host = address.host.substr(1, address.host.size() - 2);
    }
    const std::string port = endpoint.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoul(port) > 65535) {
        throw std::invalid_argument(key + " \"" + endpoint +
                                    "\": the port must be a number from 0 to 65535");
    }
    address.port = static_cast<std::uint16_t>(std::stoul(port));
    if (address.port == 0 && zeroPortMeansOff) {
        return std::nullopt;
    }
    return address;
}

bool isLoopbackHost(const std::string& host) {
    return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace opampsup::config
