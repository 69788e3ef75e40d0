#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "core/effective/OwnTelemetry.h"

namespace opampsup::effective {
namespace {

namespace pb = ::opamp::proto;
using ::testing::HasSubstr;

std::filesystem::path inStorage(std::string_view name) {
    return std::filesystem::path("/storage") / name;
}

pb::TelemetryConnectionSettings settings(const std::string& endpoint) {
    pb::TelemetryConnectionSettings s;
    s.set_destination_endpoint(endpoint);
    return s;
}

constexpr OwnTelemetrySignals kAll{true, true, true};

TEST(OwnTelemetry, MetricsAsAPeriodicOtlpReaderWithHeaders) {
    pb::ConnectionSettingsOffers offers;
    *offers.mutable_own_metrics() = settings("https://metrics.example.com:4318/v1/metrics");
    auto* header = offers.mutable_own_metrics()->mutable_headers()->add_headers();
    header->set_key("Authorization");
    header->set_value("Bearer t0ken");
    OwnTelemetrySection section = renderOwnTelemetry(offers, kAll, inStorage);
    EXPECT_TRUE(section.files.empty());
    EXPECT_TRUE(section.notes.empty());
    YAML::Node otlp = YAML::Load(section.yaml)["service"]["telemetry"]["metrics"]["readers"][0]
                                              ["periodic"]["exporter"]["otlp"];
    EXPECT_EQ(otlp["protocol"].as<std::string>(), "http/protobuf");
    EXPECT_EQ(otlp["endpoint"].as<std::string>(), "https://metrics.example.com:4318/v1/metrics");
    EXPECT_EQ(otlp["headers"][0]["name"].as<std::string>(), "Authorization");
    EXPECT_EQ(otlp["headers"][0]["value"].as<std::string>(), "Bearer t0ken");
    EXPECT_FALSE(YAML::Load(section.yaml)["service"]["telemetry"]["logs"].IsDefined());
}

TEST(OwnTelemetry, LogsAndTracesAsBatchProcessorsOnlyWithTheirCapability) {
    pb::ConnectionSettingsOffers offers;
    *offers.mutable_own_logs() = settings("https://logs.example.com/v1/logs");
    *offers.mutable_own_traces() = settings("https://traces.example.com/v1/traces");
    YAML::Node t =
        YAML::Load(renderOwnTelemetry(offers, kAll, inStorage).yaml)["service"]["telemetry"];
    EXPECT_EQ(t["logs"]["processors"][0]["batch"]["exporter"]["otlp"]["endpoint"].as<std::string>(),
              "https://logs.example.com/v1/logs");
    EXPECT_EQ(
        t["traces"]["processors"][0]["batch"]["exporter"]["otlp"]["endpoint"].as<std::string>(),
        "https://traces.example.com/v1/traces");

    OwnTelemetrySignals metricsOnly{true, false, false};
    EXPECT_EQ(renderOwnTelemetry(offers, metricsOnly, inStorage).yaml, "");
}

TEST(OwnTelemetry, AnEmptyEndpointRemovesTheSection) {
    pb::ConnectionSettingsOffers offers;
    *offers.mutable_own_metrics() = settings("");
    EXPECT_EQ(renderOwnTelemetry(offers, kAll, inStorage).yaml, "");
}

TEST(OwnTelemetry, CertificatesBecomeFilesAndTheRestIsNoted) {
    pb::ConnectionSettingsOffers offers;
    auto* m = offers.mutable_own_metrics();
    m->set_destination_endpoint("https://m.example.com");
    m->mutable_tls()->set_ca_pem_contents("CA PEM");
    m->mutable_tls()->set_insecure_skip_verify(true);
    m->mutable_certificate()->set_cert("CERT PEM");
    m->mutable_certificate()->set_private_key("KEY PEM");
    m->mutable_proxy()->set_url("http://proxy:3128");
    OwnTelemetrySection section = renderOwnTelemetry(offers, kAll, inStorage);
    using File = std::pair<std::string, std::string>;
    EXPECT_EQ(section.files, (std::vector<File>{{"own_telemetry_metrics_ca.pem", "CA PEM"},
                                                {"own_telemetry_metrics_cert.pem", "CERT PEM"},
                                                {"own_telemetry_metrics_key.pem", "KEY PEM"}}));
    YAML::Node otlp = YAML::Load(section.yaml)["service"]["telemetry"]["metrics"]["readers"][0]
                                              ["periodic"]["exporter"]["otlp"];
    EXPECT_EQ(otlp["certificate"].as<std::string>(), "/storage/own_telemetry_metrics_ca.pem");
    EXPECT_EQ(otlp["client_certificate"].as<std::string>(),
              "/storage/own_telemetry_metrics_cert.pem");
    EXPECT_EQ(otlp["client_key"].as<std::string>(), "/storage/own_telemetry_metrics_key.pem");
    ASSERT_EQ(section.notes.size(), 2U);
    EXPECT_THAT(section.notes[0], HasSubstr("insecure_skip_verify"));
    EXPECT_THAT(section.notes[1], HasSubstr("HTTPS_PROXY"));
}

TEST(OwnTelemetry, AnOfferReplacesOnlyTheSignalsItSets) {
    pb::ConnectionSettingsOffers kept;
    pb::ConnectionSettingsOffers first;
    *first.mutable_own_metrics() = settings("https://a");
    *first.mutable_own_logs() = settings("https://b");
    EXPECT_TRUE(mergeOwnTelemetryOffer(kept, first));
    EXPECT_FALSE(mergeOwnTelemetryOffer(kept, first));  // the same again

    pb::ConnectionSettingsOffers second;
    *second.mutable_own_logs() = settings("");                  // logs off
    second.mutable_opamp()->set_heartbeat_interval_seconds(5);  // not own telemetry
    EXPECT_TRUE(mergeOwnTelemetryOffer(kept, second));
    EXPECT_EQ(kept.own_metrics().destination_endpoint(), "https://a");
    EXPECT_EQ(kept.own_logs().destination_endpoint(), "");
    EXPECT_FALSE(kept.has_own_traces());
    EXPECT_FALSE(kept.has_opamp());
}

}  // namespace
}  // namespace opampsup::effective
