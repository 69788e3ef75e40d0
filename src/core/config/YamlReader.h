#pragma once

// Strict, position-aware reading of YAML maps into typed fields.
//
// Each read expands ${...} references, converts the value and, on failure, records a
// problem at the value's line and column instead of stopping: the loader reports every
// problem of a file in one go. finish() reports the keys nobody asked for, as the Go
// supervisor's strict decoding does.

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/config/ConfigError.h"
#include "core/config/Expansion.h"
#include "core/config/SupervisorConfig.h"

namespace opampsup::config {

// Where problems and warnings of one load are collected.
class LoadContext {
  public:
    LoadContext(std::string file, ExpansionSources sources);

    void problem(const YAML::Mark& at, const std::string& keyPath, const std::string& reason);
    void problemAtFile(const std::string& keyPath, const std::string& reason);
    void warning(const YAML::Mark& at, const std::string& keyPath, const std::string& reason);

    const std::string& file() const { return file_; }
    const ExpansionSources& sources() const { return sources_; }
    std::vector<ConfigProblem>& problems() { return problems_; }
    const std::vector<ConfigProblem>& warnings() const { return warnings_; }

  private:
    std::string file_;
    ExpansionSources sources_;
    std::vector<ConfigProblem> problems_;
    std::vector<ConfigProblem> warnings_;
};

class MapReader {
  public:
    // `node` may be a map or null (an empty section); anything else is recorded as a problem.
    MapReader(const YAML::Node& node, std::string path, LoadContext& context);

    // Each reader returns the value's position when the key is present and valid, and
    // leaves `out` untouched (the default) when it is absent, null, or invalid.
    std::optional<YAML::Mark> string(std::string_view key, std::string& out);
    std::optional<YAML::Mark> boolean(std::string_view key, bool& out);
    std::optional<YAML::Mark> duration(std::string_view key, Duration& out);
    std::optional<YAML::Mark> integer(std::string_view key, std::int64_t& out,
                                      std::int64_t min = std::numeric_limits<std::int64_t>::min(),
                                      std::int64_t max = std::numeric_limits<std::int64_t>::max());
    std::optional<YAML::Mark> stringList(std::string_view key, std::vector<std::string>& out,
                                         std::vector<YAML::Mark>* itemMarks = nullptr);
    std::optional<YAML::Mark> stringMap(std::string_view key,
                                        std::map<std::string, std::string>& out);
    // Header values may be one string or a list of strings.
    std::optional<YAML::Mark> headers(std::string_view key, Headers& out);
    // The value as YAML text with references expanded, for sections other modules read.
    std::optional<YAML::Mark> verbatim(std::string_view key, std::string& out);
    // The raw node of a list or map the caller reads itself (marked as used).
    std::optional<YAML::Node> node(std::string_view key);

    // A nested map; nullopt when absent or null.
    std::optional<MapReader> section(std::string_view key);

    // Whether the key is present with a non-null value (whatever its validity).
    bool has(std::string_view key) const;

    // Records every key that no read asked for.
    void finish();

    const YAML::Mark& mark() const { return mark_; }
    const std::string& path() const { return path_; }
    std::string childPath(std::string_view key) const;
    LoadContext& context() { return *context_; }

    // Expands references in a scalar; records a problem and returns nullopt on failure.
    std::optional<std::string> scalar(const YAML::Node& value, const std::string& keyPath);

  private:
    struct Entry {
        std::string key;
        YAML::Node keyNode;
        YAML::Node value;
        bool used = false;
    };

    Entry* find(std::string_view key);

    std::string path_;
    LoadContext* context_;
    YAML::Mark mark_;
    std::vector<Entry> entries_;
    std::vector<std::string> asked_;  // every key a read asked for, to suggest on typos
};

// A YAML node's kind in words, for messages: "a map", "a list", "a scalar", "null".
std::string describeNodeType(const YAML::Node& node);

}  // namespace opampsup::config
