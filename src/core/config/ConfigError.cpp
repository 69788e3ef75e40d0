#include "core/config/ConfigError.h"

namespace opampsup::config {
namespace {

std::string joinProblems(const std::vector<ConfigProblem>& problems) {
    std::string out = std::to_string(problems.size()) +
                      (problems.size() == 1 ? " problem" : " problems") + " in the config:";
    for (const ConfigProblem& p : problems) {
        out += "\n  " + p.str();
    }
    return out;
}

}  // namespace

std::string ConfigProblem::str() const {
    std::string out = file;
    if (line > 0) {
        out += ":" + std::to_string(line) + ":" + std::to_string(column);
    }
    out += ": ";
    if (!keyPath.empty()) {
        out += keyPath + ": ";
    }
    return out + reason;
}

ConfigError::ConfigError(std::vector<ConfigProblem> problems)
    : std::runtime_error(joinProblems(problems)), problems_(std::move(problems)) {}

}  // namespace opampsup::config
