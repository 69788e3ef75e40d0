#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/opamp/Proxy.h"

namespace opampsup::opamp {
namespace {

using ::testing::HasSubstr;

EnvLookup envOf(std::map<std::string, std::string> vars) {
    return [vars](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
}

TEST(Proxy, NoneByDefault) {
    EXPECT_FALSE(chooseProxy("wss://opamp.example.com/v1/opamp", std::nullopt, envOf({})));
}

TEST(Proxy, EnvironmentBySchemeLowerCaseToo) {
    auto env = envOf({{"HTTPS_PROXY", "http://secure-proxy:3128"}, {"http_proxy", "plain:8080"}});
    auto secure = chooseProxy("wss://opamp.example.com/v1/opamp", std::nullopt, env);
    ASSERT_TRUE(secure);
    EXPECT_EQ(secure->host, "secure-proxy");
    EXPECT_EQ(secure->port, 3128);
    EXPECT_EQ(secure->source, "HTTPS_PROXY");
    auto plain = chooseProxy("http://opamp.example.com/v1/opamp", std::nullopt, env);
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->host, "plain");  // scheme-less value
    EXPECT_EQ(plain->port, 8080);
    EXPECT_EQ(plain->source, "http_proxy");
}

TEST(Proxy, NoProxyExcludesHosts) {
    auto env = envOf({{"HTTPS_PROXY", "http://proxy:3128"},
                      {"NO_PROXY", "localhost, .internal.example.com,10.0.0.5:4320"}});
    EXPECT_FALSE(chooseProxy("wss://a.internal.example.com/v1/opamp", std::nullopt, env));
    EXPECT_FALSE(chooseProxy("wss://internal.example.com/v1/opamp", std::nullopt, env));
    EXPECT_FALSE(chooseProxy("wss://10.0.0.5:4320/v1/opamp", std::nullopt, env));
    EXPECT_TRUE(chooseProxy("wss://notinternal.example.com/v1/opamp", std::nullopt, env));
    EXPECT_TRUE(noProxyCovers("*", "anything"));
    EXPECT_FALSE(noProxyCovers("", "anything"));
    EXPECT_TRUE(noProxyCovers("Example.COM", "api.example.com"));
}

TEST(Proxy, ConfiguredProxyWinsAndCarriesCredentials) {
    config::ProxySettings configured{"http://agent:s%40cret@proxy.corp:8443",
                                     {{"X-Proxy-Tenant", {"blue"}}}};
    auto env = envOf({{"HTTPS_PROXY", "http://other:1"}});
    auto route = chooseProxy("wss://opamp.example.com/v1/opamp", configured, env);
    ASSERT_TRUE(route);
    EXPECT_EQ(route->host, "proxy.corp");
    EXPECT_EQ(route->port, 8443);
    EXPECT_EQ(route->source, "server.proxy.url");
    EXPECT_EQ(route->connectHeaders.at("X-Proxy-Tenant"), std::vector<std::string>{"blue"});
    // "agent:s@cret" in Base64
    EXPECT_EQ(route->connectHeaders.at("Proxy-Authorization"),
              std::vector<std::string>{"Basic YWdlbnQ6c0BjcmV0"});
}

TEST(Proxy, EmptyConfiguredUrlTurnsTheEnvironmentOff) {
    auto env = envOf({{"HTTPS_PROXY", "http://proxy:3128"}});
    EXPECT_FALSE(chooseProxy("wss://opamp.example.com/v1/opamp", config::ProxySettings{}, env));
}

TEST(Proxy, UnusableUrlsNameTheirSource) {
    try {
        chooseProxy("wss://h/v1/opamp", std::nullopt, envOf({{"HTTPS_PROXY", "socks5://p:1080"}}));
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_THAT(e.what(),
                    HasSubstr("HTTPS_PROXY \"socks5://p:1080\" is not an http://host:port"));
    }
}

}  // namespace
}  // namespace opampsup::opamp
