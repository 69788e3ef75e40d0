#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "core/effective/ConfigComposer.h"
#include "core/effective/OtherConnections.h"
#include "core/remoteconfig/Restrictions.h"

namespace opampsup::effective {
namespace {

namespace pb = ::opamp::proto;
using ::testing::HasSubstr;

std::filesystem::path inStorage(std::string_view name) {
    return std::filesystem::path("/storage") / name;
}

pb::ConnectionSettingsOffers backendOffer() {
    pb::ConnectionSettingsOffers offers;
    pb::OtherConnectionSettings& s = (*offers.mutable_other_connections())["backend"];
    s.set_destination_endpoint("https://backend.example.com:4318");
    auto* h = s.mutable_headers()->add_headers();
    h->set_key("Authorization");
    h->set_value("Bearer s3cret");
    (*s.mutable_other_settings())["region"] = "eu-1";
    s.mutable_tls()->set_ca_pem_contents("CA PEM");
    s.mutable_tls()->set_insecure_skip_verify(true);
    s.mutable_tls()->set_min_version("TLSv1.3");
    s.mutable_tls()->add_cipher_suites("TLS_AES_128_GCM_SHA256");
    s.mutable_certificate()->set_cert("CERT PEM");
    s.mutable_certificate()->set_private_key("KEY PEM");
    s.mutable_proxy()->set_url("http://proxy:3128");
    return offers;
}

YAML::Node substituted(const std::string& yaml, const OtherConnections& others) {
    YAML::Node node = YAML::Load(yaml);
    std::optional<std::string> error = others.substitute(node);
    EXPECT_EQ(error, std::nullopt);
    return node;
}

TEST(OtherConnections, AWholeValueKeepsItsType) {
    OtherConnections others(backendOffer(), inStorage);
    YAML::Node out = substituted(R"(
exporters:
  otlphttp/backend:
    endpoint: ${opamp:other_connections.backend.endpoint}
    headers: ${opamp:other_connections.backend.headers}
    tls:
      ca_file: ${opamp:other_connections.backend.tls.ca_file}
      cert_file: ${opamp:other_connections.backend.tls.cert_file}
      key_file: ${opamp:other_connections.backend.tls.key_file}
      insecure_skip_verify: ${opamp:other_connections.backend.tls.insecure_skip_verify}
      min_version: ${opamp:other_connections.backend.tls.min_version}
      cipher_suites: ${opamp:other_connections.backend.tls.cipher_suites}
    proxy_url: ${opamp:other_connections.backend.proxy_url}
)",
                                 others);
    YAML::Node e = out["exporters"]["otlphttp/backend"];
    EXPECT_EQ(e["endpoint"].as<std::string>(), "https://backend.example.com:4318");
    ASSERT_TRUE(e["headers"].IsMap());
    EXPECT_EQ(e["headers"]["Authorization"].as<std::string>(), "Bearer s3cret");
    EXPECT_EQ(e["tls"]["ca_file"].as<std::string>(), "/storage/other_connection_backend_ca.pem");
    EXPECT_EQ(e["tls"]["cert_file"].as<std::string>(),
              "/storage/other_connection_backend_cert.pem");
    EXPECT_EQ(e["tls"]["key_file"].as<std::string>(), "/storage/other_connection_backend_key.pem");
    EXPECT_TRUE(e["tls"]["insecure_skip_verify"].as<bool>());
    EXPECT_EQ(e["tls"]["min_version"].as<std::string>(), "1.3");
    ASSERT_TRUE(e["tls"]["cipher_suites"].IsSequence());
    EXPECT_EQ(e["tls"]["cipher_suites"][0].as<std::string>(), "TLS_AES_128_GCM_SHA256");
    EXPECT_EQ(e["proxy_url"].as<std::string>(), "http://proxy:3128");

    ASSERT_EQ(others.files().size(), 3U);
    EXPECT_EQ(others.files()[0], std::make_pair(std::string("other_connection_backend_ca.pem"),
                                                std::string("CA PEM")));
    EXPECT_TRUE(others.notes().empty());
}

TEST(OtherConnections, ReferencesInsideTextAndListsAreReplacedAsText) {
    OtherConnections others(backendOffer(), inStorage);
    YAML::Node out = substituted(R"(
a: "region ${opamp:other_connections.backend.other_settings.region}, token ${opamp:other_connections.backend.headers.Authorization}"
b: [x, "${opamp:other_connections.backend.other_settings.region}"]
c: ${opamp:other_connections.backend.other_settings.missing}
d: "$${opamp:other_connections.backend.endpoint} stays for the collector"
)",
                                 others);
    EXPECT_EQ(out["a"].as<std::string>(), "region eu-1, token Bearer s3cret");
    EXPECT_EQ(out["b"][1].as<std::string>(), "eu-1");
    EXPECT_EQ(out["c"].as<std::string>(), "");
    EXPECT_EQ(out["d"].as<std::string>(),
              "$${opamp:other_connections.backend.endpoint} stays for the collector");
}

TEST(OtherConnections, WhatCannotBeResolvedIsAnErrorNamingTheKey) {
    OtherConnections others(backendOffer(), inStorage);
    auto errorFor = [&](const std::string& yaml) {
        YAML::Node node = YAML::Load(yaml);
        return others.substitute(node).value_or("");
    };
    EXPECT_THAT(errorFor("x:\n  y: ${opamp:other_connections.nowhere.endpoint}\n"),
                HasSubstr("x::y: the server has not offered an other connection named "
                          "\"nowhere\""));
    EXPECT_THAT(errorFor("x: ${opamp:other_connections.backend.color}\n"),
                HasSubstr("has no field \"color\"; fields are endpoint"));
    EXPECT_THAT(errorFor("x: [a, \"h ${opamp:other_connections.backend.headers}\"]\n"),
                HasSubstr("x[1]:"));
    EXPECT_THAT(errorFor("x: \"${opamp:other_connections.backend.endpoint\"\n"),
                HasSubstr("without its closing brace"));
    EXPECT_FALSE(OtherConnections().substituteText("${opamp:other_connections.a.endpoint}"));
    EXPECT_EQ(others.substituteText("https://${opamp:other_connections.backend.other_settings."
                                    "region}.example.com"),
              "https://eu-1.example.com");
}

// What the server sends is data for the collector, never something it expands or reads as
// another type: checked on the emitted text the collector will parse.
TEST(OtherConnections, OfferedTextIsEscapedAndStaysText) {
    pb::ConnectionSettingsOffers offers;
    pb::OtherConnectionSettings& s = (*offers.mutable_other_connections())["x"];
    s.set_destination_endpoint("${env:AWS_SECRET_ACCESS_KEY}");
    auto* h = s.mutable_headers()->add_headers();
    h->set_key("X-Leak");
    h->set_value("${file:/etc/shadow}");
    (*s.mutable_other_settings())["flag"] = "true";
    (*s.mutable_other_settings())["port"] = "0x10";
    OtherConnections others(offers, inStorage);
    YAML::Node config = YAML::Load(
        "a: ${opamp:other_connections.x.endpoint}\n"
        "b: ${opamp:other_connections.x.headers}\n"
        "c: \"k=${opamp:other_connections.x.endpoint}\"\n"
        "d: ${opamp:other_connections.x.other_settings.flag}\n"
        "e: ${opamp:other_connections.x.other_settings}\n"
        "f: ${env:KEPT_FOR_THE_COLLECTOR}\n");
    ASSERT_EQ(others.substitute(config), std::nullopt);
    YAML::Emitter emitter;
    emitter << config;
    const std::string text = emitter.c_str();
    EXPECT_THAT(text, ::testing::Not(HasSubstr(" ${env:AWS")));
    EXPECT_THAT(text, HasSubstr("$${env:AWS_SECRET_ACCESS_KEY}"));
    EXPECT_THAT(text, HasSubstr("$${file:/etc/shadow}"));
    EXPECT_THAT(text, HasSubstr("k=$${env:AWS_SECRET_ACCESS_KEY}"));
    EXPECT_THAT(text, HasSubstr("f: ${env:KEPT_FOR_THE_COLLECTOR}"));
    YAML::Node parsed = YAML::Load(text);
    EXPECT_EQ(parsed["d"].Tag(), "tag:yaml.org,2002:str");
    EXPECT_EQ(parsed["e"]["flag"].Tag(), "tag:yaml.org,2002:str");
    EXPECT_EQ(parsed["e"]["port"].Tag(), "tag:yaml.org,2002:str");
    EXPECT_EQ(parsed["e"]["port"].as<std::string>(), "0x10");
}

TEST(OtherConnections, NamesBecomeSafeDistinctFileNames) {
    pb::ConnectionSettingsOffers offers;
    (*offers.mutable_other_connections())["a/b"].mutable_tls()->set_ca_pem_contents("1");
    (*offers.mutable_other_connections())["a.b"].mutable_tls()->set_ca_pem_contents("2");
    (*offers.mutable_other_connections())["half"].mutable_certificate()->set_cert("only");
    OtherConnections others(offers, inStorage);
    ASSERT_EQ(others.files().size(), 2U);
    EXPECT_NE(others.files()[0].first, others.files()[1].first);
    for (const auto& [name, pem] : others.files()) {
        EXPECT_EQ(name.find('/'), std::string::npos) << name;
        EXPECT_EQ(name.rfind("other_connection_a_b_", 0), 0U) << name;
    }
    EXPECT_EQ(others.notes().size(), 2U);  // the '.' name, the certificate without a key
}

TEST(OtherConnections, AnOfferNamesTheFullSetAndUnsetFieldsStay) {
    pb::ConnectionSettingsOffers kept;
    EXPECT_TRUE(mergeOtherConnectionsOffer(kept, backendOffer()));
    EXPECT_FALSE(mergeOtherConnectionsOffer(kept, backendOffer()));
    EXPECT_FALSE(mergeOtherConnectionsOffer(kept, pb::ConnectionSettingsOffers()));

    pb::ConnectionSettingsOffers rotate;
    auto& backend = (*rotate.mutable_other_connections())["backend"];
    backend.mutable_certificate()->set_cert("NEW CERT");
    backend.mutable_certificate()->set_private_key("NEW KEY");
    (*rotate.mutable_other_connections())["second"].set_destination_endpoint("host:9000");
    EXPECT_TRUE(mergeOtherConnectionsOffer(kept, rotate));
    const auto& merged = kept.other_connections().at("backend");
    EXPECT_EQ(merged.certificate().cert(), "NEW CERT");
    EXPECT_EQ(merged.destination_endpoint(), "https://backend.example.com:4318");
    EXPECT_EQ(merged.headers().headers(0).value(), "Bearer s3cret");
    EXPECT_EQ(merged.other_settings().at("region"), "eu-1");
    EXPECT_EQ(kept.other_connections().at("second").destination_endpoint(), "host:9000");

    pb::ConnectionSettingsOffers onlySecond;
    (*onlySecond.mutable_other_connections())["second"].set_destination_endpoint("host:9000");
    EXPECT_TRUE(mergeOtherConnectionsOffer(kept, onlySecond));
    EXPECT_EQ(kept.other_connections().size(), 1U);
    EXPECT_FALSE(kept.other_connections().contains("backend"));
}

TEST(OtherConnections, TheComposerResolvesReferencesOrRefusesTheConfig) {
    OtherConnections others(backendOffer(), inStorage);
    ComposeInput input;
    input.acceptsRemoteConfig = true;
    input.opampExtensionYaml = "extensions:\n  opamp: {}\n";
    input.remoteConfig =
        std::map<std::string, std::string>{{"",
                                            "exporters:\n  otlphttp:\n    endpoint: "
                                            "${opamp:other_connections.backend.endpoint}\n"}};
    input.otherConnections = &others;
    ComposeResult result = composeEffectiveConfig(input);
    ASSERT_EQ(result.error, std::nullopt);
    EXPECT_EQ(YAML::Load(result.yaml)["exporters"]["otlphttp"]["endpoint"].as<std::string>(),
              "https://backend.example.com:4318");

    input.otherConnections = nullptr;
    result = composeEffectiveConfig(input);
    ASSERT_TRUE(result.error);
    EXPECT_THAT(*result.error, HasSubstr("exporters::otlphttp::endpoint"));
}

TEST(OtherConnections, RestrictionsCheckTheResolvedValues) {
    OtherConnections others(backendOffer(), inStorage);
    config::RemoteConfigRestrictions rules;
    rules.allowedExporterEndpoints = {"*.internal"};
    rules.allowedPathPrefixes = {"/var/lib/otelcol"};
    auto resolve = [&](const std::string& v) { return others.substituteText(v); };
    auto check = [&](const std::string& yaml) {
        return remoteconfig::checkRestrictions(rules, {{"", yaml}}, resolve);
    };
    // Not a confmap provider, and the supervisor's own certificate files are not the server
    // naming host paths.
    EXPECT_EQ(check("exporters:\n  otlphttp:\n    tls:\n      ca_file: "
                    "${opamp:other_connections.backend.tls.ca_file}\n"),
              std::nullopt);
    // The offered endpoint is checked as the collector will use it.
    auto violation = check(
        "exporters:\n  otlphttp:\n    endpoint: ${opamp:other_connections.backend.endpoint}\n");
    ASSERT_TRUE(violation);
    EXPECT_THAT(*violation, HasSubstr("https://backend.example.com:4318"));
    EXPECT_THAT(*violation, HasSubstr("allowed_exporter_endpoints"));
}

}  // namespace
}  // namespace opampsup::effective
