// compose-bench: how long the supervisor takes to compose the collector's effective config
// (parse, merge with the local config and its own sections, emit) for a remote config of a
// given size. Prints one JSON object: the config size and the median, min and max over the
// runs, in milliseconds.
//
//   compose-bench --bytes 1048576 --runs 20

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/effective/ConfigComposer.h"

namespace {

// A remote config of about `bytes`: a working pipeline plus as many attributes processors
// as it takes, the shape of a large real config.
std::string remoteConfigOf(std::size_t bytes) {
    std::string yaml =
        "receivers:\n  standin:\n    interval: 1s\nexporters:\n  file:\n    path: /tmp/out\n"
        "processors:\n";
    for (std::size_t i = 0; yaml.size() < bytes; ++i) {
        const std::string n = std::to_string(i);
        yaml += "  attributes/" + n + ":\n    actions:\n      - key: key-" + n +
                "\n        action: insert\n        value: \"value of attribute number " + n +
                " with some padding to look like a real value\"\n";
    }
    yaml +=
        "service:\n  pipelines:\n    traces:\n      receivers: [standin]\n"
        "      exporters: [file]\n";
    return yaml;
}

double milliseconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t bytes = 1 << 20;
    int runs = 20;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string arg = argv[i];
        if (arg == "--bytes") {
            bytes = std::strtoull(argv[i + 1], nullptr, 10);
        } else if (arg == "--runs") {
            runs = std::max(1, std::atoi(argv[i + 1]));
        } else {
            std::fprintf(stderr, "usage: compose-bench [--bytes N] [--runs N]\n");
            return 2;
        }
    }
    using opampsup::effective::ComposeInput;
    ComposeInput input;
    input.acceptsRemoteConfig = true;
    input.opampExtensionYaml =
        "extensions:\n  opamp:\n    server:\n      ws:\n        endpoint: "
        "ws://127.0.0.1:1/v1/opamp\nservice:\n  extensions: [opamp]\n";
    input.resourceAttributes = {{"host.name", "bench"}, {"service.name", "otelcol"}};
    input.instanceUid = "018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f";
    const std::string remote = remoteConfigOf(bytes);
    input.remoteConfig = std::map<std::string, std::string>{{"", remote}};

    std::vector<double> times;
    std::size_t outputBytes = 0;
    for (int i = 0; i < runs; ++i) {
        auto start = std::chrono::steady_clock::now();
        opampsup::effective::ComposeResult result = composeEffectiveConfig(input);
        times.push_back(milliseconds(std::chrono::steady_clock::now() - start));
        if (result.error) {
            std::fprintf(stderr, "compose failed: %s\n", result.error->c_str());
            return 1;
        }
        outputBytes = result.yaml.size();
    }
    std::sort(times.begin(), times.end());
    std::printf(
        "{\"input_bytes\": %zu, \"output_bytes\": %zu, \"runs\": %d, \"median_ms\": %.2f, "
        "\"min_ms\": %.2f, \"max_ms\": %.2f}\n",
        remote.size(), outputBytes, runs, times[times.size() / 2], times.front(), times.back());
    return 0;
}
