// Writes the generated seed corpora of the fuzz targets:
//
//   fuzz_make_seeds <source-dir> <corpus-dir>
//
// (or `cmake --build build/fuzz --target fuzz_seeds`). Every file comes from code below, so
// the same generator writes the same bytes: real ServerToAgent messages (as a server sends
// them, and a few a hostile one might), WebSocket frame sequences, .tar.gz packages (sound
// ones and hostile ones), composer inputs, and supervisor configs (the examples/ files and
// configs covering the schema). Files of a corpus whose name does not start with "gen-" or
// "example-" (reproducers of fixed findings, seeds added by hand) are left alone.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <zlib.h>

#include "TestCertificate.h"
#include "opamp.pb.h"

namespace {

namespace fs = std::filesystem;
namespace pb = ::opamp::proto;
using opampsup::fuzz::kCertPem;
using opampsup::fuzz::kKeyPem;

// The instance UID the server_to_agent_fuzz target runs as (its bytes).
const std::string kUid("\x01\x90\xa1\xb2\xc3\xd4\x7e\x5f\x8a\x9b\x0c\x1d\x2e\x3f\x4a\x5b", 16);
const std::string kOtherUid("\x01\x90\xa1\xb2\xc3\xd4\x7e\x5f\x8a\x9b\x0c\x1d\x2e\x3f\x4a\x5c", 16);

class Corpus {
  public:
    Corpus(const fs::path& root, const std::string& target) : dir_(root / target) {
        fs::create_directories(dir_);
        for (const auto& entry : fs::directory_iterator(dir_)) {
            const std::string name = entry.path().filename().string();
            if (name.rfind("gen-", 0) == 0 || name.rfind("example-", 0) == 0) {
                fs::remove(entry.path());
            }
        }
    }
    void add(const std::string& name, const std::string& bytes) {
        std::ofstream(dir_ / ("gen-" + name), std::ios::binary) << bytes;
        ++count_;
    }
    void copy(const fs::path& from, const std::string& name) {
        fs::copy_file(from, dir_ / ("example-" + name), fs::copy_options::overwrite_existing);
        ++count_;
    }
    ~Corpus() { std::cout << dir_.filename().string() << ": " << count_ << " seeds\n"; }

  private:
    fs::path dir_;
    int count_ = 0;
};

std::string serialized(const pb::ServerToAgent& message) {
    std::string out;
    // Deterministic: map fields (config_map, packages, other_connections) in key order.
    {
        google::protobuf::io::StringOutputStream stream(&out);
        google::protobuf::io::CodedOutputStream coded(&stream);
        coded.SetSerializationDeterministic(true);
        message.SerializeToCodedStream(&coded);
    }
    return out;
}

pb::ServerToAgent base() {
    pb::ServerToAgent m;
    m.set_instance_uid(kUid);
    return m;
}

void addFile(pb::AgentRemoteConfig& config, const std::string& name, const std::string& body) {
    pb::AgentConfigFile& file = (*config.mutable_config()->mutable_config_map())[name];
    file.set_body(body);
    file.set_content_type("text/yaml");
}

void header(pb::Headers* headers, const std::string& key, const std::string& value) {
    pb::Header* h = headers->add_headers();
    h->set_key(key);
    h->set_value(value);
}

constexpr const char* kPipeline = R"(receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
processors:
  batch: {}
exporters:
  otlp:
    endpoint: collector.example.com:4317
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp]
  telemetry:
    resource:
      attributes:
        - name: deployment.environment
          value: prod
)";

void serverToAgentSeeds(const fs::path& root) {
    Corpus c(root, "server_to_agent_fuzz");
    {
        pb::ServerToAgent m = base();
        m.set_capabilities(pb::ServerCapabilities_AcceptsStatus |
                           pb::ServerCapabilities_OffersRemoteConfig |
                           pb::ServerCapabilities_AcceptsEffectiveConfig |
                           pb::ServerCapabilities_OffersConnectionSettings |
                           pb::ServerCapabilities_AcceptsConnectionSettingsRequest);
        c.add("capabilities.bin", serialized(m));
        m.set_flags(pb::ServerToAgentFlags_ReportFullState |
                    pb::ServerToAgentFlags_ReportAvailableComponents);
        c.add("flags.bin", serialized(m));
    }
    pb::ServerToAgent remote = base();
    {
        pb::AgentRemoteConfig& config = *remote.mutable_remote_config();
        addFile(config, "", kPipeline);
        config.set_config_hash(std::string(32, '\x11'));
        c.add("remote-config.bin", serialized(remote));
        // The same over WebSocket: the OpAMP header (varint 0) before the message.
        c.add("remote-config-ws.bin", std::string(1, '\0') + serialized(remote));
    }
    {
        pb::ServerToAgent m = base();
        pb::AgentRemoteConfig& config = *m.mutable_remote_config();
        addFile(config, "", "exporters:\n  debug: {}\n");
        addFile(config, "10-logs.yaml",
                "receivers:\n  filelog:\n    include: [/var/log/app/*.log]\n"
                "    storage: /var/lib/otelcol/storage\n");
        addFile(config, "20-extensions.yaml",
                "extensions:\n  health_check:\n    endpoint: 127.0.0.1:13133\n"
                "service:\n  extensions: [health_check]\n");
        config.set_config_hash("multi");
        c.add("remote-config-files.bin", serialized(m));
    }
    {
        // Each breaks a local restriction.
        const std::vector<std::pair<std::string, std::string>> refused{
            {"provider", "exporters:\n  otlp:\n    headers:\n      key: ${file:/etc/passwd}\n"},
            {"path", "exporters:\n  file:\n    path: /etc/cron.d/evil\n"},
            {"dotdot", "receivers:\n  filelog:\n    include: [/var/log/../../etc/shadow]\n"},
            {"endpoint", "exporters:\n  otlphttp:\n    endpoint: https://evil.example.net:4318\n"},
            {"component", "receivers:\n  hostmetrics:\n    scrapers: {cpu: {}}\n"},
            {"bare-env", "processors:\n  attributes:\n    actions:\n      - value: ${HOME}\n"},
        };
        for (const auto& [name, body] : refused) {
            pb::ServerToAgent m = base();
            addFile(*m.mutable_remote_config(), "", body);
            m.mutable_remote_config()->set_config_hash(name);
            c.add("remote-config-refused-" + name + ".bin", serialized(m));
        }
    }
    {
        pb::ServerToAgent m = base();
        addFile(*m.mutable_remote_config(), "", "");
        addFile(*m.mutable_remote_config(), "blank.yaml", "  \n");
        m.mutable_remote_config()->set_config_hash("empty");
        c.add("remote-config-empty.bin", serialized(m));
        pb::ServerToAgent bad = base();
        addFile(*bad.mutable_remote_config(), "", "receivers: [unclosed\n  - {a: ");
        c.add("remote-config-not-yaml.bin", serialized(bad));
        pb::ServerToAgent list = base();
        addFile(*list.mutable_remote_config(), "", "- a\n- b\n");
        c.add("remote-config-not-map.bin", serialized(list));
    }
    {
        // Other connections offered, and a remote config that refers to them.
        pb::ServerToAgent m = base();
        pb::ConnectionSettingsOffers& offers = *m.mutable_connection_settings();
        offers.set_hash("others");
        pb::OtherConnectionSettings& backend = (*offers.mutable_other_connections())["backend"];
        backend.set_destination_endpoint("https://backend.example.com:4318");
        header(backend.mutable_headers(), "X-Api-Key", "k3y");
        backend.mutable_tls()->set_ca_pem_contents(kCertPem);
        backend.mutable_certificate()->set_cert(kCertPem);
        backend.mutable_certificate()->set_private_key(kKeyPem);
        (*backend.mutable_other_settings())["compression"] = "zstd";
        addFile(*m.mutable_remote_config(), "",
                "exporters:\n  otlphttp/backend:\n"
                "    endpoint: ${opamp:other_connections.backend.endpoint}\n"
                "    headers: ${opamp:other_connections.backend.headers}\n"
                "    tls:\n      ca_file: ${opamp:other_connections.backend.tls.ca_file}\n"
                "      insecure_skip_verify: "
                "${opamp:other_connections.backend.tls.insecure_skip_verify}\n"
                "    compression: ${opamp:other_connections.backend.other_settings.compression}\n"
                "    auth: x-${opamp:other_connections.backend.headers.X-Api-Key}-$${env:NOT}\n"
                "service:\n  pipelines:\n    logs:\n      receivers: [otlp]\n"
                "      exporters: [otlphttp/backend]\n");
        c.add("other-connections.bin", serialized(m));
        addFile(*m.mutable_remote_config(), "",
                "exporters:\n  otlp:\n    endpoint: ${opamp:other_connections.missing.endpoint}\n");
        c.add("other-connections-unknown.bin", serialized(m));
    }
    {
        pb::ServerToAgent m = base();
        pb::ConnectionSettingsOffers& offers = *m.mutable_connection_settings();
        offers.set_hash(std::string(32, '\x22'));
        pb::OpAMPConnectionSettings& opamp = *offers.mutable_opamp();
        opamp.set_destination_endpoint("wss://opamp2.example.com:4320/v1/opamp");
        header(opamp.mutable_headers(), "Authorization", "Bearer offered");
        opamp.set_heartbeat_interval_seconds(15);
        c.add("opamp-offer.bin", serialized(m));
        opamp.mutable_tls()->set_ca_pem_contents(kCertPem);
        opamp.mutable_tls()->set_min_version("1.3");
        opamp.mutable_tls()->add_cipher_suites("TLS_AES_128_GCM_SHA256");
        opamp.mutable_certificate()->set_cert(kCertPem);
        opamp.mutable_certificate()->set_private_key(kKeyPem);
        c.add("opamp-offer-tls.bin", serialized(m));
        // The answer to a certificate request: the certificate without its key.
        opamp.mutable_certificate()->clear_private_key();
        c.add("opamp-offer-csr-answer.bin", serialized(m));
        pb::ServerToAgent proxy = base();
        pb::OpAMPConnectionSettings& p = *proxy.mutable_connection_settings()->mutable_opamp();
        p.set_destination_endpoint("https://opamp.internal.example.com/v1/opamp");
        p.mutable_proxy()->set_url("http://user:pass@proxy.example.com:3128");
        header(p.mutable_proxy()->mutable_connect_headers(), "X-Proxy", "1");
        c.add("opamp-offer-proxy.bin", serialized(proxy));
        pb::ServerToAgent refused = base();
        pb::OpAMPConnectionSettings& r = *refused.mutable_connection_settings()->mutable_opamp();
        r.set_destination_endpoint("ftp://opamp.example.com/");
        c.add("opamp-offer-bad-scheme.bin", serialized(refused));
        r.set_destination_endpoint("ws://[::1");
        c.add("opamp-offer-bad-url.bin", serialized(refused));
        r.set_destination_endpoint("");
        r.set_heartbeat_interval_seconds(86401);
        c.add("opamp-offer-heartbeat.bin", serialized(refused));
    }
    {
        pb::ServerToAgent m = base();
        pb::ConnectionSettingsOffers& offers = *m.mutable_connection_settings();
        offers.set_hash("own");
        offers.mutable_own_metrics()->set_destination_endpoint("https://otlp.example.com:4318");
        header(offers.mutable_own_metrics()->mutable_headers(), "api-key", "m");
        offers.mutable_own_logs()->set_destination_endpoint("https://otlp.example.com:4318");
        offers.mutable_own_logs()->mutable_tls()->set_ca_pem_contents(kCertPem);
        offers.mutable_own_traces()->set_destination_endpoint("http://127.0.0.1:4318");
        offers.mutable_own_traces()->mutable_certificate()->set_cert(kCertPem);
        offers.mutable_own_traces()->mutable_proxy()->set_url("http://proxy:3128");
        c.add("own-telemetry.bin", serialized(m));
    }
    {
        pb::ServerToAgent m = base();
        pb::PackagesAvailable& offer = *m.mutable_packages_available();
        offer.set_all_packages_hash(std::string(32, '\x33'));
        pb::PackageAvailable& top = (*offer.mutable_packages())[""];
        top.set_type(pb::PackageType_TopLevel);
        top.set_version("0.111.0");
        top.set_hash(std::string(32, '\x44'));
        top.mutable_file()->set_download_url("https://releases.example.com/otelcol_0.111.0.tar.gz");
        top.mutable_file()->set_content_hash(std::string(32, '\x55'));
        top.mutable_file()->set_signature("c2lnbmF0dXJl");
        header(top.mutable_file()->mutable_headers(), "Authorization", "Bearer dl");
        pb::PackageAvailable& addon = (*offer.mutable_packages())["geoip-db"];
        addon.set_type(pb::PackageType_Addon);
        addon.set_version("2024.1");
        addon.set_hash("addon-hash");
        addon.mutable_file()->set_download_url("http://files.example.com/geoip.mmdb");
        addon.mutable_file()->set_content_hash(std::string(32, '\x66'));
        addon.mutable_file()->set_signature("sig");
        c.add("packages.bin", serialized(m));
        top.set_version("0.90.0");  // a downgrade
        c.add("packages-downgrade.bin", serialized(m));
        pb::ServerToAgent hostile = base();
        pb::PackagesAvailable& h = *hostile.mutable_packages_available();
        for (const std::string& name : {std::string("../../etc"), std::string("a/b"),
                                        std::string("."), std::string("x#staging")}) {
            pb::PackageAvailable& p = (*h.mutable_packages())[name];
            p.set_type(pb::PackageType_Addon);
            p.set_hash("h-" + name);
            p.mutable_file()->set_download_url("http://files.example.com/" + name);
            p.mutable_file()->set_content_hash(std::string(32, '\x77'));
            p.mutable_file()->set_signature("s");
        }
        c.add("packages-hostile-names.bin", serialized(hostile));
        pb::ServerToAgent urls = base();
        pb::PackagesAvailable& u = *urls.mutable_packages_available();
        int i = 0;
        for (const std::string& url :
             {std::string("http://[::1"), std::string("ftp://files.example.com/x"),
              std::string("http://files.example.com/%zz"), std::string("file:///etc/passwd")}) {
            pb::PackageAvailable& p = (*u.mutable_packages())["addon" + std::to_string(i++)];
            p.set_type(pb::PackageType_Addon);
            p.set_hash("u" + std::to_string(i));
            p.mutable_file()->set_download_url(url);
            p.mutable_file()->set_content_hash(std::string(32, '\x77'));
            p.mutable_file()->set_signature("s");
        }
        c.add("packages-urls.bin", serialized(urls));
    }
    {
        pb::ServerToAgent m = base();
        m.mutable_command()->set_type(pb::CommandType_Restart);
        c.add("command-restart.bin", serialized(m));
        m.set_flags(pb::ServerToAgentFlags_ReportFullState);
        c.add("command-with-fields.bin", serialized(m));
        pb::ServerToAgent error = base();
        error.mutable_error_response()->set_type(pb::ServerErrorResponseType_Unavailable);
        error.mutable_error_response()->set_error_message("try later");
        error.mutable_error_response()->mutable_retry_info()->set_retry_after_nanoseconds(
            30'000'000'000ULL);
        c.add("error-unavailable.bin", serialized(error));
        error.mutable_error_response()->set_type(pb::ServerErrorResponseType_BadRequest);
        error.mutable_error_response()->mutable_retry_info()->set_retry_after_nanoseconds(
            UINT64_MAX);
        c.add("error-bad-request.bin", serialized(error));
    }
    {
        pb::ServerToAgent m = base();
        m.mutable_agent_identification()->set_new_instance_uid(kOtherUid);
        c.add("new-instance-uid.bin", serialized(m));
        m.mutable_agent_identification()->set_new_instance_uid("short");
        c.add("new-instance-uid-bad.bin", serialized(m));
        pb::ServerToAgent other = base();
        other.set_instance_uid(kOtherUid);
        other.mutable_command()->set_type(pb::CommandType_Restart);
        c.add("other-instance.bin", serialized(other));
        pb::ServerToAgent noUid;
        noUid.set_flags(pb::ServerToAgentFlags_ReportFullState);
        c.add("no-instance-uid.bin", serialized(noUid));
    }
    {
        pb::ServerToAgent m = base();
        m.mutable_custom_capabilities()->add_capabilities("io.opentelemetry.pprof");
        pb::CustomMessage& custom = *m.mutable_custom_message();
        custom.set_capability("io.opentelemetry.pprof");
        custom.set_type("start");
        custom.set_data(std::string("\x00\x01\x02profile", 10));
        c.add("custom-message.bin", serialized(m));
    }
}

// ---- WebSocket frames ----

// One RFC 6455 frame: FIN and opcode, the length in the shortest form (or a longer one),
// masked when a key is given.
std::string wsFrame(bool fin, int opcode, const std::string& payload,
                    std::optional<std::uint32_t> mask = std::nullopt, int lengthForm = 0) {
    std::string out;
    out.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
    const char maskBit = mask ? static_cast<char>(0x80) : 0;
    const std::uint64_t n = payload.size();
    if (lengthForm == 0 && n < 126) {
        out.push_back(static_cast<char>(maskBit | static_cast<char>(n)));
    } else if (lengthForm <= 16 && n <= 0xFFFF) {
        out.push_back(static_cast<char>(maskBit | 126));
        out.push_back(static_cast<char>((n >> 8) & 0xFF));
        out.push_back(static_cast<char>(n & 0xFF));
    } else {
        out.push_back(static_cast<char>(maskBit | 127));
        for (int i = 7; i >= 0; --i) {
            out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
        }
    }
    std::string body = payload;
    if (mask) {
        char key[4] = {static_cast<char>(*mask >> 24), static_cast<char>(*mask >> 16),
                       static_cast<char>(*mask >> 8), static_cast<char>(*mask)};
        out.append(key, 4);
        for (std::size_t i = 0; i < body.size(); ++i) {
            body[i] = static_cast<char>(body[i] ^ key[i % 4]);
        }
    }
    return out + body;
}

constexpr int kCont = 0x0, kText = 0x1, kBinary = 0x2, kClose = 0x8, kPing = 0x9, kPong = 0xA;

void websocketSeeds(const fs::path& root) {
    Corpus c(root, "websocket_frame_fuzz");
    pb::ServerToAgent m = base();
    m.set_capabilities(pb::ServerCapabilities_AcceptsStatus);
    addFile(*m.mutable_remote_config(), "", "exporters:\n  debug: {}\n");
    const std::string message = std::string(1, '\0') + serialized(m);
    pb::AgentToServer a;
    a.set_instance_uid(kUid);
    a.set_sequence_num(1);
    a.mutable_health()->set_healthy(true);
    const std::string agentMessage = std::string(1, '\0') + a.SerializeAsString();
    // Options byte: bit 0 the local server's side, bit 1 record mode, bits 2-5 the limit
    // (16 << n bytes in stream mode; n * 4 in record mode).
    const char client = static_cast<char>(12 << 2);  // a 64 KiB limit
    const char server = static_cast<char>((12 << 2) | 1);

    c.add("single.bin", client + wsFrame(true, kBinary, message));
    const std::string a1 = message.substr(0, 5);
    const std::string a2 = message.substr(5, 20);
    const std::string a3 = message.substr(25);
    c.add("fragmented.bin", client + wsFrame(false, kBinary, a1) + wsFrame(false, kCont, a2) +
                                wsFrame(true, kCont, a3));
    c.add("fragmented-with-control.bin",
          client + wsFrame(false, kBinary, a1) + wsFrame(true, kPing, "hi") +
              wsFrame(false, kCont, a2) + wsFrame(true, kPong, "") + wsFrame(true, kCont, a3) +
              wsFrame(true, kBinary, message));
    c.add("two-messages.bin",
          client + wsFrame(true, kBinary, message) + wsFrame(true, kBinary, std::string(1, '\0')));
    c.add("close.bin", client + wsFrame(true, kBinary, message) +
                           wsFrame(true, kClose, std::string("\x03\xe8", 2) + "bye"));
    c.add("text.bin", client + wsFrame(true, kText, "{\"not\": \"binary\"}"));
    c.add("length-16.bin", client + wsFrame(true, kBinary, message, std::nullopt, 16));
    c.add("length-64.bin", client + wsFrame(true, kBinary, message, std::nullopt, 64));
    c.add("masked-agent.bin", server + wsFrame(true, kBinary, agentMessage, 0x11223344U));
    c.add("masked-fragmented.bin", server + wsFrame(false, kBinary, agentMessage.substr(0, 3), 1U) +
                                       wsFrame(true, kCont, agentMessage.substr(3), 0xFFFFFFFFU));
    c.add("orphan-continuation.bin", client + wsFrame(true, kCont, message));
    c.add("interrupted.bin",
          client + wsFrame(false, kBinary, a1) + wsFrame(true, kBinary, message));
    c.add("unfinished.bin", client + wsFrame(false, kBinary, a1));
    c.add("too-big.bin", static_cast<char>(0) + wsFrame(true, kBinary, message));  // 16 bytes
    c.add("huge-length.bin", client + std::string("\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff", 10));
    c.add("truncated-header.bin", client + std::string("\x82\x7e\x01", 3));
    c.add("truncated-payload.bin", client + wsFrame(true, kBinary, message).substr(0, 10));
    c.add("bad-opamp-header.bin", client + wsFrame(true, kBinary, "\x01payload"));
    c.add("long-opamp-header.bin", client + wsFrame(true, kBinary, std::string(11, '\x80')));
    c.add("empty-message.bin", client + wsFrame(true, kBinary, ""));
    c.add("reserved-bits.bin", client + std::string("\xf2\x01\x00", 3));
    // Record mode: flags (bit 0 FIN, bit 1 continuation), length, bytes.
    auto record = [](int flags, const std::string& bytes) {
        return std::string(1, static_cast<char>(flags)) +
               std::string(1, static_cast<char>(bytes.size())) + bytes;
    };
    const char records = static_cast<char>((20 << 2) | 2);  // an 80-byte limit
    c.add("records.bin", records + record(0, a1) + record(2, a2) + record(3, a3.substr(0, 60)));
    c.add("records-errors.bin", records + record(2, "x") + record(0, "\0a") + record(0, "b") +
                                    record(1, std::string(90, 'c')) + record(1, "\0ok"));
}

// ---- Tar archives ----

std::string octal(std::uint64_t value, std::size_t width) {
    std::ostringstream digits;
    digits << std::oct << std::setw(static_cast<int>(width - 1)) << std::setfill('0') << value;
    return digits.str() + '\0';
}

void put(std::string& block, std::size_t offset, std::size_t length, const std::string& text) {
    block.replace(offset, std::min(length, text.size()), text.substr(0, length));
}

struct Entry {
    Entry(std::string name_, char type_ = '0', std::string data_ = "", std::string link_ = "",
          bool gnu_ = false, bool base256_ = false)
        : name(std::move(name_)),
          type(type_),
          data(std::move(data_)),
          link(std::move(link_)),
          gnu(gnu_),
          base256(base256_) {}
    std::string name;
    char type;
    std::string data;
    std::string link;
    bool gnu;
    bool base256;
};

std::string tarHeader(const Entry& e) {
    std::string block(512, '\0');
    put(block, 0, 100, e.name);
    put(block, 100, 8, octal(e.type == '5' ? 0755 : 0644, 8));
    put(block, 108, 8, octal(1000, 8));
    put(block, 116, 8, octal(1000, 8));
    if (e.base256) {
        block[124] = '\x80';
        for (std::size_t i = 0; i < 8; ++i) {
            block[135 - i] = static_cast<char>((e.data.size() >> (8 * i)) & 0xFFU);
        }
    } else {
        put(block, 124, 12, octal(e.data.size(), 12));
    }
    put(block, 136, 12, octal(1700000000, 12));
    block[156] = e.type;
    put(block, 157, 100, e.link);
    put(block, 257, 8, e.gnu ? std::string("ustar  \0", 8) : std::string("ustar\00000", 8));
    put(block, 265, 32, "otel");
    put(block, 297, 32, "otel");
    block.replace(148, 8, 8, ' ');
    unsigned sum = 0;
    for (char ch : block) {
        sum += static_cast<unsigned char>(ch);
    }
    put(block, 148, 8, octal(sum, 7) + " ");
    return block;
}

std::string tar(const std::vector<Entry>& entries, bool endMarker = true) {
    std::string out;
    for (const Entry& e : entries) {
        out += tarHeader(e);
        out += e.data;
        out.append((512 - e.data.size() % 512) % 512, '\0');
    }
    if (endMarker) {
        out.append(1024, '\0');
    }
    return out;
}

std::string paxRecord(const std::string& key, const std::string& value) {
    std::size_t rest = 1 + key.size() + 1 + value.size() + 1;
    std::size_t length = rest + 1;
    while (std::to_string(length).size() + rest != length) {
        ++length;
    }
    return std::to_string(length) + " " + key + "=" + value + "\n";
}

// gzip with a fixed header (no name, mtime 0), so the bytes do not depend on the clock.
std::string gzip(const std::string& data) {
    z_stream stream{};
    deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&stream, static_cast<uLong>(data.size())), '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    deflate(&stream, Z_FINISH);
    out.resize(stream.total_out);
    deflateEnd(&stream);
    return out;
}

void tarSeeds(const fs::path& root) {
    Corpus c(root, "tar_archive_fuzz");
    // Options byte: bit 0 the fuzzer gzips the rest, bit 1 the member is bin/otelcol, bits
    // 2-3 the limits (0: the supervisor's).
    const std::string binary = "#!/bin/sh\necho otelcol\n";
    auto both = [&](const std::string& name, const std::string& tarBytes, int member = 0) {
        const char options = static_cast<char>(member << 1);
        c.add(name + ".tar.gz.bin", options + gzip(tarBytes));
        c.add(name + ".tar.bin", static_cast<char>(options | 1) + tarBytes);
    };
    both("plain", tar({{"otelcol", '0', binary}, {"README.md", '0', "docs\n"}}));
    both("nested",
         tar({{"./", '5'}, {"./bin/", '5'}, {"./bin/otelcol", '0', binary}, {"LICENSE", '0', "x"}}),
         1);
    both("absolute",
         tar({{"/etc/cron.d/evil", '0', "* * * * * root sh\n"}, {"otelcol", '0', binary}}));
    both("dotdot", tar({{"../../../tmp/evil", '0', "x"}, {"otelcol", '0', binary}}));
    both("backslash", tar({{"bin\\..\\..\\evil", '0', "x"}, {"otelcol", '0', binary}}));
    both("symlink-out", tar({{"otelcol", '2', "", "/usr/bin/sh"}}));
    both("symlink-dotdot", tar({{"lib", '2', "", "../../etc"}, {"otelcol", '0', binary}}));
    both("through-symlink",
         tar({{"bin", '2', "", "."}, {"bin/otelcol", '0', binary}, {"otelcol", '0', binary}}), 1);
    both("hardlink", tar({{"otelcol", '0', binary}, {"copy", '1', "", "otelcol"}}));
    both("hardlink-out", tar({{"otelcol", '1', "", "../../etc/passwd"}}));
    both("device", tar({{"dev/null", '3'}, {"otelcol", '0', binary}}));
    both("fifo", tar({{"pipe", '6'}, {"otelcol", '0', binary}}));
    both("duplicate", tar({{"otelcol", '0', binary}, {"./otelcol", '0', "evil"}}));
    both("missing", tar({{"otelcol-other", '0', binary}}));
    both("directory-member", tar({{"otelcol", '5'}}));
    both("gnu-longname",
         tar({{"././@LongLink", 'L', std::string(150, 'a') + "/otelcol" + '\0', "", true},
              {"short", '0', binary, "", true},
              {"otelcol", '0', binary}}));
    both("gnu-longname-escape",
         tar({{"././@LongLink", 'L', "../" + std::string(120, 'b') + '\0', "", true},
              {"x", '0', "evil", "", true}}));
    both("pax", tar({{"PaxHeaders/otelcol", 'x',
                      paxRecord("path", "otelcol") + paxRecord("mtime", "1700000000.5")},
                     {"placeholder", '0', binary}}));
    both("pax-escape",
         tar({{"PaxHeaders/x", 'x', paxRecord("path", "../evil") + paxRecord("linkpath", "/")},
              {"x", '0', "evil"},
              {"otelcol", '0', binary}}));
    both("pax-size",
         tar({{"PaxHeaders/otelcol", 'x', paxRecord("size", "4")}, {"otelcol", '0', binary}}));
    both("pax-global", tar({{"pax_global_header", 'g', paxRecord("comment", "release")},
                            {"otelcol", '0', binary}}));
    both("pax-sparse", tar({{"PaxHeaders/otelcol", 'x', paxRecord("GNU.sparse.map", "0,1")},
                            {"otelcol", '0', binary}}));
    both("base256", tar({{"otelcol", '0', binary, "", true, true}}));
    both("no-end-marker", tar({{"otelcol", '0', binary}}, false));
    both("trailing-data", tar({{"otelcol", '0', binary}}) + std::string(512, 'x'));
    std::string truncated = tar({{"otelcol", '0', std::string(2000, 'z')}});
    both("truncated", truncated.substr(0, 1200));
    std::string badSum = tar({{"otelcol", '0', binary}});
    badSum[148] = '7';
    both("bad-checksum", badSum);
    both("empty", std::string(1024, '\0'));
    // Two gzip members, as `cat a.tar.gz b.tar.gz` makes: read in turn, as gunzip reads them.
    const std::string whole = tar({{"otelcol", '0', binary}});
    c.add("two-members.tar.gz.bin",
          std::string(1, '\0') + gzip(whole.substr(0, 512)) + gzip(whole.substr(512)));
    c.add("not-gzip.bin", std::string(1, '\0') + "PK\x03\x04 a zip file");
    std::string corrupt = gzip(whole);
    corrupt[corrupt.size() - 5] = static_cast<char>(corrupt[corrupt.size() - 5] ^ 0x55);
    c.add("bad-crc.tar.gz.bin", std::string(1, '\0') + corrupt);
    c.add("small-limits.tar.bin",
          static_cast<char>((1 << 2) | 1) + tar({{"a", '0', std::string(50, 'a')},
                                                 {"b", '0', std::string(200, 'b')},
                                                 {"otelcol", '0', binary}}));
    c.add("one-entry-limit.tar.bin",
          static_cast<char>((3 << 2) | 1) + tar({{"./", '5'}, {"otelcol", '0', binary}}));
}

// ---- Composer inputs ----

void composerSeeds(const fs::path& root) {
    Corpus c(root, "config_composer_fuzz");
    c.add("local-only.yaml", kPipeline);
    c.add("local-and-remote.yaml", std::string(kPipeline) +
                                       "---\n"
                                       "exporters:\n  debug:\n    verbosity: detailed\n"
                                       "service:\n  extensions: [health_check]\n"
                                       "  pipelines:\n    traces:\n      exporters: [debug]\n");
    c.add("resource-attributes.yaml",
          "service:\n  telemetry:\n    resource:\n      attributes:\n"
          "        - name: service.instance.id\n          value: spoofed\n"
          "        - name: host.name\n          value: local\n"
          "---\n"
          "service:\n  telemetry:\n    resource:\n      attributes:\n"
          "        - name: service.instance.id\n          value: remote-spoof\n"
          "      schema_url: https://opentelemetry.io/schemas/1.21.0\n");
    c.add("inline-resource.yaml",
          "service:\n  telemetry:\n    resource:\n      service.name: app\n"
          "---\n"
          "service:\n  telemetry:\n    resource:\n      service.instance.id: x\n");
    c.add("other-connections.yaml",
          "#!t\n"
          "receivers:\n  nop: {}\n"
          "---\n"
          "exporters:\n  otlphttp:\n"
          "    endpoint: ${opamp:other_connections.backend.endpoint}\n"
          "    headers: ${opamp:other_connections.backend.headers}\n"
          "    tls:\n      ca_file: ${opamp:other_connections.backend.tls.ca_file}\n"
          "      insecure_skip_verify: "
          "${opamp:other_connections.backend.tls.insecure_skip_verify}\n"
          "    compression: ${opamp:other_connections.backend.other_settings.compression}\n"
          "    text: \"to ${opamp:other_connections.backend.endpoint}/v1 and $${opamp:x}\"\n"
          "---\n"
          "exporters:\n  otlp:\n    endpoint: ${opamp:other_connections.nope.endpoint}\n");
    c.add("three-remote-files.yaml",
          "#!no\n"
          "extensions:\n  pprof: {}\nservice:\n  extensions: [pprof]\n"
          "---\n"
          "service:\n  extensions: [zpages, pprof]\n"
          "---\n"
          "extensions:\n  zpages: {}\n"
          "---\n"
          "service:\n  pipelines: null\n");
    c.add("anchors.yaml",
          "x: &a {k: [1, 2, {n: v}]}\ny: *a\nz: {<<: *a, k: 3}\n"
          "---\n"
          "y: &b !!str tagged\nw: [*b, *b]\n");
    c.add("not-yaml.yaml", "receivers: [\n---\nexporters: {a: b}\n");
    c.add("not-map.yaml", "- a\n- b\n---\n42\n---\n\"str\"\n");
    c.add("no-remote.yaml", "#!lr\nservice:\n  pipelines: {}\n");
    c.add("remote-empty.yaml", "#!c\nreceivers: {}\n---\n---\n\n");
    c.add("odd-keys.yaml",
          "\"a: b\": 1\n? [complex, key]\n: value\n\"\\u0000\": nul\n'': empty\n~: null-key\n"
          "---\n"
          "\"a: b\": {nested: true}\n");
}

// ---- Supervisor configs ----

void configSeeds(const fs::path& source, const fs::path& root) {
    Corpus c(root, "config_loader_fuzz");
    for (const auto& entry : fs::directory_iterator(source / "examples")) {
        if (entry.path().extension() == ".yaml") {
            c.copy(entry.path(), entry.path().filename().string());
        }
    }
    c.add("minimal.yaml",
          "server:\n  endpoint: ws://127.0.0.1:4320/v1/opamp\nagent:\n  executable: /bin/sh\n");
    c.add("full.yaml", R"(server:
  endpoint: ${env:OPAMP_ENDPOINT}
  headers:
    X-Team: otel
    X-Multi: [a, b]
  tls:
    insecure_skip_verify: false
    ca_pem: |
      -----BEGIN CERTIFICATE-----
      AA==
      -----END CERTIFICATE-----
    min_version: "1.2"
    max_version: "1.3"
    cipher_suites: [TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
    curve_preferences: [X25519, P256]
    server_name_override: opamp.internal
  auth: bearertokenauth/server
  proxy:
    url: http://user:pass@proxy.example.com:3128
    headers: {X-Proxy: "1"}
  connection_settings_timeout: 1m30s
  certificate_request:
    enabled: true
    key_type: ed25519
    common_name: agent-1
    organization: [otel]
    dns_names: [agent-1.example.com]
    renew_before: 72h
capabilities:
  accepts_remote_config: true
  reports_remote_config: true
  accepts_restart_command: true
  accepts_opamp_connection_settings: true
  accepts_other_connection_settings: true
  reports_effective_config: true
  reports_own_metrics: true
  reports_own_logs: true
  reports_own_traces: true
  reports_health: true
  reports_available_components: true
  reports_heartbeat: true
  accepts_packages: true
  reports_package_statuses: true
  reports_connection_settings_status: true
storage:
  directory: ${env:STORAGE}
agent:
  executable: /bin/sh
  instance_id: 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b
  orphan_detection_interval: 2s
  description:
    identifying_attributes: {service.name: otelcol}
    non_identifying_attributes: {host.name: ${env:HOSTNAME:-unknown}}
    include_resource_attributes: true
  config_apply_timeout: 10s
  bootstrap_timeout: 5s
  opamp_server_port: 0
  passthrough_logs: true
  collector_crash_log_snippet_kib: 4
  stop_timeout: 20s
  restart_backoff: {initial_interval: 500ms, max_interval: 1m, multiplier: 1.5, reset_after: 2m}
  log_max_size_mib: 16
  automatic_config_rollback: true
  use_hup_config_reload: false
  validate_config: true
  config_soak_period: 30s
  config_files: [$OWN_TELEMETRY_CONFIG, /etc/otelcol/base.yaml, $OPAMP_EXTENSION_CONFIG, $REMOTE_CONFIG]
  args: [--feature-gates=-component.UseLocalHostAsDefaultHost]
  env: {GOMAXPROCS: "2", HOME: $${HOME}}
  env_unset: [HTTP_PROXY]
  startup_fallback_configs: [/etc/otelcol/fallback.yaml]
  package:
    agent_binary: otelcol-contrib
    archive: tar.gz
    verifier:
      type: public_key
      public_key:
        keys: [/etc/opampsupervisor/keys/release.pem]
    allow_unsigned: false
    allow_downgrade: false
    max_download_size_mib: 512
    health_timeout: 1m
    soak_period: 10s
remote_config_restrictions:
  components:
    receivers: {allow: [otlp, filelog], deny: [hostmetrics]}
    exporters: {deny: ["file*"]}
  allowed_path_prefixes: [/var/log/]
  allowed_exporter_endpoints: ["*.example.com", "collector:4317"]
  allowed_config_providers: [env]
  max_config_bytes: 1048576
telemetry:
  logs:
    level: ${env:LOG_LEVEL}
    encoding: console
    output_paths: [stdout, /var/log/opampsupervisor.log]
    error_output_paths: [stderr]
    processors:
      - batch:
          schedule_delay: 1000
          exporter:
            otlp:
              protocol: http/protobuf
              endpoint: https://otlp.example.com:4318
              headers: [{name: api-key, value: "${env:OPAMP_TOKEN}"}]
              compression: gzip
              timeout: 10000
  metrics:
    level: normal
    readers:
      - periodic:
          interval: 60000
          exporter: {otlp: {protocol: http/protobuf, endpoint: https://otlp.example.com:4318}}
  traces:
    level: basic
    propagators: [tracecontext, baggage]
    processors:
      - simple: {exporter: {otlp: {protocol: http/protobuf, endpoint: http://127.0.0.1:4318}}}
  resource:
    attributes: [{name: deployment.environment, value: prod}]
healthcheck:
  endpoint: 127.0.0.1:13133
  response_headers: {X-Health: ok}
  read_timeout: 5s
  idle_timeout: 1m
status:
  endpoint: 127.0.0.1:0
extensions:
  bearertokenauth/server:
    token: ${file:/etc/opampsupervisor/token}
  basicauth/other:
    client_auth: {username: u, password: p}
  oauth2client:
    client_id: id
    client_secret_file: /etc/opampsupervisor/secret
    token_url: https://auth.example.com/token
    scopes: [opamp]
    endpoint_params: {audience: opamp}
    timeout: 5s
    expiry_buffer: 1m
  nop: {}
)");
    c.add("errors.yaml", R"(server:
  endpoint: ftp://x
  endpont: typo
  tls: {min_version: "1.3", max_version: "1.2", cipher_suites: [NOPE]}
capabilities:
  accepts_remote_config: maybe
agent:
  executable: /nope
  bootstrap_timeout: 3
  opamp_server_port: 70000
  restart_backoff: {multiplier: -1}
  config_files: [$REMOTE_CONFIG, $REMOTE_CONFIG]
  package: {archive: zip, verifier: {type: cosign}}
telemetry: {logs: {level: loud}}
healthcheck: {endpoint: "host:port:extra"}
agent:
  duplicate: key
)");
    c.add("references.yaml",
          "server:\n  endpoint: ${file:/etc/opampsupervisor/endpoint}\n"
          "  headers: {A: \"${env:EMPTY:-fallback}\", B: \"$${literal}\", C: \"$$$$\","
          " D: \"${UNSET}\", E: \"${env:NESTED}\", F: \"${file:/missing}\", G: \"${env:}\","
          " H: \"${bogus:x}\", I: \"${env:HOME\", J: \"$HOME\"}\n"
          "agent:\n  executable: /bin/sh\n  opamp_server_port: ${env:PORT:-4321}\n");
    c.add("socket-and-windows.yaml",
          "server:\n  endpoint: https://opamp.example.com/v1/opamp\n"
          "agent:\n  executable: /bin/sh\n"
          "  opamp_server_socket: {transport: npipe, endpoint: \\\\.\\pipe\\opamp}\n"
          "  opamp_server_socket_mode: 0600\n  use_hup_config_reload: true\n");
    c.add("not-a-map.yaml", "- server\n- agent\n");
    c.add("anchors.yaml",
          "base: &b {endpoint: ws://127.0.0.1:1/v1/opamp}\nserver: *b\n"
          "agent: {executable: /bin/sh, args: &a [x, *a]}\n");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: fuzz_make_seeds <source-dir> <corpus-dir>\n";
        return 2;
    }
    const fs::path source = argv[1];
    const fs::path corpus = argv[2];
    serverToAgentSeeds(corpus);
    websocketSeeds(corpus);
    tarSeeds(corpus);
    composerSeeds(corpus);
    configSeeds(source, corpus);
    return 0;
}
