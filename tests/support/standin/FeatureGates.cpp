#include "FeatureGates.h"

#include <algorithm>

namespace opampsup::standin {

FeatureGates::FeatureGates() {
    // Only gates whose effect the stand-in implements (see Validation.cpp).
    gates_ = {
        {std::string(kAllowNoPipelines), "Alpha",
         "Allow starting the Collector without starting any pipelines.", "v0.122.0", "", false},
        {std::string(kProfilesSupport), "Alpha", "Controls whether profiles support can be enabled",
         "v0.112.0", "", false},
    };
    std::sort(gates_.begin(), gates_.end(),
              [](const Gate& a, const Gate& b) { return a.id < b.id; });
}

std::optional<std::string> FeatureGates::apply(std::string_view list) {
    std::string errors;
    std::size_t start = 0;
    while (start <= list.size()) {
        std::size_t comma = list.find(',', start);
        std::string_view item = list.substr(
            start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        start = comma == std::string_view::npos ? list.size() + 1 : comma + 1;
        if (item.empty()) {
            continue;
        }
        bool enable = true;
        if (item.front() == '-' || item.front() == '+') {
            enable = item.front() == '+';
            item.remove_prefix(1);
        }
        auto gate =
            std::find_if(gates_.begin(), gates_.end(), [&](const Gate& g) { return g.id == item; });
        std::string problem;
        if (gate == gates_.end()) {
            problem = "no such feature gate \"" + std::string(item) + "\"";
        } else if (gate->stage == "Stable" && !enable) {
            problem = "feature gate \"" + std::string(item) + "\" is stable, can not be disabled";
        } else {
            gate->enabled = enable;
        }
        if (!problem.empty()) {
            // Go's multierr joins several errors with "; ".
            errors += (errors.empty() ? "" : "; ") + problem;
        }
    }
    if (errors.empty()) {
        return std::nullopt;
    }
    return errors;
}

bool FeatureGates::enabled(std::string_view id) const {
    for (const Gate& g : gates_) {
        if (g.id == id) {
            return g.enabled;
        }
    }
    return false;
}

std::string FeatureGates::table() const {
    // Go's tabwriter with padding 2: each column as wide as its widest cell plus two spaces;
    // the last column is not padded.
    std::vector<std::vector<std::string>> rows{{"ID", "Enabled", "Stage", "Description"}};
    for (const Gate& g : gates_) {
        rows.push_back({g.id, g.enabled ? "true" : "false", g.stage, g.description});
    }
    std::size_t widths[3] = {0, 0, 0};
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < 3; ++i) {
            widths[i] = std::max(widths[i], row[i].size());
        }
    }
    std::string out;
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < 3; ++i) {
            out += row[i] + std::string(widths[i] + 2 - row[i].size(), ' ');
        }
        out += row[3] + "\n";
    }
    return out;
}

std::optional<std::string> FeatureGates::describe(std::string_view id) const {
    for (const Gate& g : gates_) {
        if (g.id != id) {
            continue;
        }
        std::string out = "Feature: " + g.id + "\n";
        out += std::string("Enabled: ") + (g.enabled ? "true" : "false") + "\n";
        out += "Stage: " + g.stage + "\n";
        out += "Description: " + g.description + "\n";
        out += "From Version: " + g.fromVersion + "\n";
        if (!g.toVersion.empty()) {
            out += "To Version: " + g.toVersion + "\n";
        }
        return out;
    }
    return std::nullopt;
}

}  // namespace opampsup::standin
