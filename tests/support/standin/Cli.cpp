#include "Cli.h"

#include <map>

#include "BuildInfo.h"

namespace opampsup::standin {

namespace {

using Command = CliRequest::Command;

struct FlagSpec {
    std::string name;
    char shorthand = 0;
    bool takesValue = false;
};

// Root and validate share the collector's flag set; the others only have --help.
std::vector<FlagSpec> flagsOf(Command command) {
    std::vector<FlagSpec> flags{{"help", 'h', false}};
    if (command == Command::Run || command == Command::Validate) {
        flags.push_back({"config", 0, true});
        flags.push_back({"feature-gates", 0, true});
        flags.push_back({"set", 0, true});
    }
    if (command == Command::Run) {
        flags.push_back({"version", 'v', false});
    }
    return flags;
}

const std::map<std::string, Command>& subcommands() {
    static const std::map<std::string, Command> kSubcommands{
        {"validate", Command::Validate},
        {"components", Command::Components},
        {"featuregate", Command::FeatureGate},
        {"help", Command::Help},
    };
    return kSubcommands;
}

const FlagSpec* findFlag(const std::vector<FlagSpec>& flags, const std::string& name,
                         char shorthand) {
    for (const FlagSpec& f : flags) {
        if ((!name.empty() && f.name == name) || (shorthand != 0 && f.shorthand == shorthand)) {
            return &f;
        }
    }
    return nullptr;
}

// Cobra finds the subcommand first: the first argument that is neither a root flag nor a
// root flag's value.
std::optional<std::size_t> subcommandIndex(const std::vector<std::string>& args) {
    const std::vector<FlagSpec> rootFlags = flagsOf(Command::Run);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--") {
            return std::nullopt;
        }
        if (a.rfind("--", 0) == 0) {
            std::string name = a.substr(2);
            if (name.find('=') == std::string::npos) {
                const FlagSpec* f = findFlag(rootFlags, name, 0);
                if (f != nullptr && f->takesValue) {
                    ++i;
                }
            }
            continue;
        }
        if (a.size() > 1 && a[0] == '-') {
            continue;
        }
        return i;
    }
    return std::nullopt;
}

}  // namespace

std::variant<CliRequest, CliError> parseCommandLine(const std::vector<std::string>& args) {
    CliRequest request;
    std::vector<std::string> rest = args;
    if (auto index = subcommandIndex(args)) {
        auto sub = subcommands().find(args[*index]);
        if (sub == subcommands().end()) {
            return CliError{"unknown command \"" + args[*index] + "\" for \"" +
                            std::string(kCommand) + "\""};
        }
        request.command = sub->second;
        rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(*index));
    }
    const std::vector<FlagSpec> flags = flagsOf(request.command);
    std::vector<std::string> positional;
    bool help = false;
    bool showVersion = false;
    for (std::size_t i = 0; i < rest.size(); ++i) {
        const std::string& a = rest[i];
        if (a == "--") {
            positional.insert(positional.end(), rest.begin() + static_cast<std::ptrdiff_t>(i + 1),
                              rest.end());
            break;
        }
        const FlagSpec* flag = nullptr;
        std::optional<std::string> value;
        std::string shown;
        if (a.rfind("--", 0) == 0) {
            std::string name = a.substr(2);
            if (auto eq = name.find('='); eq != std::string::npos) {
                value = name.substr(eq + 1);
                name.resize(eq);
            }
            flag = findFlag(flags, name, 0);
            shown = "--" + name;
            if (flag == nullptr) {
                return CliError{"unknown flag: " + shown};
            }
        } else if (a.size() > 1 && a[0] == '-') {
            // Go flags have no shorthands: "-config" is the shorthand cluster c, o, n, ...
            flag = findFlag(flags, "", a[1]);
            if (flag == nullptr) {
                return CliError{"unknown shorthand flag: '" + std::string(1, a[1]) + "' in " + a};
            }
            shown = "--" + flag->name;
            if (a.size() > 2) {
                if (!flag->takesValue) {
                    return CliError{"unknown shorthand flag: '" + std::string(1, a[2]) + "' in " +
                                    a};
                }
                value = a.substr(a[2] == '=' ? 3 : 2);
            }
        } else {
            positional.push_back(a);
            continue;
        }
        if (!flag->takesValue) {
            if (flag->name == "help") {
                help = true;
            } else {
                showVersion = true;
            }
            continue;
        }
        if (!value) {
            if (i + 1 >= rest.size()) {
                return CliError{"flag needs an argument: " + shown};
            }
            value = rest[++i];
        }
        if (flag->name == "config") {
            request.configUris.push_back(*value);
        } else if (flag->name == "feature-gates") {
            request.featureGates.push_back(*value);
        } else {
            request.sets.push_back(*value);
        }
    }
    if (help) {
        request.helpTopic = request.command == Command::Run ? "" : args[*subcommandIndex(args)];
        request.command = Command::Help;
        return request;
    }
    if (showVersion) {
        request.command = Command::Version;
        return request;
    }
    switch (request.command) {
        case Command::Help:
            if (!positional.empty()) {
                request.helpTopic = positional.front();
            }
            return request;
        case Command::FeatureGate:
            if (positional.size() > 1) {
                return CliError{"accepts at most 1 arg(s), received " +
                                std::to_string(positional.size())};
            }
            if (!positional.empty()) {
                request.featureId = positional.front();
            }
            return request;
        default:
            if (!positional.empty()) {
                return CliError{"accepts 0 arg(s), received " + std::to_string(positional.size())};
            }
            return request;
    }
}

std::string helpText(const std::string& topic) {
    const std::string cmd(kCommand);
    const std::string configFlags =
        "      --config stringArray     Locations of the config files; plain paths or "
        "file:, env:, yaml: URIs.\n"
        "                               Repeat the flag for several; they are merged in "
        "order.\n"
        "      --feature-gates list     Comma-delimited list of feature gate identifiers. "
        "Prefix with '-' to\n"
        "                               disable the feature, '+' or no prefix to enable it.\n"
        "      --set stringArray        Set a config property, e.g. "
        "--set=processors::batch::timeout=2s\n";
    if (topic == "validate") {
        return "Validates the config without running the collector\n\nUsage:\n  " + cmd +
               " validate [flags]\n\nFlags:\n" + configFlags +
               "  -h, --help                   help for validate\n";
    }
    if (topic == "components") {
        return "Outputs available components in this collector distribution including their "
               "stability levels.\n\nUsage:\n  " +
               cmd + " components [flags]\n\nFlags:\n  -h, --help   help for components\n";
    }
    if (topic == "featuregate") {
        return "Display information about available feature gates and their status\n\nUsage:\n  " +
               cmd +
               " featuregate [feature-id] [flags]\n\nFlags:\n  -h, --help   help for "
               "featuregate\n";
    }
    return std::string(kDescription) + "\n\nUsage:\n  " + cmd + " [flags]\n  " + cmd +
           " [command]\n\nAvailable Commands:\n"
           "  components  Outputs available components in this collector distribution\n"
           "  featuregate Display feature gates information\n"
           "  help        Help about any command\n"
           "  validate    Validates the config without running the collector\n\nFlags:\n" +
           configFlags + "  -h, --help                   help for " + cmd +
           "\n  -v, --version                version for " + cmd + "\n\nUse \"" + cmd +
           " [command] --help\" for more information about a command.\n";
}

}  // namespace opampsup::standin
