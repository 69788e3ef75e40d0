#include "core/effective/YamlMerge.h"

#include <map>
#include <set>
#include <string>

namespace opampsup::effective {
namespace {

// The value under `key`, or an undefined node. (A const yaml-cpp lookup of a missing key
// yields a node that throws on use.)
YAML::Node child(const YAML::Node& map, const std::string& key) {
    for (const auto& entry : map) {
        if (entry.first.IsScalar() && entry.first.Scalar() == key) {
            return entry.second;
        }
    }
    return YAML::Node(YAML::NodeType::Undefined);
}

YAML::Node mergeAt(const YAML::Node& base, const YAML::Node& overlay, const std::string& path) {
    if (!overlay.IsDefined() || overlay.IsNull()) {
        // confmap: an explicit null in a later file does not erase a map from an earlier one.
        return base.IsDefined() && !base.IsNull() ? cloneNode(base) : cloneNode(overlay);
    }
    if (path == "service.extensions" && base.IsSequence() && overlay.IsSequence()) {
        YAML::Node merged(YAML::NodeType::Sequence);
        std::set<std::string> seen;
        for (const YAML::Node* list : {&base, &overlay}) {
            for (const auto& item : *list) {
                std::string id = item.IsScalar() ? item.Scalar() : YAML::Dump(item);
                if (seen.insert(id).second) {
                    merged.push_back(cloneNode(item));
                }
            }
        }
        return merged;
    }
    if (path == "service.telemetry.resource.attributes" && base.IsSequence() &&
        overlay.IsSequence()) {
        YAML::Node merged(YAML::NodeType::Sequence);
        std::map<std::string, std::size_t> byName;
        for (const YAML::Node* list : {&base, &overlay}) {
            for (const auto& item : *list) {
                YAML::Node name = item.IsMap() ? child(item, "name") : YAML::Node();
                if (!name.IsScalar() || name.Scalar().empty()) {
                    merged.push_back(cloneNode(item));
                    continue;
                }
                if (auto known = byName.find(name.Scalar()); known != byName.end()) {
                    merged[known->second] = cloneNode(item);
                    continue;
                }
                byName[name.Scalar()] = merged.size();
                merged.push_back(cloneNode(item));
            }
        }
        return merged;
    }
    if (!base.IsMap() || !overlay.IsMap()) {
        return cloneNode(overlay);
    }
    YAML::Node merged = cloneNode(base);
    for (const auto& entry : overlay) {
        std::string key = entry.first.Scalar();
        std::string childPath = path.empty() ? key : path + "." + key;
        merged[key] = mergeAt(child(base, key), entry.second, childPath);
    }
    return merged;
}

}  // namespace

YAML::Node cloneNode(const YAML::Node& node) {
    return YAML::Clone(node);
}

YAML::Node mergeConfigs(const YAML::Node& base, const YAML::Node& overlay) {
    return mergeAt(base, overlay, "");
}

}  // namespace opampsup::effective
