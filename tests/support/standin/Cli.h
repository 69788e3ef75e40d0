#pragma once

// The command line, parsed as the collector's (cobra with Go flags) parses it:
//   otelcol-standin [--config URI]... [--feature-gates LIST]... [--set K=V]...
//   otelcol-standin validate --config URI...
//   otelcol-standin components
//   otelcol-standin featuregate [ID]
//   otelcol-standin --version | --help | help [COMMAND]

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace opampsup::standin {

struct CliRequest {
    enum class Command { Run, Validate, Components, FeatureGate, Help, Version };
    Command command = Command::Run;
    std::vector<std::string> configUris;    // each --config, in order
    std::vector<std::string> featureGates;  // each --feature-gates value
    std::vector<std::string> sets;          // each --set value
    std::optional<std::string> featureId;   // featuregate [ID]
    std::string helpTopic;                  // the command whose help to print ("" = root)
};

struct CliError {
    std::string message;  // printed after "Error: "
};

std::variant<CliRequest, CliError> parseCommandLine(const std::vector<std::string>& args);

// The help text of a command ("" = root).
std::string helpText(const std::string& topic);

}  // namespace opampsup::standin
