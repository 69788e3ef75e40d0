#include "core/cli/CommandLine.h"

#include <algorithm>
#include <optional>

#include "core/config/ConfigLoader.h"

namespace opampsup::cli {
namespace {

// Splits "--name=value" / "-name value" forms; returns the flag name without dashes.
std::optional<std::string> flagName(const std::string& arg,
                                    std::optional<std::string>& inlineValue) {
    if (arg.size() < 2 || arg[0] != '-') {
        return std::nullopt;
    }
    std::string name = arg.substr(arg[1] == '-' ? 2 : 1);
    if (auto eq = name.find('='); eq != std::string::npos) {
        inlineValue = name.substr(eq + 1);
        name = name.substr(0, eq);
    }
    return name;
}

void applyFeatureGates(const std::string& list, std::vector<std::string>& enabled) {
    const std::vector<std::string>& known = config::knownFeatureGates();
    std::size_t start = 0;
    while (start <= list.size()) {
        std::size_t comma = list.find(',', start);
        std::string id =
            list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        start = comma == std::string::npos ? list.size() + 1 : comma + 1;
        if (id.empty()) {
            continue;
        }
        bool enable = true;
        if (id.front() == '+' || id.front() == '-') {
            enable = id.front() == '+';
            id.erase(0, 1);
        }
        if (std::find(known.begin(), known.end(), id) == known.end()) {
            std::string names;
            for (const std::string& k : known) {
                names += (names.empty() ? "" : ", ") + k;
            }
            throw UsageError("no such feature gate \"" + id + "\" (known gates: " + names + ")");
        }
        enabled.erase(std::remove(enabled.begin(), enabled.end(), id), enabled.end());
        if (enable) {
            enabled.push_back(id);
        }
    }
}

}  // namespace

CommandLine parseCommandLine(const std::vector<std::string>& args) {
    CommandLine cmd;
    bool sawConfig = false;
    bool sawSubcommand = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        std::optional<std::string> inlineValue;
        std::optional<std::string> name = flagName(arg, inlineValue);
        if (!name) {
            if (!sawSubcommand && (arg == "validate" || arg == "status") &&
                cmd.action == Action::Run) {
                cmd.action = arg == "validate" ? Action::Validate : Action::Status;
                sawSubcommand = true;
                continue;
            }
            if (!sawSubcommand && arg == "service" && cmd.action == Action::Run) {
                if (i + 1 >= args.size() ||
                    (args[i + 1] != "install" && args[i + 1] != "uninstall")) {
                    throw UsageError("service needs \"install\" or \"uninstall\"");
                }
                cmd.action =
                    args[++i] == "install" ? Action::ServiceInstall : Action::ServiceUninstall;
                sawSubcommand = true;
                continue;
            }
            throw UsageError("unexpected argument \"" + arg + "\"");
        }
        auto value = [&]() -> std::string {
            if (inlineValue) {
                return *inlineValue;
            }
            if (i + 1 >= args.size()) {
                throw UsageError("flag --" + *name + " needs a value");
            }
            return args[++i];
        };
        if (*name == "config") {
            cmd.configPath = value();
            if (cmd.configPath.empty()) {
                throw UsageError("path to config file cannot be empty");
            }
            sawConfig = true;
        } else if (*name == "feature-gates") {
            applyFeatureGates(value(), cmd.featureGates);
        } else if (*name == "json" && cmd.action == Action::Status) {
            cmd.json = true;
        } else if (*name == "version" || *name == "v") {
            cmd.action = Action::Version;
        } else if (*name == "help" || *name == "h") {
            cmd.action = Action::Help;
        } else {
            throw UsageError("unknown flag \"" + arg + "\"");
        }
    }
    if ((cmd.action == Action::Run || cmd.action == Action::Validate ||
         cmd.action == Action::Status || cmd.action == Action::ServiceInstall) &&
        !sawConfig) {
        throw UsageError("--config is required");
    }
    return cmd;
}

std::string usageText() {
    return "Usage:\n"
           "  opampsupervisor --config FILE [--feature-gates IDS]   run the supervisor\n"
           "  opampsupervisor validate --config FILE [--feature-gates IDS]\n"
           "                                                       check a config and exit\n"
           "  opampsupervisor status --config FILE [--json]        show the running supervisor\n"
           "  opampsupervisor service install --config FILE [--feature-gates IDS]\n"
           "                                                       register the Windows service\n"
           "  opampsupervisor service uninstall                    remove it\n"
           "  opampsupervisor --version                            print the version\n"
           "  opampsupervisor --help                               print this help\n"
           "\n"
           "Flags:\n"
           "  --config FILE         the supervisor config (YAML, Go supervisor format)\n"
           "  --feature-gates IDS   comma-separated gate IDs; +ID enables, -ID disables.\n"
           "                        Known: opampsupervisor.Extensions\n"
           "\n"
           "Exit codes: 0 success, 1 invalid config or runtime failure, 2 usage error;\n"
           "status: 3 when no supervisor runs with that config.\n";
}

}  // namespace opampsup::cli
