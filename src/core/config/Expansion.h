#pragma once

// `${...}` references in supervisor config values, resolved as the collector's confmap
// does with its env and file providers:
//   ${VAR}, ${env:VAR}        the environment variable (unset: empty, with a warning)
//   ${env:VAR:-fallback}      the fallback when VAR is unset or empty
//   ${file:/path}             the file's content
//   $$                        a literal '$'
// A bare $VAR is left as it is, as the collector does.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opampsup::config {

struct ExpansionSources {
    std::function<std::optional<std::string>(const std::string& name)> env;
    // Returns the file's content; throws std::runtime_error with a reason when it cannot.
    std::function<std::string(const std::string& path)> file;
};

// Sources backed by this process's environment and the file system.
ExpansionSources processExpansionSources();

struct Expansion {
    std::string value;
    std::vector<std::string> warnings;
};

// Throws std::invalid_argument naming the bad reference.
Expansion expandReferences(std::string_view input, const ExpansionSources& sources);

}  // namespace opampsup::config
