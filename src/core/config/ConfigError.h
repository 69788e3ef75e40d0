#pragma once

// Problems found in a config file, each with its place, so that one run shows them all.

#include <stdexcept>
#include <string>
#include <vector>

namespace opampsup::config {

struct ConfigProblem {
    std::string file;
    int line = 0;         // 1-based; 0 when the problem has no single place in the file
    int column = 0;       // 1-based
    std::string keyPath;  // dotted, with [i] for list items: agent.config_files[2]
    std::string reason;

    // "file:line:column: key.path: reason"
    std::string str() const;
};

class ConfigError : public std::runtime_error {
  public:
    explicit ConfigError(std::vector<ConfigProblem> problems);

    const std::vector<ConfigProblem>& problems() const { return problems_; }

  private:
    std::vector<ConfigProblem> problems_;
};

}  // namespace opampsup::config
