#include <limits>

#include <gtest/gtest.h>

#include "core/opamp/ConnectionOffer.h"

namespace opampsup::opamp {
namespace {

namespace pb = ::opamp::proto;

const EnvLookup kNoEnv = [](const std::string&) { return std::optional<std::string>(); };

Client::Settings configured() {
    Client::Settings s;
    s.endpoint = "wss://first.example.com/v1/opamp";
    s.headers = {{"Authorization", {"Bearer configured"}}};
    s.userAgent = "opampsupervisor/0.1.0";
    config::TlsClientSettings tls;
    tls.caFile = "/etc/ssl/first-ca.pem";
    s.tls = tls;
    return s;
}

TEST(ConnectionOffer, WhatTheOfferSetsReplacesAndTheRestStays) {
    pb::OpAMPConnectionSettings offer;
    offer.set_destination_endpoint("wss://second.example.com/v1/opamp");
    auto* header = offer.mutable_headers()->add_headers();
    header->set_key("X-Tenant");
    header->set_value("blue");
    offer.mutable_certificate()->set_cert("CERT");
    offer.mutable_certificate()->set_private_key("KEY");
    offer.mutable_tls()->set_ca_pem_contents("CA");
    offer.set_heartbeat_interval_seconds(15);
    Client::Settings s = withConnectionOffer(configured(), offer, kNoEnv);
    EXPECT_EQ(s.endpoint, "wss://second.example.com/v1/opamp");
    EXPECT_EQ(s.headers, (config::Headers{{"X-Tenant", {"blue"}}}));  // replaced, not added
    ASSERT_TRUE(s.tls);
    EXPECT_EQ(s.tls->certPem, "CERT");
    EXPECT_EQ(s.tls->keyPem, "KEY");
    EXPECT_EQ(s.tls->caPem, "CA");
    EXPECT_EQ(s.tls->caFile, "");  // the offered CA replaces the configured file
    EXPECT_EQ(s.heartbeatInterval, std::chrono::seconds(15));

    // The client certificate's CA is not trusted for the server: the configured CA stays.
    pb::OpAMPConnectionSettings issued;
    issued.mutable_certificate()->set_cert("CERT");
    issued.mutable_certificate()->set_ca_cert("CLIENT CA");
    Client::Settings withIssued = withConnectionOffer(configured(), issued, kNoEnv);
    EXPECT_EQ(withIssued.tls->caFile, "/etc/ssl/first-ca.pem");
    EXPECT_EQ(withIssued.tls->caPem, "");
    EXPECT_EQ(s.userAgent, "opampsupervisor/0.1.0");

    Client::Settings same =
        withConnectionOffer(configured(), pb::OpAMPConnectionSettings(), kNoEnv);
    EXPECT_TRUE(sameConnection(same, configured()));
    EXPECT_FALSE(sameConnection(s, configured()));
}

TEST(ConnectionOffer, ABadEndpointOrProxyIsRefusedNamingTheField) {
    pb::OpAMPConnectionSettings offer;
    offer.set_destination_endpoint("ftp://x");
    try {
        withConnectionOffer(configured(), offer, kNoEnv);
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_STREQ(
            e.what(),
            "destination_endpoint \"ftp://x\" is not a ws://, wss://, http:// or https:// URL");
    }
    pb::OpAMPConnectionSettings port;
    port.set_destination_endpoint("wss://h:99999/v1/opamp");
    EXPECT_THROW(withConnectionOffer(configured(), port, kNoEnv), std::invalid_argument);
    pb::OpAMPConnectionSettings bracket;
    bracket.set_destination_endpoint("ws://[::1");
    EXPECT_THROW(withConnectionOffer(configured(), bracket, kNoEnv), std::invalid_argument);
    pb::OpAMPConnectionSettings heartbeat;
    heartbeat.set_heartbeat_interval_seconds(std::numeric_limits<std::uint64_t>::max());
    EXPECT_THROW(withConnectionOffer(configured(), heartbeat, kNoEnv), std::invalid_argument);
    pb::OpAMPConnectionSettings proxy;
    proxy.mutable_proxy()->set_url("::not a url::");
    EXPECT_THROW(withConnectionOffer(configured(), proxy, kNoEnv), std::invalid_argument);
}

TEST(ConnectionOffer, OffersMergeWithTheSameRule) {
    pb::OpAMPConnectionSettings first;
    first.set_destination_endpoint("wss://second.example.com/v1/opamp");
    first.mutable_headers()->add_headers()->set_key("A");
    pb::OpAMPConnectionSettings heartbeat;
    heartbeat.set_heartbeat_interval_seconds(1);
    pb::OpAMPConnectionSettings merged = mergeConnectionOffer(first, heartbeat);
    EXPECT_EQ(merged.destination_endpoint(), "wss://second.example.com/v1/opamp");
    EXPECT_EQ(merged.headers().headers_size(), 1);
    EXPECT_EQ(merged.heartbeat_interval_seconds(), 1U);
    pb::OpAMPConnectionSettings headers;
    headers.mutable_headers()->add_headers()->set_key("B");
    merged = mergeConnectionOffer(merged, headers);
    ASSERT_EQ(merged.headers().headers_size(), 1);
    EXPECT_EQ(merged.headers().headers(0).key(), "B");
}

}  // namespace
}  // namespace opampsup::opamp
