#pragma once

// Strict decoding of one YAML map into typed fields, with mapstructure's error texts (the
// library the collector decodes component configs with): wrong types and unknown keys are
// collected, then reported together as "decoding failed due to the following error(s)".

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace opampsup::standin {

class DecodeError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class MapDecoder {
  public:
    // `path` is the dotted key of `node` ("" for a component's own map). A null node is an
    // empty map; anything else that is not a map is an error.
    MapDecoder(const YAML::Node& node, std::string path, std::vector<std::string>& errors);

    // Each returns nullopt when the key is absent or null, or when its value is invalid
    // (recorded as an error).
    std::optional<std::string> string(const std::string& key);
    std::optional<bool> boolean(const std::string& key);
    std::optional<std::int64_t> integer(const std::string& key);
    std::optional<std::chrono::nanoseconds> duration(const std::string& key);
    std::optional<std::map<std::string, std::string>> stringMap(const std::string& key);
    // A nested map; absent or null gives an empty one.
    MapDecoder child(const std::string& key);
    // Marks a key as known without decoding it.
    void accept(const std::string& key);
    bool has(const std::string& key) const;

    // Records the keys no one asked for.
    void finish();

  private:
    YAML::Node value(const std::string& key);
    std::string keyPath(const std::string& key) const;
    void typeError(const std::string& key, const std::string& want, const YAML::Node& got);

    YAML::Node node_;
    std::string path_;
    std::vector<std::string>* errors_;
    std::set<std::string> known_;
};

// Throws DecodeError with the collected errors, if any.
void throwIfErrors(const std::vector<std::string>& errors);

// Go's time.ParseDuration; nullopt when invalid.
std::optional<std::chrono::nanoseconds> parseDuration(const std::string& text);

}  // namespace opampsup::standin
