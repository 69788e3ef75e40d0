#pragma once

// The stand-in's feature gate registry, as the collector's: gates set with
// --feature-gates ("id", "+id" enable, "-id" disable), listed by the `featuregate`
// subcommand. The supervisor reads that list to learn whether service.AllowNoPipelines
// exists.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opampsup::standin {

inline constexpr std::string_view kAllowNoPipelines = "service.AllowNoPipelines";
inline constexpr std::string_view kProfilesSupport = "service.profilesSupport";

class FeatureGates {
  public:
    struct Gate {
        std::string id;
        std::string stage;  // Alpha, Beta, Stable, Deprecated
        std::string description;
        std::string fromVersion;
        std::string toVersion;
        bool enabled = false;
    };

    FeatureGates();

    // Applies one --feature-gates value; the error is the collector's text.
    std::optional<std::string> apply(std::string_view list);
    bool enabled(std::string_view id) const;

    // The `featuregate` subcommand's output: a table of all gates, or one gate's details
    // (nullopt when there is no such gate).
    std::string table() const;
    std::optional<std::string> describe(std::string_view id) const;

  private:
    std::vector<Gate> gates_;  // sorted by id
};

}  // namespace opampsup::standin
