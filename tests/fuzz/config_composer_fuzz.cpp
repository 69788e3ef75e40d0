// Fuzzes the composer of the collector's effective config (composeEffectiveConfig and the
// collector-style merge under it, mergeConfigs): local config files, the supervisor's own
// sections (own telemetry, the opamp extension, resource attributes, the nop pipeline) and
// the remote config files, with ${opamp:other_connections...} references resolved.
//
// Input: YAML documents separated by lines holding only "---". The first is the local
// config file (read from disk, as agent.config_files are); the others are the remote config
// files, the first of them unnamed (merged last, as the Go supervisor does) and the rest
// named "10-...", "11-...". An optional first line "#!<letters>" sets options:
//   l  no remote config at all          n  no nop pipeline
//   r  remote config not accepted       o  no own telemetry section
//   c  no other connections             t  $REMOTE_CONFIG before the local file
//
// Expected outcomes: an effective config, warnings for local files that are not YAML, or an
// error for a remote file or reference that cannot be used. Findings: a crash, a sanitizer
// report, any exception, a hang, an effective config that does not parse back as a YAML map,
// or mergeConfigs modifying its arguments.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/config/SupervisorConfig.h"
#include "core/effective/ConfigComposer.h"
#include "core/effective/OtherConnections.h"
#include "core/effective/OwnTelemetry.h"
#include "core/effective/YamlMerge.h"
#include "fuzz/FuzzSupport.h"
#include "opamp.pb.h"

namespace {

namespace fs = std::filesystem;
namespace pb = ::opamp::proto;
using namespace opampsup;
using opampsup::fuzz::finding;

constexpr const char* kUid = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

// Offers like a server's, so the supervisor's sections and references have content.
pb::ConnectionSettingsOffers offers() {
    pb::ConnectionSettingsOffers o;
    pb::TelemetryConnectionSettings* metrics = o.mutable_own_metrics();
    metrics->set_destination_endpoint("https://otlp.example.com:4318/v1/metrics");
    pb::Header* h = metrics->mutable_headers()->add_headers();
    h->set_key("Authorization");
    h->set_value("Bearer own");
    o.mutable_own_logs()->set_destination_endpoint("https://otlp.example.com:4318/v1/logs");
    pb::OtherConnectionSettings& backend = (*o.mutable_other_connections())["backend"];
    backend.set_destination_endpoint("https://backend.example.com:4318");
    pb::Header* bh = backend.mutable_headers()->add_headers();
    bh->set_key("X-Token");
    bh->set_value("abc");
    backend.mutable_tls()->set_ca_pem_contents("-----BEGIN CERTIFICATE-----\nAA==\n");
    backend.mutable_tls()->set_insecure_skip_verify(false);
    (*backend.mutable_other_settings())["compression"] = "zstd";
    (*o.mutable_other_connections())["empty"];
    return o;
}

struct Fixture {
    fs::path root = fuzz::scratchDirectory("config_composer_fuzz");
    fs::path localFile = root / "collector.yaml";
    std::function<fs::path(std::string_view)> pathOf = [this](std::string_view name) {
        return root / name;
    };
    pb::ConnectionSettingsOffers kept = offers();
    effective::OtherConnections others{kept, pathOf};
    std::string ownTelemetry = effective::renderOwnTelemetry(kept, {true, true, true}, pathOf).yaml;
    std::string extension;

    Fixture() {
        effective::OpampExtensionSettings s;
        s.instanceUid = kUid;
        s.endpoint = "ws://127.0.0.1:41234/v1/opamp";
        s.authorization = "Secret 0123456789abcdef";
        s.supervisorPid = 4242;
        s.includeResourceAttributes = true;
        extension = effective::opampExtensionYaml(s);
    }
};

std::vector<std::string> documents(std::string_view text) {
    std::vector<std::string> out(1);
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        std::string_view line = text.substr(
            start, end == std::string_view::npos ? std::string_view::npos : end - start);
        if (line == "---" || line == "---\r") {
            out.emplace_back();
        } else {
            out.back().append(line);
            if (end != std::string_view::npos) {
                out.back().push_back('\n');
            }
        }
        if (end == std::string_view::npos) {
            break;
        }
        start = end + 1;
    }
    return out;
}

std::optional<YAML::Node> parseMap(const std::string& text) {
    try {
        YAML::Node node = YAML::Load(text);
        if (node.IsMap()) {
            return node;
        }
    } catch (const YAML::Exception&) {
    }
    return std::nullopt;
}

std::string dump(const YAML::Node& node) {
    YAML::Emitter out;
    out << node;
    return out.c_str();
}

// mergeConfigs promises a new node and untouched arguments.
void checkMergeLeavesArguments(const std::string& a, const std::string& b) {
    std::optional<YAML::Node> base = parseMap(a);
    std::optional<YAML::Node> overlay = parseMap(b);
    if (!base || !overlay) {
        return;
    }
    const std::string baseBefore = dump(*base);
    const std::string overlayBefore = dump(*overlay);
    YAML::Node merged = effective::mergeConfigs(*base, *overlay);
    // A change to the result must not reach them.
    for (auto entry : merged) {
        if (entry.second.IsMap()) {
            entry.second["\x01fuzz"] = "added";
        }
    }
    if (dump(*base) != baseBefore || dump(*overlay) != overlayBefore) {
        finding("mergeConfigs modified an argument");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Fixture f;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string options;
    if (text.substr(0, 2) == "#!") {
        std::size_t end = text.find('\n');
        options =
            std::string(text.substr(2, end == std::string_view::npos ? text.size() : end - 2));
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    }
    auto has = [&options](char c) { return options.find(c) != std::string::npos; };
    std::vector<std::string> docs = documents(text);

    std::ofstream(f.localFile, std::ios::binary | std::ios::trunc) << docs[0];
    effective::ComposeInput input;
    input.configFiles = {f.localFile.string()};
    if (has('t')) {
        input.configFiles.insert(input.configFiles.begin(), config::kRemoteConfigToken);
    }
    input.ownTelemetryYaml = has('o') ? "" : f.ownTelemetry;
    input.resourceAttributes = {{"host.name", "fuzz-host"}, {"os.type", "linux"}};
    input.opampExtensionYaml = f.extension;
    if (!has('l')) {
        std::map<std::string, std::string> remote;
        for (std::size_t i = 1; i < docs.size(); ++i) {
            remote[i == 1 ? std::string() : std::to_string(8 + i) + "-remote.yaml"] = docs[i];
        }
        input.remoteConfig = remote;
    }
    input.acceptsRemoteConfig = !has('r');
    input.needsNopPipeline = !has('n');
    input.instanceUid = kUid;
    input.otherConnections = has('c') ? nullptr : &f.others;

    effective::ComposeResult result = effective::composeEffectiveConfig(input);
    if (!result.error) {
        if (!parseMap(result.yaml)) {
            finding("the effective config does not parse back as a YAML map:\n" + result.yaml);
        }
    }
    // On the local file and the unnamed remote one, once the composer has taken both (it
    // refuses documents that would make a merge walk forever).
    if (docs.size() >= 2 && !has('l') && !result.error && result.warnings.empty()) {
        checkMergeLeavesArguments(docs[0], docs[1]);
    }
    return 0;
}
