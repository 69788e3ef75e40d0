// otelcol-standin: a stand-in for the OpenTelemetry Collector (otelcol-contrib) that the
// supervisor's tests run as their child. It behaves like the collector wherever the
// supervisor touches it; see tests/support/standin/README.md.

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>
#include <variant>
#include <vector>

#include "BuildInfo.h"
#include "Cli.h"
#include "Collector.h"
#include "Components.h"
#include "FeatureGates.h"
#include "Loader.h"

namespace {

using namespace opampsup::standin;

// Cobra prints the error, then the collector's main exits through Go's log.Fatalf.
int fail(const std::string& message) {
    std::cerr << "Error: " << message << std::endl;
    std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y/%m/%d %H:%M:%S", &local);
    std::cerr << stamp << " collector server run finished with error: " << message << std::endl;
    return 1;
}

int run(CliRequest& request) {
    using Command = CliRequest::Command;
    switch (request.command) {
        case Command::Version:
            std::cout << kCommand << " version " << version() << std::endl;
            return 0;
        case Command::Help:
            std::cout << helpText(request.helpTopic);
            return 0;
        case Command::Components:
            std::cout << componentsYaml();
            return 0;
        case Command::FeatureGate: {
            FeatureGates gates;
            if (!request.featureId) {
                std::cout << gates.table();
                return 0;
            }
            if (auto details = gates.describe(*request.featureId)) {
                std::cout << *details;
                return 0;
            }
            return fail("feature \"" + *request.featureId + "\" not found");
        }
        case Command::Run:
        case Command::Validate:
            break;
    }
    FeatureGates gates;
    for (const std::string& value : request.featureGates) {
        if (auto error = gates.apply(value)) {
            return fail("invalid argument \"" + value +
                        "\" for \"--feature-gates\" flag: " + *error);
        }
    }
    if (request.configUris.empty()) {
        return fail("at least one config flag must be provided");
    }
    if (request.command == Command::Validate) {
        try {
            loadConfig(request, gates, LoadMode::DryRun);
        } catch (const LoadError& e) {
            return fail(e.what());
        }
        return 0;
    }
    Collector collector(request, gates);
    if (auto error = collector.run()) {
        return fail(*error);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    auto parsed = parseCommandLine(args);
    if (auto* error = std::get_if<CliError>(&parsed)) {
        return fail(error->message);
    }
    return run(std::get<CliRequest>(parsed));
}
