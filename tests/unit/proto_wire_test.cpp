// Proves that our opamp.proto puts every field on the wire where the OpAMP specification
// says, without trusting the .proto itself: each message is filled completely, serialized,
// and read back by a small independent decoder; the (field number, wire type) pairs found
// must equal a table written here from the specification.

#include <cstdint>
#include <set>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "opamp.pb.h"

namespace {

namespace pb = opamp::proto;

enum WireType : int { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };
using Field = std::pair<int, int>;  // field number, wire type

std::uint64_t readVarint(const std::string& bytes, std::size_t& at) {
    std::uint64_t value = 0;
    for (int shift = 0; at < bytes.size() && shift < 64; shift += 7) {
        auto byte = static_cast<std::uint8_t>(bytes[at++]);
        value |= static_cast<std::uint64_t>(byte & 0x7FU) << shift;
        if ((byte & 0x80U) == 0) {
            return value;
        }
    }
    ADD_FAILURE() << "truncated varint";
    return value;
}

// The top-level fields of an encoded message.
std::set<Field> fieldsOf(const std::string& bytes) {
    std::set<Field> fields;
    std::size_t at = 0;
    while (at < bytes.size()) {
        std::uint64_t tag = readVarint(bytes, at);
        auto number = static_cast<int>(tag >> 3);
        auto type = static_cast<int>(tag & 7U);
        fields.insert({number, type});
        switch (type) {
            case kVarint:
                readVarint(bytes, at);
                break;
            case kFixed64:
                at += 8;
                break;
            case kFixed32:
                at += 4;
                break;
            case kLen:
                at += static_cast<std::size_t>(readVarint(bytes, at));
                break;
            default:
                ADD_FAILURE() << "unexpected wire type " << type;
                return fields;
        }
    }
    EXPECT_EQ(at, bytes.size()) << "message does not end on a field boundary";
    return fields;
}

std::set<Field> fieldsOf(const google::protobuf::MessageLite& message) {
    return fieldsOf(message.SerializeAsString());
}

void fill(pb::Headers* headers) {
    pb::Header* h = headers->add_headers();
    h->set_key("k");
    h->set_value("v");
}

void fill(pb::TLSCertificate* c) {
    c->set_cert("c");
    c->set_private_key("k");
    c->set_ca_cert("a");
}

void fill(pb::TLSConnectionSettings* t) {
    t->set_ca_pem_contents("pem");
    t->set_include_system_ca_certs_pool(true);
    t->set_insecure_skip_verify(true);
    t->set_min_version("1.2");
    t->set_max_version("1.3");
    t->add_cipher_suites("TLS_AES_128_GCM_SHA256");
}

void fill(pb::ProxyConnectionSettings* p) {
    p->set_url("http://proxy:3128");
    fill(p->mutable_connect_headers());
}

void fill(pb::KeyValue* kv) {
    kv->set_key("service.name");
    kv->mutable_value()->set_string_value("otelcol");
}

TEST(ProtoWire, AgentToServerHasAllFifteenFields) {
    pb::AgentToServer m;
    m.set_instance_uid(std::string(16, 'u'));
    m.set_sequence_num(1);
    fill(m.mutable_agent_description()->add_identifying_attributes());
    m.set_capabilities(0x2001);
    m.mutable_health()->set_healthy(true);
    (*m.mutable_effective_config()->mutable_config_map()->mutable_config_map())[""].set_body("x");
    m.mutable_remote_config_status()->set_status(pb::RemoteConfigStatuses_APPLIED);
    m.mutable_package_statuses()->set_error_message("e");
    m.mutable_agent_disconnect();
    m.set_flags(1);
    m.mutable_connection_settings_request()
        ->mutable_opamp()
        ->mutable_certificate_request()
        ->set_csr("csr");
    m.mutable_custom_capabilities()->add_capabilities("io.example.cap");
    m.mutable_custom_message()->set_capability("io.example.cap");
    m.mutable_available_components()->set_hash("h");
    m.mutable_connection_settings_status()->set_status(pb::ConnectionSettingsStatuses_FAILED);
    EXPECT_EQ(fieldsOf(m), (std::set<Field>{{1, kLen},
                                            {2, kVarint},
                                            {3, kLen},
                                            {4, kVarint},
                                            {5, kLen},
                                            {6, kLen},
                                            {7, kLen},
                                            {8, kLen},
                                            {9, kLen},
                                            {10, kVarint},
                                            {11, kLen},
                                            {12, kLen},
                                            {13, kLen},
                                            {14, kLen},
                                            {15, kLen}}));
}

TEST(ProtoWire, AgentToServerExactBytes) {
    pb::AgentToServer m;
    m.set_sequence_num(1);
    m.set_capabilities(0x2001);  // ReportsStatus | ReportsHeartbeat
    // field 2 varint 1; field 4 varint 0x2001 = 0x81 0x40
    EXPECT_EQ(m.SerializeAsString(), std::string("\x10\x01\x20\x81\x40", 5));
    pb::AgentToServer disconnect;
    disconnect.mutable_agent_disconnect();
    EXPECT_EQ(disconnect.SerializeAsString(), std::string("\x4a\x00", 2));  // field 9, empty
}

TEST(ProtoWire, ServerToAgentHasAllElevenFields) {
    pb::ServerToAgent m;
    m.set_instance_uid(std::string(16, 'u'));
    m.mutable_error_response()->set_error_message("e");
    m.mutable_remote_config()->set_config_hash("h");
    m.mutable_connection_settings()->set_hash("h");
    m.mutable_packages_available()->set_all_packages_hash("h");
    m.set_flags(1);
    m.set_capabilities(1);
    m.mutable_agent_identification()->set_new_instance_uid(std::string(16, 'n'));
    m.mutable_command()->set_type(pb::CommandType_Restart);
    m.mutable_custom_capabilities()->add_capabilities("c");
    m.mutable_custom_message()->set_type("t");
    EXPECT_EQ(fieldsOf(m), (std::set<Field>{{1, kLen},
                                            {2, kLen},
                                            {3, kLen},
                                            {4, kLen},
                                            {5, kLen},
                                            {6, kVarint},
                                            {7, kVarint},
                                            {8, kLen},
                                            {9, kLen},
                                            {10, kLen},
                                            {11, kLen}}));
}

TEST(ProtoWire, AnyValueOneofAndContainers) {
    auto oneField = [](auto setter) {
        pb::AnyValue v;
        setter(v);
        return fieldsOf(v);
    };
    EXPECT_EQ(oneField([](pb::AnyValue& v) { v.set_string_value("s"); }),
              (std::set<Field>{{1, kLen}}));
    EXPECT_EQ(oneField([](pb::AnyValue& v) { v.set_bool_value(true); }),
              (std::set<Field>{{2, kVarint}}));
    EXPECT_EQ(oneField([](pb::AnyValue& v) { v.set_int_value(-1); }),
              (std::set<Field>{{3, kVarint}}));
    EXPECT_EQ(oneField([](pb::AnyValue& v) { v.set_double_value(1.5); }),
              (std::set<Field>{{4, kFixed64}}));
    EXPECT_EQ(oneField([](pb::AnyValue& v) { v.mutable_array_value(); }),
              (std::set<Field>{{5, kLen}}));
    EXPECT_EQ(oneField([](pb::AnyValue& v) { v.mutable_kvlist_value(); }),
              (std::set<Field>{{6, kLen}}));
    EXPECT_EQ(oneField([](pb::AnyValue& v) { v.set_bytes_value("b"); }),
              (std::set<Field>{{7, kLen}}));

    pb::ArrayValue array;
    array.add_values()->set_int_value(1);
    EXPECT_EQ(fieldsOf(array), (std::set<Field>{{1, kLen}}));
    pb::KeyValueList list;
    fill(list.add_values());
    EXPECT_EQ(fieldsOf(list), (std::set<Field>{{1, kLen}}));
    pb::KeyValue kv;
    fill(&kv);
    EXPECT_EQ(fieldsOf(kv), (std::set<Field>{{1, kLen}, {2, kLen}}));
}

TEST(ProtoWire, DescriptionHealthAndConfig) {
    pb::AgentDescription d;
    fill(d.add_identifying_attributes());
    fill(d.add_non_identifying_attributes());
    EXPECT_EQ(fieldsOf(d), (std::set<Field>{{1, kLen}, {2, kLen}}));

    pb::ComponentHealth h;
    h.set_healthy(true);
    h.set_start_time_unix_nano(1);
    h.set_last_error("e");
    h.set_status("s");
    h.set_status_time_unix_nano(2);
    (*h.mutable_component_health_map())["pipeline:traces"].set_healthy(true);
    fill(h.add_attributes());
    EXPECT_EQ(fieldsOf(h), (std::set<Field>{{1, kVarint},
                                            {2, kFixed64},
                                            {3, kLen},
                                            {4, kLen},
                                            {5, kFixed64},
                                            {6, kLen},
                                            {7, kLen}}));

    pb::AgentConfigFile file;
    file.set_body("b");
    file.set_content_type("text/yaml");
    EXPECT_EQ(fieldsOf(file), (std::set<Field>{{1, kLen}, {2, kLen}}));
    pb::AgentConfigMap map;
    (*map.mutable_config_map())[""] = file;
    EXPECT_EQ(fieldsOf(map), (std::set<Field>{{1, kLen}}));
    pb::EffectiveConfig effective;
    *effective.mutable_config_map() = map;
    EXPECT_EQ(fieldsOf(effective), (std::set<Field>{{1, kLen}}));
    pb::AgentRemoteConfig remote;
    *remote.mutable_config() = map;
    remote.set_config_hash("h");
    EXPECT_EQ(fieldsOf(remote), (std::set<Field>{{1, kLen}, {2, kLen}}));
}

TEST(ProtoWire, Statuses) {
    pb::RemoteConfigStatus r;
    r.set_last_remote_config_hash("h");
    r.set_status(pb::RemoteConfigStatuses_FAILED);
    r.set_error_message("e");
    EXPECT_EQ(fieldsOf(r), (std::set<Field>{{1, kLen}, {2, kVarint}, {3, kLen}}));

    pb::ConnectionSettingsStatus c;
    c.set_last_connection_settings_hash("h");
    c.set_status(pb::ConnectionSettingsStatuses_APPLIED);
    c.set_error_message("e");
    EXPECT_EQ(fieldsOf(c), (std::set<Field>{{1, kLen}, {2, kVarint}, {3, kLen}}));

    pb::PackageStatus p;
    p.set_name("n");
    p.set_agent_has_version("1");
    p.set_agent_has_hash("h");
    p.set_server_offered_version("2");
    p.set_server_offered_hash("h2");
    p.set_status(pb::PackageStatusEnum_Downloading);
    p.set_error_message("e");
    p.mutable_download_details()->set_download_percent(50);
    EXPECT_EQ(fieldsOf(p), (std::set<Field>{{1, kLen},
                                            {2, kLen},
                                            {3, kLen},
                                            {4, kLen},
                                            {5, kLen},
                                            {6, kVarint},
                                            {7, kLen},
                                            {8, kLen}}));
    pb::PackageDownloadDetails dl;
    dl.set_download_percent(1.5);
    dl.set_download_bytes_per_second(2.5);
    EXPECT_EQ(fieldsOf(dl), (std::set<Field>{{1, kFixed64}, {2, kFixed64}}));
    pb::PackageStatuses all;
    (*all.mutable_packages())["n"] = p;
    all.set_server_provided_all_packages_hash("h");
    all.set_error_message("e");
    EXPECT_EQ(fieldsOf(all), (std::set<Field>{{1, kLen}, {2, kLen}, {3, kLen}}));
}

TEST(ProtoWire, Packages) {
    pb::DownloadableFile f;
    f.set_download_url("https://x/y.tar.gz");
    f.set_content_hash("h");
    f.set_signature("s");
    fill(f.mutable_headers());
    EXPECT_EQ(fieldsOf(f), (std::set<Field>{{1, kLen}, {2, kLen}, {3, kLen}, {4, kLen}}));
    pb::PackageAvailable p;
    p.set_type(pb::PackageType_Addon);
    p.set_version("1");
    *p.mutable_file() = f;
    p.set_hash("h");
    EXPECT_EQ(fieldsOf(p), (std::set<Field>{{1, kVarint}, {2, kLen}, {3, kLen}, {4, kLen}}));
    pb::PackagesAvailable all;
    (*all.mutable_packages())[""] = p;
    all.set_all_packages_hash("h");
    EXPECT_EQ(fieldsOf(all), (std::set<Field>{{1, kLen}, {2, kLen}}));
}

TEST(ProtoWire, ConnectionSettings) {
    pb::OpAMPConnectionSettings o;
    o.set_destination_endpoint("wss://x/v1/opamp");
    fill(o.mutable_headers());
    fill(o.mutable_certificate());
    o.set_heartbeat_interval_seconds(30);
    fill(o.mutable_tls());
    fill(o.mutable_proxy());
    EXPECT_EQ(
        fieldsOf(o),
        (std::set<Field>{{1, kLen}, {2, kLen}, {3, kLen}, {4, kVarint}, {5, kLen}, {6, kLen}}));

    pb::TelemetryConnectionSettings t;
    t.set_destination_endpoint("https://x:4318/v1/metrics");
    fill(t.mutable_headers());
    fill(t.mutable_certificate());
    fill(t.mutable_tls());
    fill(t.mutable_proxy());
    EXPECT_EQ(fieldsOf(t),
              (std::set<Field>{{1, kLen}, {2, kLen}, {3, kLen}, {4, kLen}, {5, kLen}}));

    pb::OtherConnectionSettings other;
    other.set_destination_endpoint("db:5432");
    fill(other.mutable_headers());
    fill(other.mutable_certificate());
    (*other.mutable_other_settings())["k"] = "v";
    fill(other.mutable_tls());
    fill(other.mutable_proxy());
    EXPECT_EQ(fieldsOf(other),
              (std::set<Field>{{1, kLen}, {2, kLen}, {3, kLen}, {4, kLen}, {5, kLen}, {6, kLen}}));

    pb::TLSConnectionSettings tls;
    fill(&tls);
    EXPECT_EQ(
        fieldsOf(tls),
        (std::set<Field>{{1, kLen}, {2, kVarint}, {3, kVarint}, {4, kLen}, {5, kLen}, {6, kLen}}));
    pb::ProxyConnectionSettings proxy;
    fill(&proxy);
    EXPECT_EQ(fieldsOf(proxy), (std::set<Field>{{1, kLen}, {2, kLen}}));
    pb::Headers headers;
    fill(&headers);
    EXPECT_EQ(fieldsOf(headers), (std::set<Field>{{1, kLen}}));
    EXPECT_EQ(fieldsOf(headers.headers(0)), (std::set<Field>{{1, kLen}, {2, kLen}}));
    pb::TLSCertificate cert;
    fill(&cert);
    EXPECT_EQ(fieldsOf(cert), (std::set<Field>{{1, kLen}, {2, kLen}, {3, kLen}}));

    pb::ConnectionSettingsOffers offers;
    offers.set_hash("h");
    *offers.mutable_opamp() = o;
    *offers.mutable_own_metrics() = t;
    *offers.mutable_own_traces() = t;
    *offers.mutable_own_logs() = t;
    (*offers.mutable_other_connections())["db"] = other;
    EXPECT_EQ(fieldsOf(offers),
              (std::set<Field>{{1, kLen}, {2, kLen}, {3, kLen}, {4, kLen}, {5, kLen}, {6, kLen}}));
}

TEST(ProtoWire, ErrorsCommandsIdentityAndCustomMessages) {
    pb::ServerErrorResponse e;
    e.set_type(pb::ServerErrorResponseType_Unavailable);
    e.set_error_message("busy");
    e.mutable_retry_info()->set_retry_after_nanoseconds(5);
    EXPECT_EQ(fieldsOf(e), (std::set<Field>{{1, kVarint}, {2, kLen}, {3, kLen}}));
    EXPECT_EQ(fieldsOf(e.retry_info()), (std::set<Field>{{1, kVarint}}));

    pb::ServerToAgentCommand command;
    command.set_type(static_cast<pb::CommandType>(1));  // a non-default value shows the field
    EXPECT_EQ(fieldsOf(command), (std::set<Field>{{1, kVarint}}));
    pb::AgentIdentification id;
    id.set_new_instance_uid(std::string(16, 'n'));
    EXPECT_EQ(fieldsOf(id), (std::set<Field>{{1, kLen}}));

    pb::ConnectionSettingsRequest request;
    request.mutable_opamp()->mutable_certificate_request()->set_csr("csr");
    EXPECT_EQ(fieldsOf(request), (std::set<Field>{{1, kLen}}));
    EXPECT_EQ(fieldsOf(request.opamp()), (std::set<Field>{{1, kLen}}));
    EXPECT_EQ(fieldsOf(request.opamp().certificate_request()), (std::set<Field>{{1, kLen}}));

    pb::CustomCapabilities caps;
    caps.add_capabilities("io.example/v2");
    EXPECT_EQ(fieldsOf(caps), (std::set<Field>{{1, kLen}}));
    pb::CustomMessage msg;
    msg.set_capability("io.example/v2");
    msg.set_type("ping");
    msg.set_data("d");
    EXPECT_EQ(fieldsOf(msg), (std::set<Field>{{1, kLen}, {2, kLen}, {3, kLen}}));

    pb::ComponentDetails details;
    fill(details.add_metadata());
    (*details.mutable_sub_component_map())["otlp"];
    EXPECT_EQ(fieldsOf(details), (std::set<Field>{{1, kLen}, {2, kLen}}));
    pb::AvailableComponents available;
    (*available.mutable_components())["receivers"] = details;
    available.set_hash("h");
    EXPECT_EQ(fieldsOf(available), (std::set<Field>{{1, kLen}, {2, kLen}}));
}

TEST(ProtoWire, EnumValuesMatchTheSpec) {
    EXPECT_EQ(pb::AgentCapabilities_ReportsStatus, 0x1);
    EXPECT_EQ(pb::AgentCapabilities_AcceptsRemoteConfig, 0x2);
    EXPECT_EQ(pb::AgentCapabilities_ReportsEffectiveConfig, 0x4);
    EXPECT_EQ(pb::AgentCapabilities_AcceptsPackages, 0x8);
    EXPECT_EQ(pb::AgentCapabilities_ReportsPackageStatuses, 0x10);
    EXPECT_EQ(pb::AgentCapabilities_ReportsOwnTraces, 0x20);
    EXPECT_EQ(pb::AgentCapabilities_ReportsOwnMetrics, 0x40);
    EXPECT_EQ(pb::AgentCapabilities_ReportsOwnLogs, 0x80);
    EXPECT_EQ(pb::AgentCapabilities_AcceptsOpAMPConnectionSettings, 0x100);
    EXPECT_EQ(pb::AgentCapabilities_AcceptsOtherConnectionSettings, 0x200);
    EXPECT_EQ(pb::AgentCapabilities_AcceptsRestartCommand, 0x400);
    EXPECT_EQ(pb::AgentCapabilities_ReportsHealth, 0x800);
    EXPECT_EQ(pb::AgentCapabilities_ReportsRemoteConfig, 0x1000);
    EXPECT_EQ(pb::AgentCapabilities_ReportsHeartbeat, 0x2000);
    EXPECT_EQ(pb::AgentCapabilities_ReportsAvailableComponents, 0x4000);
    EXPECT_EQ(pb::AgentCapabilities_ReportsConnectionSettingsStatus, 0x8000);

    EXPECT_EQ(pb::ServerCapabilities_AcceptsStatus, 0x1);
    EXPECT_EQ(pb::ServerCapabilities_OffersRemoteConfig, 0x2);
    EXPECT_EQ(pb::ServerCapabilities_AcceptsEffectiveConfig, 0x4);
    EXPECT_EQ(pb::ServerCapabilities_OffersPackages, 0x8);
    EXPECT_EQ(pb::ServerCapabilities_AcceptsPackagesStatus, 0x10);
    EXPECT_EQ(pb::ServerCapabilities_OffersConnectionSettings, 0x20);
    EXPECT_EQ(pb::ServerCapabilities_AcceptsConnectionSettingsRequest, 0x40);

    EXPECT_EQ(pb::AgentToServerFlags_RequestInstanceUid, 0x1);
    EXPECT_EQ(pb::ServerToAgentFlags_ReportFullState, 0x1);
    EXPECT_EQ(pb::ServerToAgentFlags_ReportAvailableComponents, 0x2);

    EXPECT_EQ(pb::RemoteConfigStatuses_UNSET, 0);
    EXPECT_EQ(pb::RemoteConfigStatuses_APPLIED, 1);
    EXPECT_EQ(pb::RemoteConfigStatuses_APPLYING, 2);
    EXPECT_EQ(pb::RemoteConfigStatuses_FAILED, 3);
    EXPECT_EQ(pb::ConnectionSettingsStatuses_UNSET, 0);
    EXPECT_EQ(pb::ConnectionSettingsStatuses_APPLIED, 1);
    EXPECT_EQ(pb::ConnectionSettingsStatuses_APPLYING, 2);
    EXPECT_EQ(pb::ConnectionSettingsStatuses_FAILED, 3);

    EXPECT_EQ(pb::PackageStatusEnum_Installed, 0);
    EXPECT_EQ(pb::PackageStatusEnum_InstallPending, 1);
    EXPECT_EQ(pb::PackageStatusEnum_Installing, 2);
    EXPECT_EQ(pb::PackageStatusEnum_InstallFailed, 3);
    EXPECT_EQ(pb::PackageStatusEnum_Downloading, 4);
    EXPECT_EQ(pb::PackageType_TopLevel, 0);
    EXPECT_EQ(pb::PackageType_Addon, 1);
    EXPECT_EQ(pb::ServerErrorResponseType_Unknown, 0);
    EXPECT_EQ(pb::ServerErrorResponseType_BadRequest, 1);
    EXPECT_EQ(pb::ServerErrorResponseType_Unavailable, 2);
    EXPECT_EQ(pb::CommandType_Restart, 0);
}

TEST(ProtoWire, PackageNameIsTheSpecs) {
    EXPECT_EQ(pb::AgentToServer::descriptor()->full_name(), "opamp.proto.AgentToServer");
}

}  // namespace
