#include "core/opamp/Proxy.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include "core/opamp/HttpSession.h"

namespace opampsup::opamp {
namespace {

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::string trim(const std::string& text) {
    auto begin = text.find_first_not_of(" \t");
    auto end = text.find_last_not_of(" \t");
    return begin == std::string::npos ? "" : text.substr(begin, end - begin + 1);
}

std::optional<std::string> firstSet(const EnvLookup& env, const std::string& upper,
                                    std::string& name) {
    for (const std::string& candidate : {upper, lower(upper)}) {
        if (std::optional<std::string> value = env(candidate); value && !value->empty()) {
            name = candidate;
            return value;
        }
    }
    return std::nullopt;
}

std::string basicAuth(const std::string& userInfo) {
    std::string decoded;
    Poco::URI::decode(userInfo, decoded);
    return basicCredential(decoded);
}

}  // namespace

bool noProxyCovers(const std::string& noProxy, const std::string& host) {
    const std::string h = lower(host);
    std::istringstream entries(noProxy);
    std::string entry;
    while (std::getline(entries, entry, ',')) {
        entry = lower(trim(entry));
        if (entry.empty()) {
            continue;
        }
        if (entry == "*") {
            return true;
        }
        // A port in the entry ("host:4320") is not compared; the host decides.
        if (auto colon = entry.rfind(':'); colon != std::string::npos && entry.find(':') == colon) {
            entry = entry.substr(0, colon);
        }
        if (!entry.empty() && entry.front() == '.') {
            entry.erase(0, 1);
        }
        if (h == entry || (h.size() > entry.size() &&
                           h.compare(h.size() - entry.size(), entry.size(), entry) == 0 &&
                           h[h.size() - entry.size() - 1] == '.')) {
            return true;
        }
    }
    return false;
}

std::optional<ProxyRoute> chooseProxy(const std::string& endpoint,
                                      const std::optional<config::ProxySettings>& configured,
                                      const EnvLookup& env) {
    Poco::URI target(endpoint);
    std::string url;
    std::string source;
    config::Headers headers;
    if (configured) {
        if (configured->url.empty()) {
            return std::nullopt;  // an explicit "no proxy", whatever the environment says
        }
        url = configured->url;
        source = "server.proxy.url";
        headers = configured->headers;
    } else {
        bool secure = target.getScheme() == "wss" || target.getScheme() == "https";
        std::optional<std::string> value =
            firstSet(env, secure ? "HTTPS_PROXY" : "HTTP_PROXY", source);
        if (!value) {
            return std::nullopt;
        }
        std::string noProxyName;
        if (std::optional<std::string> noProxy = firstSet(env, "NO_PROXY", noProxyName);
            noProxy && noProxyCovers(*noProxy, target.getHost())) {
            return std::nullopt;
        }
        url = value->find("://") == std::string::npos ? "http://" + *value : *value;
    }
    try {
        Poco::URI proxy(url);
        if (proxy.getScheme() != "http" || proxy.getHost().empty()) {
            throw std::invalid_argument(source + " \"" + url +
                                        "\" is not an http://host:port proxy URL");
        }
        ProxyRoute route{proxy.getHost(), proxy.getPort(), headers, source};
        if (!proxy.getUserInfo().empty() &&
            route.connectHeaders.count("Proxy-Authorization") == 0) {
            route.connectHeaders["Proxy-Authorization"] = {basicAuth(proxy.getUserInfo())};
        }
        return route;
    } catch (const Poco::Exception& e) {
        throw std::invalid_argument(source + " \"" + url + "\" is not a valid URL: " + e.message());
    }
}

}  // namespace opampsup::opamp
