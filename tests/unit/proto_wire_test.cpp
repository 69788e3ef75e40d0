// Proves that proto/opamp.proto and proto/anyvalue.proto put every field on the wire where the
// OpAMP specification (v0.18) puts it, without trusting our .proto files. (One field beyond
// v0.18 is kept on purpose: ComponentHealth.attributes = 7, added by the spec in v0.19.)
//
//  * kSpec below is a literal table written from the specification: for every message its field
//    names, field numbers and wire types, and which message a length-delimited field carries.
//  * A small raw protobuf reader in this file (varint tags -> field number + wire type; skip
//    scalars, descend into length-delimited messages) walks fully populated AgentToServer and
//    ServerToAgent messages and checks every field it meets against kSpec, recursively.
//  * Every entry of kSpec must have been met, each top-level message must show exactly its
//    table, and a few messages are compared byte for byte with encodings worked out by hand.
//  * The generated descriptors are then checked against kSpec (names, counts), so a field the
//    spec does not have, or a misspelt name, fails too.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include "anyvalue.pb.h"
#include "opamp.pb.h"

namespace {

namespace pb = ::opamp::proto;

// ---------------------------------------------------------------------------------------------
// The wire types of the protobuf encoding (the low three bits of a tag).

enum class Wire : std::uint32_t { Varint = 0, I64 = 1, Len = 2, I32 = 5 };
constexpr Wire VARINT = Wire::Varint;  // int64, uint64, bool, enum
constexpr Wire I64 = Wire::I64;        // fixed64, double
constexpr Wire LEN = Wire::Len;        // string, bytes, messages, map entries, repeated of those

const char* wireName(std::uint32_t wire) {
    switch (wire) {
        case 0:
            return "VARINT";
        case 1:
            return "I64";
        case 2:
            return "LEN";
        case 5:
            return "I32";
        default:
            return "invalid";
    }
}

// ---------------------------------------------------------------------------------------------
// The expected schema, written from the OpAMP specification v0.18 (opamp.proto, anyvalue.proto).
// `carries` names the message inside a LEN field, or is empty for strings and bytes. A map
// field is a repeated LEN field whose entries are messages {key = 1, value = 2}; those entry
// messages are listed under "<Message>.<field>".

struct FieldSpec {
    const char* name;
    std::uint32_t number;
    Wire wire;
    const char* carries = "";
};

using Spec = std::map<std::string, std::vector<FieldSpec>>;

const Spec& spec() {
    static const Spec kSpec = {
        // anyvalue.proto
        {"AnyValue",
         {{"string_value", 1, LEN},
          {"bool_value", 2, VARINT},
          {"int_value", 3, VARINT},
          {"double_value", 4, I64},
          {"array_value", 5, LEN, "ArrayValue"},
          {"kvlist_value", 6, LEN, "KeyValueList"},
          {"bytes_value", 7, LEN}}},
        {"ArrayValue", {{"values", 1, LEN, "AnyValue"}}},
        {"KeyValueList", {{"values", 1, LEN, "KeyValue"}}},
        {"KeyValue", {{"key", 1, LEN}, {"value", 2, LEN, "AnyValue"}}},

        // opamp.proto: the two top-level messages
        {"AgentToServer",
         {{"instance_uid", 1, LEN},
          {"sequence_num", 2, VARINT},
          {"agent_description", 3, LEN, "AgentDescription"},
          {"capabilities", 4, VARINT},
          {"health", 5, LEN, "ComponentHealth"},
          {"effective_config", 6, LEN, "EffectiveConfig"},
          {"remote_config_status", 7, LEN, "RemoteConfigStatus"},
          {"package_statuses", 8, LEN, "PackageStatuses"},
          {"agent_disconnect", 9, LEN, "AgentDisconnect"},
          {"flags", 10, VARINT},
          {"connection_settings_request", 11, LEN, "ConnectionSettingsRequest"},
          {"custom_capabilities", 12, LEN, "CustomCapabilities"},
          {"custom_message", 13, LEN, "CustomMessage"},
          {"available_components", 14, LEN, "AvailableComponents"},
          {"connection_settings_status", 15, LEN, "ConnectionSettingsStatus"}}},
        {"ServerToAgent",
         {{"instance_uid", 1, LEN},
          {"error_response", 2, LEN, "ServerErrorResponse"},
          {"remote_config", 3, LEN, "AgentRemoteConfig"},
          {"connection_settings", 4, LEN, "ConnectionSettingsOffers"},
          {"packages_available", 5, LEN, "PackagesAvailable"},
          {"flags", 6, VARINT},
          {"capabilities", 7, VARINT},
          {"agent_identification", 8, LEN, "AgentIdentification"},
          {"command", 9, LEN, "ServerToAgentCommand"},
          {"custom_capabilities", 10, LEN, "CustomCapabilities"},
          {"custom_message", 11, LEN, "CustomMessage"}}},

        // Agent -> Server
        {"AgentDisconnect", {}},
        {"ConnectionSettingsRequest", {{"opamp", 1, LEN, "OpAMPConnectionSettingsRequest"}}},
        {"OpAMPConnectionSettingsRequest", {{"certificate_request", 1, LEN, "CertificateRequest"}}},
        {"CertificateRequest", {{"csr", 1, LEN}}},
        {"AvailableComponents",
         {{"components", 1, LEN, "AvailableComponents.components"}, {"hash", 2, LEN}}},
        {"AvailableComponents.components",
         {{"key", 1, LEN}, {"value", 2, LEN, "ComponentDetails"}}},
        {"ComponentDetails",
         {{"metadata", 1, LEN, "KeyValue"},
          {"sub_component_map", 2, LEN, "ComponentDetails.sub_component_map"}}},
        {"ComponentDetails.sub_component_map",
         {{"key", 1, LEN}, {"value", 2, LEN, "ComponentDetails"}}},
        {"AgentDescription",
         {{"identifying_attributes", 1, LEN, "KeyValue"},
          {"non_identifying_attributes", 2, LEN, "KeyValue"}}},
        {"ComponentHealth",
         {{"healthy", 1, VARINT},
          {"start_time_unix_nano", 2, I64},
          {"last_error", 3, LEN},
          {"status", 4, LEN},
          {"status_time_unix_nano", 5, I64},
          {"component_health_map", 6, LEN, "ComponentHealth.component_health_map"},
          // Not in v0.18: added by spec v0.19 (opamp-spec#334); see opamp.proto.
          {"attributes", 7, LEN, "KeyValue"}}},
        {"ComponentHealth.component_health_map",
         {{"key", 1, LEN}, {"value", 2, LEN, "ComponentHealth"}}},
        {"EffectiveConfig", {{"config_map", 1, LEN, "AgentConfigMap"}}},
        {"RemoteConfigStatus",
         {{"last_remote_config_hash", 1, LEN}, {"status", 2, VARINT}, {"error_message", 3, LEN}}},
        {"ConnectionSettingsStatus",
         {{"last_connection_settings_hash", 1, LEN},
          {"status", 2, VARINT},
          {"error_message", 3, LEN}}},
        {"PackageStatuses",
         {{"packages", 1, LEN, "PackageStatuses.packages"},
          {"server_provided_all_packages_hash", 2, LEN},
          {"error_message", 3, LEN}}},
        {"PackageStatuses.packages", {{"key", 1, LEN}, {"value", 2, LEN, "PackageStatus"}}},
        {"PackageStatus",
         {{"name", 1, LEN},
          {"agent_has_version", 2, LEN},
          {"agent_has_hash", 3, LEN},
          {"server_offered_version", 4, LEN},
          {"server_offered_hash", 5, LEN},
          {"status", 6, VARINT},
          {"error_message", 7, LEN},
          {"download_details", 8, LEN, "PackageDownloadDetails"}}},
        {"PackageDownloadDetails",
         {{"download_percent", 1, I64}, {"download_bytes_per_second", 2, I64}}},

        // Server -> Agent
        {"AgentRemoteConfig", {{"config", 1, LEN, "AgentConfigMap"}, {"config_hash", 2, LEN}}},
        {"AgentConfigMap", {{"config_map", 1, LEN, "AgentConfigMap.config_map"}}},
        {"AgentConfigMap.config_map", {{"key", 1, LEN}, {"value", 2, LEN, "AgentConfigFile"}}},
        {"AgentConfigFile", {{"body", 1, LEN}, {"content_type", 2, LEN}}},
        {"ConnectionSettingsOffers",
         {{"hash", 1, LEN},
          {"opamp", 2, LEN, "OpAMPConnectionSettings"},
          {"own_metrics", 3, LEN, "TelemetryConnectionSettings"},
          {"own_traces", 4, LEN, "TelemetryConnectionSettings"},
          {"own_logs", 5, LEN, "TelemetryConnectionSettings"},
          {"other_connections", 6, LEN, "ConnectionSettingsOffers.other_connections"}}},
        {"ConnectionSettingsOffers.other_connections",
         {{"key", 1, LEN}, {"value", 2, LEN, "OtherConnectionSettings"}}},
        {"OpAMPConnectionSettings",
         {{"destination_endpoint", 1, LEN},
          {"headers", 2, LEN, "Headers"},
          {"certificate", 3, LEN, "TLSCertificate"},
          {"heartbeat_interval_seconds", 4, VARINT},
          {"tls", 5, LEN, "TLSConnectionSettings"},
          {"proxy", 6, LEN, "ProxyConnectionSettings"}}},
        {"TelemetryConnectionSettings",
         {{"destination_endpoint", 1, LEN},
          {"headers", 2, LEN, "Headers"},
          {"certificate", 3, LEN, "TLSCertificate"},
          {"tls", 4, LEN, "TLSConnectionSettings"},
          {"proxy", 5, LEN, "ProxyConnectionSettings"}}},
        {"OtherConnectionSettings",
         {{"destination_endpoint", 1, LEN},
          {"headers", 2, LEN, "Headers"},
          {"certificate", 3, LEN, "TLSCertificate"},
          {"other_settings", 4, LEN, "OtherConnectionSettings.other_settings"},
          {"tls", 5, LEN, "TLSConnectionSettings"},
          {"proxy", 6, LEN, "ProxyConnectionSettings"}}},
        {"OtherConnectionSettings.other_settings", {{"key", 1, LEN}, {"value", 2, LEN}}},
        {"TLSConnectionSettings",
         {{"ca_pem_contents", 1, LEN},
          {"include_system_ca_certs_pool", 2, VARINT},
          {"insecure_skip_verify", 3, VARINT},
          {"min_version", 4, LEN},
          {"max_version", 5, LEN},
          {"cipher_suites", 6, LEN}}},
        {"ProxyConnectionSettings", {{"url", 1, LEN}, {"connect_headers", 2, LEN, "Headers"}}},
        {"Headers", {{"headers", 1, LEN, "Header"}}},
        {"Header", {{"key", 1, LEN}, {"value", 2, LEN}}},
        {"TLSCertificate", {{"cert", 1, LEN}, {"private_key", 2, LEN}, {"ca_cert", 3, LEN}}},
        {"PackagesAvailable",
         {{"packages", 1, LEN, "PackagesAvailable.packages"}, {"all_packages_hash", 2, LEN}}},
        {"PackagesAvailable.packages", {{"key", 1, LEN}, {"value", 2, LEN, "PackageAvailable"}}},
        {"PackageAvailable",
         {{"type", 1, VARINT},
          {"version", 2, LEN},
          {"file", 3, LEN, "DownloadableFile"},
          {"hash", 4, LEN}}},
        {"DownloadableFile",
         {{"download_url", 1, LEN},
          {"content_hash", 2, LEN},
          {"signature", 3, LEN},
          {"headers", 4, LEN, "Headers"}}},
        {"ServerErrorResponse",
         {{"type", 1, VARINT}, {"error_message", 2, LEN}, {"retry_info", 3, LEN, "RetryInfo"}}},
        {"RetryInfo", {{"retry_after_nanoseconds", 1, VARINT}}},
        {"ServerToAgentCommand", {{"type", 1, VARINT}}},
        {"AgentIdentification", {{"new_instance_uid", 1, LEN}}},

        // Both directions
        {"CustomCapabilities", {{"capabilities", 1, LEN}}},
        {"CustomMessage", {{"capability", 1, LEN}, {"type", 2, LEN}, {"data", 3, LEN}}},
    };
    return kSpec;
}

bool isMapEntry(const std::string& specName) {
    return specName.find('.') != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// An independent raw reader of the protobuf encoding.

struct RawField {
    std::uint32_t number = 0;
    std::uint32_t wire = 0;
    std::uint64_t varint = 0;  // VARINT fields
    std::string bytes;         // LEN content, or the 8 / 4 little-endian bytes of I64 / I32
};

bool readVarint(std::string_view in, std::size_t& pos, std::uint64_t& out) {
    out = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (pos >= in.size()) {
            return false;
        }
        auto byte = static_cast<std::uint8_t>(in[pos++]);
        out |= static_cast<std::uint64_t>(byte & 0x7FU) << shift;
        if ((byte & 0x80U) == 0) {
            return true;
        }
    }
    return false;  // longer than ten bytes
}

bool take(std::string_view in, std::size_t& pos, std::uint64_t count, std::string& out) {
    if (count > in.size() - pos) {
        return false;
    }
    out.assign(in.substr(pos, static_cast<std::size_t>(count)));
    pos += static_cast<std::size_t>(count);
    return true;
}

// Splits one encoded message into its fields; false when the bytes are not a valid encoding.
bool readFields(std::string_view in, std::vector<RawField>& out) {
    out.clear();
    std::size_t pos = 0;
    while (pos < in.size()) {
        std::uint64_t tag = 0;
        if (!readVarint(in, pos, tag)) {
            return false;
        }
        RawField field;
        field.number = static_cast<std::uint32_t>(tag >> 3U);
        field.wire = static_cast<std::uint32_t>(tag & 7U);
        if (field.number == 0) {
            return false;
        }
        bool ok = false;
        switch (field.wire) {
            case 0:
                ok = readVarint(in, pos, field.varint);
                break;
            case 1:
                ok = take(in, pos, 8, field.bytes);
                break;
            case 2: {
                std::uint64_t length = 0;
                ok = readVarint(in, pos, length) && take(in, pos, length, field.bytes);
                break;
            }
            case 5:
                ok = take(in, pos, 4, field.bytes);
                break;
            default:
                ok = false;  // groups (3, 4) and 6, 7 do not occur in proto3
                break;
        }
        if (!ok) {
            return false;
        }
        out.push_back(std::move(field));
    }
    return true;
}

// The (field number, wire type) pairs at the top level of an encoded message.
std::set<std::pair<std::uint32_t, std::uint32_t>> topLevelOf(const std::string& bytes) {
    std::vector<RawField> fields;
    EXPECT_TRUE(readFields(bytes, fields)) << "not a valid protobuf encoding";
    std::set<std::pair<std::uint32_t, std::uint32_t>> found;
    for (const auto& field : fields) {
        found.emplace(field.number, field.wire);
    }
    return found;
}

std::set<std::pair<std::uint32_t, std::uint32_t>> expectedTopLevelOf(const std::string& message) {
    std::set<std::pair<std::uint32_t, std::uint32_t>> expected;
    for (const auto& field : spec().at(message)) {
        expected.emplace(field.number, static_cast<std::uint32_t>(field.wire));
    }
    return expected;
}

// Walks an encoded message against the spec table, descending into every nested message.
class SpecWalker {
  public:
    void walk(const std::string& message, std::string_view bytes, const std::string& path) {
        std::vector<RawField> fields;
        if (!readFields(bytes, fields)) {
            errors_.push_back(path + ": not a valid protobuf encoding");
            return;
        }
        const auto& table = spec().at(message);
        for (const auto& field : fields) {
            const FieldSpec* expected = nullptr;
            for (const auto& candidate : table) {
                if (candidate.number == field.number) {
                    expected = &candidate;
                }
            }
            if (expected == nullptr) {
                errors_.push_back(path + ": field number " + std::to_string(field.number) +
                                  " is not in " + message + " per the spec");
                continue;
            }
            std::string where = path + "." + expected->name;
            if (field.wire != static_cast<std::uint32_t>(expected->wire)) {
                errors_.push_back(where + ": wire type " + wireName(field.wire) + ", spec says " +
                                  wireName(static_cast<std::uint32_t>(expected->wire)));
                continue;
            }
            seen_.insert(message + "." + expected->name);
            if (*expected->carries != '\0') {
                walk(expected->carries, field.bytes, where);
            }
        }
    }

    const std::set<std::string>& seen() const { return seen_; }
    const std::vector<std::string>& errors() const { return errors_; }

  private:
    std::set<std::string> seen_;
    std::vector<std::string> errors_;
};

// ---------------------------------------------------------------------------------------------
// Fully populated messages: every field of every message set to a non-default value, so that
// proto3 puts it on the wire.

void setString(pb::KeyValue* kv, const std::string& key, const std::string& value) {
    kv->set_key(key);
    kv->mutable_value()->set_string_value(value);
}

void fill(pb::Headers* headers) {
    pb::Header* header = headers->add_headers();
    header->set_key("Authorization");
    header->set_value("Bearer t");
}

void fill(pb::TLSCertificate* certificate) {
    certificate->set_cert("-----BEGIN CERTIFICATE-----");
    certificate->set_private_key("-----BEGIN PRIVATE KEY-----");
    certificate->set_ca_cert("-----BEGIN CERTIFICATE----- ca");
}

void fill(pb::TLSConnectionSettings* tls) {
    tls->set_ca_pem_contents("-----BEGIN CERTIFICATE----- ca");
    tls->set_include_system_ca_certs_pool(true);
    tls->set_insecure_skip_verify(true);
    tls->set_min_version("1.2");
    tls->set_max_version("1.3");
    tls->add_cipher_suites("TLS_AES_128_GCM_SHA256");
}

void fill(pb::ProxyConnectionSettings* proxy) {
    proxy->set_url("http://proxy:3128");
    fill(proxy->mutable_connect_headers());
}

void fill(pb::ComponentDetails* details, int depth) {
    setString(details->add_metadata(), "code.namespace", "otlpreceiver");
    if (depth > 0) {
        fill(&(*details->mutable_sub_component_map())["otlp"], depth - 1);
    }
}

pb::AgentToServer fullAgentToServer() {
    pb::AgentToServer m;
    m.set_instance_uid(std::string(16, '\x01'));
    m.set_sequence_num(7);

    // Between them, the attributes use every case of the AnyValue oneof.
    pb::AgentDescription* description = m.mutable_agent_description();
    setString(description->add_identifying_attributes(), "service.name", "otelcol");
    pb::KeyValue* kv = description->add_identifying_attributes();
    kv->set_key("b");
    kv->mutable_value()->set_bool_value(true);
    kv = description->add_identifying_attributes();
    kv->set_key("i");
    kv->mutable_value()->set_int_value(-5);
    kv = description->add_identifying_attributes();
    kv->set_key("d");
    kv->mutable_value()->set_double_value(0.5);
    kv = description->add_non_identifying_attributes();
    kv->set_key("array");
    kv->mutable_value()->mutable_array_value()->add_values()->set_string_value("x");
    kv = description->add_non_identifying_attributes();
    kv->set_key("kvlist");
    setString(kv->mutable_value()->mutable_kvlist_value()->add_values(), "inner", "y");
    kv = description->add_non_identifying_attributes();
    kv->set_key("bytes");
    kv->mutable_value()->set_bytes_value(std::string("\x00\xff", 2));

    m.set_capabilities(0xFFFF);

    pb::ComponentHealth* health = m.mutable_health();
    health->set_healthy(true);
    health->set_start_time_unix_nano(1'700'000'000'000'000'000ULL);
    health->set_last_error("none");
    health->set_status("StatusOK");
    health->set_status_time_unix_nano(1'700'000'000'000'000'001ULL);
    pb::ComponentHealth& pipeline = (*health->mutable_component_health_map())["pipeline:traces"];
    pipeline.set_healthy(true);
    pipeline.set_status("StatusOK");
    setString(health->add_attributes(), "error_msg", "none");

    pb::AgentConfigFile& file =
        (*m.mutable_effective_config()->mutable_config_map()->mutable_config_map())[""];
    file.set_body("receivers: {}");
    file.set_content_type("text/yaml");

    pb::RemoteConfigStatus* remoteStatus = m.mutable_remote_config_status();
    remoteStatus->set_last_remote_config_hash("rh");
    remoteStatus->set_status(pb::RemoteConfigStatuses_FAILED);
    remoteStatus->set_error_message("bad yaml");

    pb::PackageStatuses* packages = m.mutable_package_statuses();
    pb::PackageStatus& package = (*packages->mutable_packages())["otelcol"];
    package.set_name("otelcol");
    package.set_agent_has_version("0.1");
    package.set_agent_has_hash("ah");
    package.set_server_offered_version("0.2");
    package.set_server_offered_hash("sh");
    package.set_status(pb::PackageStatusEnum_Downloading);
    package.set_error_message("slow");
    package.mutable_download_details()->set_download_percent(50.0);
    package.mutable_download_details()->set_download_bytes_per_second(1024.0);
    packages->set_server_provided_all_packages_hash("ph");
    packages->set_error_message("partial");

    m.mutable_agent_disconnect();
    m.set_flags(pb::AgentToServerFlags_RequestInstanceUid);
    m.mutable_connection_settings_request()
        ->mutable_opamp()
        ->mutable_certificate_request()
        ->set_csr("-----BEGIN CERTIFICATE REQUEST-----");
    m.mutable_custom_capabilities()->add_capabilities("io.example.cap/v2");
    m.mutable_custom_message()->set_capability("io.example.cap/v2");
    m.mutable_custom_message()->set_type("ping");
    m.mutable_custom_message()->set_data("d");

    pb::AvailableComponents* components = m.mutable_available_components();
    fill(&(*components->mutable_components())["receivers"], 1);
    components->set_hash("ch");

    pb::ConnectionSettingsStatus* settingsStatus = m.mutable_connection_settings_status();
    settingsStatus->set_last_connection_settings_hash("csh");
    settingsStatus->set_status(pb::ConnectionSettingsStatuses_APPLYING);
    settingsStatus->set_error_message("reconnecting");
    return m;
}

pb::ServerToAgent fullServerToAgent() {
    pb::ServerToAgent m;
    m.set_instance_uid(std::string(16, '\x02'));

    pb::ServerErrorResponse* error = m.mutable_error_response();
    error->set_type(pb::ServerErrorResponseType_Unavailable);
    error->set_error_message("busy");
    error->mutable_retry_info()->set_retry_after_nanoseconds(30'000'000'000ULL);

    pb::AgentRemoteConfig* remote = m.mutable_remote_config();
    pb::AgentConfigFile& file = (*remote->mutable_config()->mutable_config_map())["main.yaml"];
    file.set_body("exporters: {}");
    file.set_content_type("text/yaml");
    remote->set_config_hash("rch");

    pb::ConnectionSettingsOffers* offers = m.mutable_connection_settings();
    offers->set_hash("oh");
    pb::OpAMPConnectionSettings* opamp = offers->mutable_opamp();
    opamp->set_destination_endpoint("wss://example.com:4320/v1/opamp");
    fill(opamp->mutable_headers());
    fill(opamp->mutable_certificate());
    opamp->set_heartbeat_interval_seconds(30);
    fill(opamp->mutable_tls());
    fill(opamp->mutable_proxy());
    for (pb::TelemetryConnectionSettings* telemetry :
         {offers->mutable_own_metrics(), offers->mutable_own_traces(),
          offers->mutable_own_logs()}) {
        telemetry->set_destination_endpoint("https://example.com:4318/v1/metrics");
        fill(telemetry->mutable_headers());
        fill(telemetry->mutable_certificate());
        fill(telemetry->mutable_tls());
        fill(telemetry->mutable_proxy());
    }
    pb::OtherConnectionSettings& other = (*offers->mutable_other_connections())["db"];
    other.set_destination_endpoint("db:5432");
    fill(other.mutable_headers());
    fill(other.mutable_certificate());
    (*other.mutable_other_settings())["sslmode"] = "require";
    fill(other.mutable_tls());
    fill(other.mutable_proxy());

    pb::PackagesAvailable* available = m.mutable_packages_available();
    pb::PackageAvailable& package = (*available->mutable_packages())["addon"];
    package.set_type(pb::PackageType_Addon);
    package.set_version("1.0");
    package.mutable_file()->set_download_url("https://example.com/addon.tar.gz");
    package.mutable_file()->set_content_hash("sha256");
    package.mutable_file()->set_signature("sig");
    fill(package.mutable_file()->mutable_headers());
    package.set_hash("pkh");
    available->set_all_packages_hash("aph");

    m.set_flags(pb::ServerToAgentFlags_ReportFullState |
                pb::ServerToAgentFlags_ReportAvailableComponents);
    m.set_capabilities(0x7F);
    m.mutable_agent_identification()->set_new_instance_uid(std::string(16, '\x03'));
    // Restart is 0, the default, which proto3 leaves off the wire; 1 (an unknown value of an
    // open enum) makes the field visible.
    m.mutable_command()->set_type(static_cast<pb::CommandType>(1));
    m.mutable_custom_capabilities()->add_capabilities("io.example.cap/v2");
    m.mutable_custom_message()->set_capability("io.example.cap/v2");
    m.mutable_custom_message()->set_type("pong");
    m.mutable_custom_message()->set_data("d");
    return m;
}

std::string bytes(std::initializer_list<unsigned> values) {
    std::string out;
    for (unsigned value : values) {
        out.push_back(static_cast<char>(value));
    }
    return out;
}

std::string hex(const std::string& data) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (char c : data) {
        auto byte = static_cast<unsigned char>(c);
        out.push_back(kDigits[byte >> 4U]);
        out.push_back(kDigits[byte & 0xFU]);
        out.push_back(' ');
    }
    return out;
}

// ---------------------------------------------------------------------------------------------

TEST(ProtoWire, RawReaderReadsKnownEncodings) {
    // The reader itself, on encodings from the protobuf documentation: 150 in field 1.
    std::vector<RawField> fields;
    ASSERT_TRUE(readFields(bytes({0x08, 0x96, 0x01}), fields));
    ASSERT_EQ(fields.size(), 1U);
    EXPECT_EQ(fields[0].number, 1U);
    EXPECT_EQ(fields[0].wire, 0U);
    EXPECT_EQ(fields[0].varint, 150U);
    // "testing" in field 2.
    ASSERT_TRUE(readFields(bytes({0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'}), fields));
    ASSERT_EQ(fields.size(), 1U);
    EXPECT_EQ(fields[0].number, 2U);
    EXPECT_EQ(fields[0].wire, 2U);
    EXPECT_EQ(fields[0].bytes, "testing");
    // Truncated input is refused.
    EXPECT_FALSE(readFields(bytes({0x12, 0x07, 't'}), fields));
    EXPECT_FALSE(readFields(bytes({0x08, 0x96}), fields));
}

TEST(ProtoWire, AgentToServerHasExactlyTheSpecsFifteenFields) {
    EXPECT_EQ(topLevelOf(fullAgentToServer().SerializeAsString()),
              expectedTopLevelOf("AgentToServer"));
    EXPECT_EQ(spec().at("AgentToServer").size(), 15U);
}

TEST(ProtoWire, ServerToAgentHasExactlyTheSpecsElevenFields) {
    EXPECT_EQ(topLevelOf(fullServerToAgent().SerializeAsString()),
              expectedTopLevelOf("ServerToAgent"));
    EXPECT_EQ(spec().at("ServerToAgent").size(), 11U);
}

TEST(ProtoWire, EveryNestedFieldIsWhereTheSpecSays) {
    SpecWalker walker;
    walker.walk("AgentToServer", fullAgentToServer().SerializeAsString(), "AgentToServer");
    walker.walk("ServerToAgent", fullServerToAgent().SerializeAsString(), "ServerToAgent");
    for (const auto& error : walker.errors()) {
        ADD_FAILURE() << error;
    }
    // Every field of every message in the table was met somewhere in the two messages.
    for (const auto& [message, fields] : spec()) {
        for (const auto& field : fields) {
            EXPECT_TRUE(walker.seen().count(message + "." + field.name) == 1)
                << message << "." << field.name << " (" << field.number
                << ") never appeared on the wire";
        }
    }
}

TEST(ProtoWire, GeneratedDescriptorsMatchTheSpecTable) {
    const auto* pool = google::protobuf::DescriptorPool::generated_pool();
    std::set<std::string> tableMessages;
    for (const auto& [message, fields] : spec()) {
        if (isMapEntry(message)) {
            continue;
        }
        tableMessages.insert(message);
        const auto* descriptor = pool->FindMessageTypeByName("opamp.proto." + message);
        ASSERT_NE(descriptor, nullptr) << message;
        EXPECT_EQ(static_cast<std::size_t>(descriptor->field_count()), fields.size()) << message;
        for (const auto& field : fields) {
            const auto* fd = descriptor->FindFieldByNumber(static_cast<int>(field.number));
            if (fd == nullptr) {
                ADD_FAILURE() << message << "." << field.name << ": no field " << field.number;
                continue;
            }
            EXPECT_EQ(fd->name(), field.name) << message << " field " << field.number;
        }
    }
    // The two oneofs of the spec (membership is API, not wire, but keep them as the spec has).
    const auto* anyValue = pb::AnyValue::descriptor();
    for (int i = 0; i < anyValue->field_count(); ++i) {
        ASSERT_NE(anyValue->field(i)->containing_oneof(), nullptr) << anyValue->field(i)->name();
        EXPECT_EQ(anyValue->field(i)->containing_oneof()->name(), "value");
    }
    const auto* retryInfo = pb::ServerErrorResponse::descriptor()->FindFieldByName("retry_info");
    ASSERT_NE(retryInfo, nullptr);
    ASSERT_NE(retryInfo->containing_oneof(), nullptr);
    EXPECT_EQ(retryInfo->containing_oneof()->name(), "Details");

    // And no message of our .proto files is missing from the table.
    std::set<std::string> protoMessages;
    for (const char* file : {"opamp.proto", "anyvalue.proto"}) {
        const auto* fd = pool->FindFileByName(file);
        ASSERT_NE(fd, nullptr) << file;
        EXPECT_EQ(fd->package(), "opamp.proto");
        for (int i = 0; i < fd->message_type_count(); ++i) {
            protoMessages.insert(fd->message_type(i)->name());
        }
    }
    EXPECT_EQ(protoMessages, tableMessages);
}

TEST(ProtoWire, ExactEncodings) {
    pb::AgentToServer status;
    status.set_sequence_num(1);
    status.set_capabilities(pb::AgentCapabilities_ReportsStatus |
                            pb::AgentCapabilities_ReportsHeartbeat);  // 0x2001
    // Field 2 varint 1; field 4 varint 0x2001 = 0x81 0x40.
    EXPECT_EQ(hex(status.SerializeAsString()), hex(bytes({0x10, 0x01, 0x20, 0x81, 0x40})));

    pb::AgentToServer uid;
    uid.set_instance_uid(bytes({0x01, 0x8f, 0x2e, 0x4b, 0x6a, 0x10, 0x7c, 0x3d, 0x9e, 0x01, 0x23,
                                0x45, 0x67, 0x89, 0xab, 0xcd}));
    EXPECT_EQ(hex(uid.SerializeAsString()),
              hex(bytes({0x0a, 0x10, 0x01, 0x8f, 0x2e, 0x4b, 0x6a, 0x10, 0x7c, 0x3d, 0x9e, 0x01,
                         0x23, 0x45, 0x67, 0x89, 0xab, 0xcd})));

    pb::AgentToServer last;
    last.mutable_agent_disconnect();  // field 9, empty message
    EXPECT_EQ(hex(last.SerializeAsString()), hex(bytes({0x4a, 0x00})));

    pb::AgentToServer late;
    late.mutable_available_components()->set_hash("h");  // field 14 { field 2 "h" }
    late.mutable_connection_settings_status()->set_status(
        pb::ConnectionSettingsStatuses_APPLIED);  // field 15 { field 2 varint 1 }
    EXPECT_EQ(hex(late.SerializeAsString()),
              hex(bytes({0x72, 0x03, 0x12, 0x01, 'h', 0x7a, 0x02, 0x10, 0x01})));

    pb::ComponentHealth health;
    health.set_start_time_unix_nano(0x0102030405060708ULL);  // fixed64, little-endian
    EXPECT_EQ(hex(health.SerializeAsString()),
              hex(bytes({0x11, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01})));
    health.Clear();
    health.set_status_time_unix_nano(1);
    EXPECT_EQ(hex(health.SerializeAsString()),
              hex(bytes({0x29, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00})));

    pb::ServerToAgent reply;
    reply.set_flags(pb::ServerToAgentFlags_ReportFullState);
    reply.set_capabilities(0x7F);
    EXPECT_EQ(hex(reply.SerializeAsString()), hex(bytes({0x30, 0x01, 0x38, 0x7f})));

    pb::ServerToAgent retry;
    retry.mutable_error_response()->set_type(pb::ServerErrorResponseType_Unavailable);
    retry.mutable_error_response()->mutable_retry_info()->set_retry_after_nanoseconds(300);
    // field 2 { field 1 varint 2; field 3 { field 1 varint 300 = 0xac 0x02 } }
    EXPECT_EQ(hex(retry.SerializeAsString()),
              hex(bytes({0x12, 0x07, 0x08, 0x02, 0x1a, 0x03, 0x08, 0xac, 0x02})));

    pb::OpAMPConnectionSettings heartbeat;
    heartbeat.set_heartbeat_interval_seconds(30);
    EXPECT_EQ(hex(heartbeat.SerializeAsString()), hex(bytes({0x20, 0x1e})));

    pb::AnyValue number;
    number.set_double_value(1.5);  // 0x3FF8000000000000
    EXPECT_EQ(hex(number.SerializeAsString()),
              hex(bytes({0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f})));
    number.set_int_value(-1);  // int64, not zigzag: ten bytes
    EXPECT_EQ(hex(number.SerializeAsString()),
              hex(bytes({0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})));

    pb::AgentConfigMap map;
    (*map.mutable_config_map())[""].set_body("x");
    // field 1 { key "" ; value { body "x" } }: a map entry writes its key even when empty.
    EXPECT_EQ(hex(map.SerializeAsString()),
              hex(bytes({0x0a, 0x07, 0x0a, 0x00, 0x12, 0x03, 0x0a, 0x01, 'x'})));
}

TEST(ProtoWire, EnumValuesMatchTheSpec) {
    EXPECT_EQ(pb::AgentCapabilities_Unspecified, 0);
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

    EXPECT_EQ(pb::ServerCapabilities_Unspecified, 0);
    EXPECT_EQ(pb::ServerCapabilities_AcceptsStatus, 0x1);
    EXPECT_EQ(pb::ServerCapabilities_OffersRemoteConfig, 0x2);
    EXPECT_EQ(pb::ServerCapabilities_AcceptsEffectiveConfig, 0x4);
    EXPECT_EQ(pb::ServerCapabilities_OffersPackages, 0x8);
    EXPECT_EQ(pb::ServerCapabilities_AcceptsPackagesStatus, 0x10);
    EXPECT_EQ(pb::ServerCapabilities_OffersConnectionSettings, 0x20);
    EXPECT_EQ(pb::ServerCapabilities_AcceptsConnectionSettingsRequest, 0x40);

    EXPECT_EQ(pb::AgentToServerFlags_Unspecified, 0);
    EXPECT_EQ(pb::AgentToServerFlags_RequestInstanceUid, 0x1);
    EXPECT_EQ(pb::ServerToAgentFlags_Unspecified, 0);
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

    // No enum has a value the spec does not define.
    const std::map<std::string, int> valueCounts = {
        {"AgentCapabilities", 17}, {"ServerCapabilities", 8},   {"AgentToServerFlags", 2},
        {"ServerToAgentFlags", 3}, {"RemoteConfigStatuses", 4}, {"ConnectionSettingsStatuses", 4},
        {"PackageStatusEnum", 5},  {"PackageType", 2},          {"ServerErrorResponseType", 3},
        {"CommandType", 1},
    };
    const auto* file =
        google::protobuf::DescriptorPool::generated_pool()->FindFileByName("opamp.proto");
    ASSERT_NE(file, nullptr);
    EXPECT_EQ(static_cast<std::size_t>(file->enum_type_count()), valueCounts.size());
    for (const auto& [name, count] : valueCounts) {
        const auto* descriptor = file->FindEnumTypeByName(name);
        ASSERT_NE(descriptor, nullptr) << name;
        EXPECT_EQ(descriptor->value_count(), count) << name;
    }
}

TEST(ProtoWire, RoundTripKeepsEverything) {
    const pb::AgentToServer original = fullAgentToServer();
    pb::AgentToServer parsed;
    ASSERT_TRUE(parsed.ParseFromString(original.SerializeAsString()));
    EXPECT_EQ(parsed.DebugString(), original.DebugString());
    EXPECT_EQ(parsed.health().start_time_unix_nano(), 1'700'000'000'000'000'000ULL);
    EXPECT_EQ(parsed.agent_description().non_identifying_attributes(2).value().bytes_value(),
              std::string("\x00\xff", 2));

    const pb::ServerToAgent reply = fullServerToAgent();
    pb::ServerToAgent parsedReply;
    ASSERT_TRUE(parsedReply.ParseFromString(reply.SerializeAsString()));
    EXPECT_EQ(parsedReply.DebugString(), reply.DebugString());
    EXPECT_TRUE(parsedReply.error_response().has_retry_info());
    EXPECT_EQ(parsedReply.connection_settings().opamp().heartbeat_interval_seconds(), 30U);
}

}  // namespace
