// Fuzzes the supervisor config loader (loadConfigText) on arbitrary text, as it reads the
// file given with --config: YAML parsing, the schema and its checks, and the ${...}
// references it expands (expandReferences, with an environment and files of the fuzzer's
// own, so no input reads the host's). Each input is loaded as on Linux and as on Windows,
// whose checks differ.
//
// Expected outcomes: a loaded config, or a ConfigError listing problems (and
// std::invalid_argument from expandReferences itself). Findings: a crash, a sanitizer report,
// any other exception escaping, a hang, or a problem without a reason or with a negative
// line or column.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/config/ConfigError.h"
#include "core/config/ConfigLoader.h"
#include "core/config/Expansion.h"
#include "fuzz/FuzzSupport.h"

namespace {

using namespace opampsup::config;
using opampsup::fuzz::finding;

const std::map<std::string, std::string>& environment() {
    static const std::map<std::string, std::string> kEnv{
        {"HOME", "/home/otel"},
        {"OPAMP_ENDPOINT", "wss://opamp.example.com:4320/v1/opamp"},
        {"OPAMP_TOKEN", "s3cr3t"},
        {"EMPTY", ""},
        {"STORAGE", "/var/lib/otelcol/supervisor"},
        {"NESTED", "${env:HOME}"},
        {"LOG_LEVEL", "debug"},
    };
    return kEnv;
}

const std::map<std::string, std::string>& files() {
    static const std::map<std::string, std::string> kFiles{
        {"/etc/opampsupervisor/token", "file-token\n"},
        {"/etc/opampsupervisor/endpoint", "ws://127.0.0.1:4320/v1/opamp"},
        {"/etc/opampsupervisor/empty", ""},
        {"/etc/opampsupervisor/headers.yaml", "X-Team: otel\n"},
    };
    return kFiles;
}

ExpansionSources sources() {
    ExpansionSources s;
    s.env = [](const std::string& name) -> std::optional<std::string> {
        auto it = environment().find(name);
        return it == environment().end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    s.file = [](const std::string& path) -> std::string {
        auto it = files().find(path);
        if (it == files().end()) {
            throw std::runtime_error("open " + path + ": no such file or directory");
        }
        return it->second;
    };
    return s;
}

LoadOptions optionsFor(const std::string& os) {
    LoadOptions options;
    options.sources = sources();
    options.platform.osType = os;
    if (os == "windows") {
        options.platform.defaultStorageDirectory = "C:\\ProgramData\\opampsupervisor";
        options.platform.defaultAgentBinary = "otelcol-contrib.exe";
        options.platform.supportsHupReload = false;
    } else {
        options.platform.defaultStorageDirectory = "/var/lib/otelcol/supervisor";
        options.platform.defaultAgentBinary = "otelcol-contrib";
        options.platform.supportsHupReload = true;
    }
    options.featureGates = {kExtensionsFeatureGate};
    return options;
}

void checkProblems(const std::vector<ConfigProblem>& problems, const char* what) {
    for (const ConfigProblem& p : problems) {
        if (p.reason.empty() || p.line < 0 || p.column < 0) {
            finding(std::string(what) + " without a reason or place: \"" + p.str() + "\"");
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const LoadOptions kLinux = optionsFor("linux");
    static const LoadOptions kWindows = optionsFor("windows");
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    for (const LoadOptions* options : {&kLinux, &kWindows}) {
        try {
            LoadResult result = loadConfigText(text, "supervisor.yaml", *options);
            checkProblems(result.warnings, "a warning");
        } catch (const ConfigError& e) {
            if (e.problems().empty()) {
                finding("a ConfigError without problems");
            }
            checkProblems(e.problems(), "a problem");
        }
    }
    // The expansion on its own, over the whole text as one value.
    try {
        (void)expandReferences(text, kLinux.sources);
    } catch (const std::invalid_argument&) {
        // a malformed reference: reported with its place when it is in the config
    }
    return 0;
}
