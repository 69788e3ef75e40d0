#pragma once

// Which HTTP proxy, if any, carries the OpAMP connection. The supervisor's own
// `server.proxy` wins; otherwise the conventional environment applies: HTTPS_PROXY for
// wss:// and https://, HTTP_PROXY for ws:// and http:// (lower-case names too), unless
// NO_PROXY names the host. The proxy is always asked to open a tunnel (CONNECT), so
// WebSocket upgrades and TLS pass through it unchanged. Only the OpAMP connection uses it.

#include <functional>
#include <optional>
#include <string>

#include "core/config/SupervisorConfig.h"

namespace opampsup::opamp {

struct ProxyRoute {
    std::string host;
    std::uint16_t port = 0;
    config::Headers connectHeaders;  // sent with CONNECT, Proxy-Authorization included
    std::string source;              // "server.proxy" or the environment variable's name
};

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Throws std::invalid_argument when a proxy URL cannot be used (naming where it came from).
std::optional<ProxyRoute> chooseProxy(const std::string& endpoint,
                                      const std::optional<config::ProxySettings>& configured,
                                      const EnvLookup& env);

// True when NO_PROXY's comma-separated entries cover `host`: "*", an exact name or
// address, or a domain suffix (".example.com" or "example.com" both cover a.example.com).
bool noProxyCovers(const std::string& noProxy, const std::string& host);

}  // namespace opampsup::opamp
