#include "ComponentSettings.h"

#include <cctype>

#include "ConfigDecode.h"

namespace opampsup::standin {

namespace {

// The keys of the collector's configtls.ClientConfig; the transport uses the main ones.
config::TlsClientSettings decodeTls(MapDecoder tls) {
    config::TlsClientSettings out;
    out.insecure = tls.boolean("insecure").value_or(false);
    out.insecureSkipVerify = tls.boolean("insecure_skip_verify").value_or(false);
    out.caFile = tls.string("ca_file").value_or("");
    out.caPem = tls.string("ca_pem").value_or("");
    out.certFile = tls.string("cert_file").value_or("");
    out.certPem = tls.string("cert_pem").value_or("");
    out.keyFile = tls.string("key_file").value_or("");
    out.keyPem = tls.string("key_pem").value_or("");
    out.minVersion = tls.string("min_version").value_or("");
    out.maxVersion = tls.string("max_version").value_or("");
    out.serverNameOverride = tls.string("server_name_override").value_or("");
    out.includeSystemCaCertsPool = tls.boolean("include_system_ca_certs_pool").value_or(false);
    for (const char* ignored : {"cipher_suites", "curve_preferences", "reload_interval"}) {
        tls.accept(ignored);
    }
    tls.finish();
    return out;
}

int crockfordValue(char c) {
    static const std::string kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    auto pos = kAlphabet.find(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    return pos == std::string::npos ? -1 : static_cast<int>(pos);
}

std::optional<opamp::Uuid> parseUlid(const std::string& text) {
    if (text.size() != 26 || crockfordValue(text[0]) > 7) {
        return std::nullopt;
    }
    // 26 base-32 digits hold 130 bits; the top two are zero. Shift them into 16 bytes.
    opamp::Uuid::Bytes bytes{};
    for (char c : text) {
        int v = crockfordValue(c);
        if (v < 0) {
            return std::nullopt;
        }
        unsigned carry = static_cast<unsigned>(v);
        for (std::size_t i = bytes.size(); i-- > 0;) {
            unsigned shifted = (static_cast<unsigned>(bytes[i]) << 5) | carry;
            bytes[i] = static_cast<std::uint8_t>(shifted & 0xFF);
            carry = shifted >> 8;
        }
    }
    return opamp::Uuid(bytes);
}

}  // namespace

std::optional<opamp::Uuid> parseInstanceId(const std::string& text) {
    std::string t = text;
    if (t.size() == 45 && t.compare(0, 9, "urn:uuid:") == 0) {
        t = t.substr(9);
    } else if (t.size() == 38 && t.front() == '{' && t.back() == '}') {
        t = t.substr(1, 36);
    } else if (t.size() == 32) {
        t = t.substr(0, 8) + "-" + t.substr(8, 4) + "-" + t.substr(12, 4) + "-" + t.substr(16, 4) +
            "-" + t.substr(20);
    }
    if (auto uuid = opamp::Uuid::parse(t)) {
        return uuid;
    }
    return parseUlid(text);
}

StandinReceiverSettings StandinReceiverSettings::decode(const YAML::Node& node) {
    std::vector<std::string> errors;
    MapDecoder d(node, "", errors);
    StandinReceiverSettings s;
    s.crashAfter = d.duration("crash_after");
    s.exitCode = d.integer("exit_code").value_or(s.exitCode);
    s.unhealthyAfter = d.duration("unhealthy_after");
    s.slowStart = d.duration("slow_start").value_or(s.slowStart);
    s.ignoreStopSignal = d.boolean("ignore_stop_signal").value_or(false);
    s.logLines = d.integer("log_lines").value_or(0);
    s.logLinesPerInterval = d.integer("log_lines_per_interval").value_or(0);
    s.memoryHogMib = d.integer("memory_hog_mib").value_or(0);
    s.interval = d.duration("interval").value_or(s.interval);
    s.echoCustomCapability = d.string("echo_custom_capability").value_or("");
    s.floodCustomMessages = d.integer("flood_custom_messages").value_or(0);
    s.opampNeverConnects = d.boolean("opamp_never_connects").value_or(false);
    d.finish();
    throwIfErrors(errors);
    return s;
}

std::optional<std::string> StandinReceiverSettings::validate() const {
    if (exitCode < 0 || exitCode > 255) {
        return "exit_code must be between 0 and 255";
    }
    if (interval.count() <= 0) {
        return "interval must be greater than 0";
    }
    if (logLines < 0 || memoryHogMib < 0 || logLinesPerInterval < 0 || floodCustomMessages < 0) {
        return "log_lines, log_lines_per_interval, flood_custom_messages and memory_hog_mib must "
               "not be negative";
    }
    for (const auto& d : {crashAfter, unhealthyAfter, std::optional(slowStart)}) {
        if (d && d->count() < 0) {
            return "crash_after, unhealthy_after and slow_start must not be negative";
        }
    }
    return std::nullopt;
}

FileExporterSettings FileExporterSettings::decode(const YAML::Node& node) {
    std::vector<std::string> errors;
    MapDecoder d(node, "", errors);
    FileExporterSettings s;
    s.path = d.string("path").value_or("");
    s.append = d.boolean("append").value_or(false);
    // The real exporter's other keys are accepted: the stand-in writes its own format.
    for (const char* ignored :
         {"rotation", "format", "encoding", "compression", "flush_interval", "group_by"}) {
        d.accept(ignored);
    }
    d.finish();
    throwIfErrors(errors);
    return s;
}

std::optional<std::string> FileExporterSettings::validate() const {
    if (path.empty()) {
        return "path must be non-empty";
    }
    return std::nullopt;
}

OpampExtensionSettings OpampExtensionSettings::decode(const YAML::Node& node) {
    std::vector<std::string> errors;
    MapDecoder d(node, "", errors);
    OpampExtensionSettings s;
    s.instanceUid = d.string("instance_uid").value_or("");
    MapDecoder server = d.child("server");
    for (const char* transport : {"ws", "http"}) {
        if (!server.has(transport)) {
            server.accept(transport);
            continue;
        }
        (std::string(transport) == "ws" ? s.ws : s.http) = true;
        MapDecoder t = server.child(transport);
        s.endpoint = t.string("endpoint").value_or("");
        if (auto headers = t.stringMap("headers")) {
            for (const auto& [name, value] : *headers) {
                s.headers[name] = {value};
            }
        }
        s.tls = decodeTls(t.child("tls"));
        t.accept("auth");
        if (std::string(transport) == "http") {
            s.pollingInterval = t.duration("polling_interval").value_or(s.pollingInterval);
        }
        t.finish();
    }
    server.finish();
    MapDecoder caps = d.child("capabilities");
    s.reportsEffectiveConfig = caps.boolean("reports_effective_config").value_or(true);
    s.reportsHealth = caps.boolean("reports_health").value_or(true);
    s.reportsAvailableComponents = caps.boolean("reports_available_components").value_or(true);
    caps.finish();
    MapDecoder description = d.child("agent_description");
    s.nonIdentifyingAttributes =
        description.stringMap("non_identifying_attributes").value_or(s.nonIdentifyingAttributes);
    s.includeResourceAttributes =
        description.boolean("include_resource_attributes").value_or(false);
    description.finish();
    s.ppid = d.integer("ppid").value_or(0);
    s.ppidPollInterval = d.duration("ppid_poll_interval").value_or(s.ppidPollInterval);
    d.finish();
    throwIfErrors(errors);
    return s;
}

std::optional<std::string> OpampExtensionSettings::validate() const {
    // The opamp extension's Validate(), in its order and words.
    if (!ws && !http) {
        return "opamp server must have at least ws or http set";
    }
    if (ws && http) {
        return "opamp server must have only ws or http set";
    }
    if (endpoint.empty()) {
        return "opamp server endpoint must be provided";
    }
    if (http && pollingInterval.count() < 0) {
        return "polling interval must be 0 or greater";
    }
    if (!instanceUid.empty() && !parsedInstanceUid()) {
        return "opamp instance_uid is invalid";
    }
    return std::nullopt;
}

std::optional<opamp::Uuid> OpampExtensionSettings::parsedInstanceUid() const {
    return parseInstanceId(instanceUid);
}

}  // namespace opampsup::standin
