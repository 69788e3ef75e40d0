#pragma once

// The command line: `opampsupervisor [--config FILE] [--feature-gates IDS]`, the `validate`,
// `status` and `service install|uninstall` subcommands, `--version` and `--help`. Flags take one or
// two dashes and `=` or a space, as Go's flag package does, so existing service definitions keep
// working.

#include <stdexcept>
#include <string>
#include <vector>

namespace opampsup::cli {

enum class Action { Run, Validate, Status, ServiceInstall, ServiceUninstall, Version, Help };

struct CommandLine {
    Action action = Action::Run;
    std::string configPath;
    std::vector<std::string> featureGates;  // enabled gate IDs, after +id/-id resolution
    bool json = false;                      // status: print the JSON as the endpoint gives it
};

class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// `args` excludes the program name. Throws UsageError with a message for the user.
CommandLine parseCommandLine(const std::vector<std::string>& args);

std::string usageText();

}  // namespace opampsup::cli
