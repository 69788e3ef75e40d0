#include "core/effective/OtherConnections.h"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <variant>

#include <google/protobuf/util/message_differencer.h>
#include <yaml-cpp/yaml.h>

namespace opampsup::effective {
namespace pb = ::opamp::proto;

namespace {

constexpr std::string_view kPrefix = "${opamp:other_connections.";
constexpr const char* kFields =
    "endpoint, headers, headers.<key>, other_settings, other_settings.<key>, tls.ca_file, "
    "tls.cert_file, tls.key_file, tls.insecure_skip_verify, tls.include_system_ca_certs_pool, "
    "tls.min_version, tls.max_version, tls.cipher_suites, proxy_url";

// A name as a file name: other characters become '_', and a short hash of the original keeps
// two names that differ only there apart.
std::string fileStem(const std::string& name) {
    std::string stem;
    bool changed = name.empty();
    for (char c : name) {
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_';
        stem += plain ? c : '_';
        changed = changed || !plain;
    }
    if (changed) {
        std::uint32_t h = 2166136261U;  // FNV-1a
        for (char c : name) {
            h = (h ^ static_cast<unsigned char>(c)) * 16777619U;
        }
        char suffix[10];
        std::snprintf(suffix, sizeof suffix, "_%08x", h);
        stem += suffix;
    }
    return "other_connection_" + stem;
}

// "TLSv1.2" as the collector writes it: "1.2".
std::string tlsVersion(const std::string& offered) {
    for (std::string_view prefix : {"TLSv", "tlsv", "TLS", "tls"}) {
        if (offered.rfind(prefix, 0) == 0) {
            return offered.substr(prefix.size());
        }
    }
    return offered;
}

// What the server sent, as the collector must read it: every `$` doubled, so the collector
// expands nothing of it (an offered "${env:SECRET}" would otherwise read the host's secret).
std::string escaped(const std::string& offered) {
    std::string out;
    out.reserve(offered.size());
    for (char c : offered) {
        out += c;
        if (c == '$') {
            out += '$';
        }
    }
    return out;
}

// Whether YAML would read the plain text as something other than a string (a boolean, a
// null, a number): then it is tagged as a string.
bool readsAsOtherThanText(const std::string& text) {
    std::string lower;
    for (char c : text) {
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    for (const char* word : {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"}) {
        if (lower == word) {
            return true;
        }
    }
    std::size_t first = !text.empty() && (text[0] == '-' || text[0] == '+') ? 1 : 0;
    return first < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[first])) != 0 || text[first] == '.');
}

YAML::Node textNode(const std::string& offered) {
    YAML::Node node(escaped(offered));
    if (readsAsOtherThanText(offered)) {
        node.SetTag("tag:yaml.org,2002:str");
    }
    return node;
}

YAML::Node headerMap(const pb::Headers& headers) {
    YAML::Node map(YAML::NodeType::Map);
    for (const pb::Header& h : headers.headers()) {
        map[h.key()] = textNode(h.value());
    }
    return map;
}

// A resolved reference: text, or a node that has no text form.
using Value = std::variant<std::string, YAML::Node>;

}  // namespace

struct Resolver {
    const OtherConnections& self;

    // `reference` is the part between "${opamp:other_connections." and "}".
    std::variant<Value, std::string> resolve(const std::string& reference) const {
        std::size_t dot = reference.find('.');
        if (dot == std::string::npos) {
            return "\"" + reference + "\" names no field; fields are " + kFields;
        }
        const std::string name = reference.substr(0, dot);
        const std::string field = reference.substr(dot + 1);
        auto it = self.connections_.find(name);
        if (it == self.connections_.end()) {
            return "the server has not offered an other connection named \"" + name + "\"";
        }
        const pb::OtherConnectionSettings& s = it->second.settings;
        const auto& c = it->second;
        auto keyed = [&](std::string_view prefix) -> std::optional<std::string> {
            if (field.size() > prefix.size() && field.rfind(prefix, 0) == 0) {
                return field.substr(prefix.size());
            }
            return std::nullopt;
        };
        if (field == "endpoint") {
            return Value(s.destination_endpoint());
        }
        if (field == "headers") {
            return Value(headerMap(s.headers()));
        }
        if (auto key = keyed("headers.")) {
            for (const pb::Header& h : s.headers().headers()) {
                if (h.key() == *key) {
                    return Value(h.value());
                }
            }
            return Value(std::string());
        }
        if (field == "other_settings") {
            YAML::Node map(YAML::NodeType::Map);
            for (const auto& [k, v] : s.other_settings()) {
                map[k] = textNode(v);
            }
            return Value(map);
        }
        if (auto key = keyed("other_settings.")) {
            auto found = s.other_settings().find(*key);
            return Value(found == s.other_settings().end() ? std::string() : found->second);
        }
        if (field == "tls.ca_file") {
            return Value(c.caFile);
        }
        if (field == "tls.cert_file") {
            return Value(c.certFile);
        }
        if (field == "tls.key_file") {
            return Value(c.keyFile);
        }
        if (field == "tls.insecure_skip_verify") {
            return Value(YAML::Node(s.tls().insecure_skip_verify()));
        }
        if (field == "tls.include_system_ca_certs_pool") {
            return Value(YAML::Node(s.tls().include_system_ca_certs_pool()));
        }
        if (field == "tls.min_version") {
            return Value(tlsVersion(s.tls().min_version()));
        }
        if (field == "tls.max_version") {
            return Value(tlsVersion(s.tls().max_version()));
        }
        if (field == "tls.cipher_suites") {
            YAML::Node list(YAML::NodeType::Sequence);
            for (const std::string& suite : s.tls().cipher_suites()) {
                list.push_back(textNode(suite));
            }
            return Value(list);
        }
        if (field == "proxy_url") {
            return Value(s.proxy().url());
        }
        return "other connection \"" + name + "\" has no field \"" + field + "\"; fields are " +
               kFields;
    }

    struct Replaced {
        YAML::Node node;    // the value the collector gets, when `error` is empty
        std::string error;  // names the reference
    };

    // Replaces the references in one scalar. A scalar that is exactly one reference takes the
    // field's type; inside longer text each reference becomes its text. What the server
    // sent is escaped for the collector (see escaped()).
    Replaced scalar(const std::string& value) const {
        std::string out;
        std::size_t i = 0;
        while (i < value.size()) {
            if (value.compare(i, 2, "$$") == 0) {
                out += "$$";  // the collector's escape: it is the collector's to undo
                i += 2;
                continue;
            }
            if (value.compare(i, kPrefix.size(), kPrefix) != 0) {
                out += value[i++];
                continue;
            }
            std::size_t end = value.find('}', i);
            if (end == std::string::npos) {
                return {{}, "\"" + value + "\" has a reference without its closing brace"};
            }
            std::string reference = value.substr(i + kPrefix.size(), end - i - kPrefix.size());
            auto resolved = resolve(reference);
            if (auto* error = std::get_if<std::string>(&resolved)) {
                return {{}, *error};
            }
            Value& v = std::get<Value>(resolved);
            const std::string* text = std::get_if<std::string>(&v);
            if (i == 0 && end + 1 == value.size()) {
                return {text ? textNode(*text) : std::get<YAML::Node>(v), ""};
            }
            if (text) {
                out += escaped(*text);
            } else {
                const YAML::Node& node = std::get<YAML::Node>(v);
                if (!node.IsScalar()) {
                    return {{},
                            "\"" + value + "\": " + value.substr(i, end + 1 - i) +
                                " is not text and can only be a whole value"};
                }
                out += node.Scalar();
            }
            i = end + 1;
        }
        YAML::Node node(out);
        if (readsAsOtherThanText(out)) {
            node.SetTag("tag:yaml.org,2002:str");
        }
        return {node, ""};
    }

    std::optional<std::string> replaceIn(YAML::Node child, const std::string& at) const {
        if (child.IsScalar() && refersToOtherConnection(child.Scalar())) {
            Replaced replaced = scalar(child.Scalar());
            if (!replaced.error.empty()) {
                return at + ": " + replaced.error;
            }
            child = replaced.node;  // replaces the value where the parent holds it
            return std::nullopt;
        }
        return walk(child, at + "::");
    }

    std::optional<std::string> walk(YAML::Node node, const std::string& path) const {
        if (node.IsMap()) {
            for (auto entry : node) {
                if (auto error = replaceIn(entry.second, path + entry.first.Scalar())) {
                    return error;
                }
            }
        } else if (node.IsSequence()) {
            const std::string base = path.size() >= 2 ? path.substr(0, path.size() - 2) : path;
            for (std::size_t n = 0; n < node.size(); ++n) {
                if (auto error = replaceIn(node[n], base + "[" + std::to_string(n) + "]")) {
                    return error;
                }
            }
        }
        return std::nullopt;
    }
};

OtherConnections::OtherConnections(
    const pb::ConnectionSettingsOffers& kept,
    const std::function<std::filesystem::path(std::string_view)>& pathOf) {
    for (const auto& [name, settings] : kept.other_connections()) {
        Connection c{settings, {}, {}, {}};
        const std::string stem = fileStem(name);
        auto file = [&](const char* kind, const std::string& pem) {
            std::string fileName = stem + "_" + kind + ".pem";
            files_.emplace_back(fileName, pem);
            return pathOf(fileName).string();
        };
        // Not certificate.ca_cert: that CA signed the client certificate and is not the
        // destination's.
        const std::string& ca = settings.tls().ca_pem_contents();
        if (!ca.empty()) {
            c.caFile = file("ca", ca);
        }
        const pb::TLSCertificate& cert = settings.certificate();
        if (!cert.cert().empty() && !cert.private_key().empty()) {
            c.certFile = file("cert", cert.cert());
            c.keyFile = file("key", cert.private_key());
        } else if (!cert.cert().empty() || !cert.private_key().empty()) {
            notes_.push_back("other connection \"" + name +
                             "\": a client certificate needs both cert and private_key; "
                             "tls.cert_file and tls.key_file stay empty");
        }
        if (name.find('.') != std::string::npos) {
            notes_.push_back("other connection \"" + name +
                             "\": a name with a '.' cannot be referred to");
        }
        connections_.emplace(name, std::move(c));
    }
}

std::optional<std::string> OtherConnections::substitute(YAML::Node& config) const {
    return Resolver{*this}.walk(config, "");
}

std::optional<std::string> OtherConnections::substituteText(const std::string& value) const {
    Resolver::Replaced replaced = Resolver{*this}.scalar(value);
    if (!replaced.error.empty() || !replaced.node.IsScalar()) {
        return std::nullopt;
    }
    return replaced.node.Scalar();
}

bool refersToOtherConnection(std::string_view value) {
    return value.find(kPrefix) != std::string_view::npos;
}

bool mergeOtherConnectionsOffer(pb::ConnectionSettingsOffers& kept,
                                const pb::ConnectionSettingsOffers& offer) {
    if (offer.other_connections().empty()) {
        return false;
    }
    google::protobuf::Map<std::string, pb::OtherConnectionSettings> next;
    for (const auto& [name, offered] : offer.other_connections()) {
        auto before = kept.other_connections().find(name);
        pb::OtherConnectionSettings merged = before == kept.other_connections().end()
                                                 ? pb::OtherConnectionSettings()
                                                 : before->second;
        if (!offered.destination_endpoint().empty()) {
            merged.set_destination_endpoint(offered.destination_endpoint());
        }
        if (offered.has_headers()) {
            *merged.mutable_headers() = offered.headers();
        }
        if (offered.has_certificate()) {
            *merged.mutable_certificate() = offered.certificate();
        }
        if (!offered.other_settings().empty()) {
            *merged.mutable_other_settings() = offered.other_settings();
        }
        if (offered.has_tls()) {
            *merged.mutable_tls() = offered.tls();
        }
        if (offered.has_proxy()) {
            *merged.mutable_proxy() = offered.proxy();
        }
        next[name] = merged;
    }
    pb::ConnectionSettingsOffers updated;
    *updated.mutable_other_connections() = next;
    pb::ConnectionSettingsOffers before;
    *before.mutable_other_connections() = kept.other_connections();
    if (google::protobuf::util::MessageDifferencer::Equals(before, updated)) {
        return false;
    }
    *kept.mutable_other_connections() = next;
    return true;
}

}  // namespace opampsup::effective
