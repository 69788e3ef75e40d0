#include "ConfigDecode.h"

#include <regex>

#include "ConfigResolver.h"
#include "core/config/Duration.h"

namespace opampsup::standin {

namespace {

bool isPlainScalar(const YAML::Node& node) {
    return node.IsScalar() && (node.Tag() == "?" || node.Tag().empty());
}

std::string shown(const YAML::Node& node) {
    if (node.IsScalar()) {
        return node.Scalar();
    }
    YAML::Emitter out;
    out << YAML::Flow << node;
    return out.c_str();
}

}  // namespace

MapDecoder::MapDecoder(const YAML::Node& node, std::string path, std::vector<std::string>& errors)
    : path_(std::move(path)), errors_(&errors) {
    if (!node.IsDefined() || node.IsNull()) {
        node_ = YAML::Node(YAML::NodeType::Map);
        return;
    }
    if (!node.IsMap()) {
        errors_->push_back("'" + path_ + "' expected a map, got '" + goTypeName(node) + "'");
        node_ = YAML::Node(YAML::NodeType::Map);
        return;
    }
    node_ = node;
}

std::string MapDecoder::keyPath(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
}

YAML::Node MapDecoder::value(const std::string& key) {
    known_.insert(key);
    for (const auto& entry : node_) {
        if (entry.first.Scalar() == key) {
            return entry.second;
        }
    }
    return YAML::Node();
}

bool MapDecoder::has(const std::string& key) const {
    for (const auto& entry : node_) {
        if (entry.first.Scalar() == key && !entry.second.IsNull()) {
            return true;
        }
    }
    return false;
}

void MapDecoder::typeError(const std::string& key, const std::string& want, const YAML::Node& got) {
    errors_->push_back("'" + keyPath(key) + "' expected type '" + want +
                       "', got unconvertible type '" + goTypeName(got) + "', value: '" +
                       shown(got) + "'");
}

std::optional<std::string> MapDecoder::string(const std::string& key) {
    YAML::Node v = value(key);
    if (!v.IsDefined() || v.IsNull()) {
        return std::nullopt;
    }
    if (!v.IsScalar()) {
        typeError(key, "string", v);
        return std::nullopt;
    }
    return v.Scalar();
}

std::optional<bool> MapDecoder::boolean(const std::string& key) {
    YAML::Node v = value(key);
    if (!v.IsDefined() || v.IsNull()) {
        return std::nullopt;
    }
    if (isPlainScalar(v)) {
        const std::string& s = v.Scalar();
        if (s == "true" || s == "True" || s == "TRUE") {
            return true;
        }
        if (s == "false" || s == "False" || s == "FALSE") {
            return false;
        }
    }
    typeError(key, "bool", v);
    return std::nullopt;
}

std::optional<std::int64_t> MapDecoder::integer(const std::string& key) {
    YAML::Node v = value(key);
    if (!v.IsDefined() || v.IsNull()) {
        return std::nullopt;
    }
    static const std::regex kInt("[-+]?[0-9]+");
    if (isPlainScalar(v) && std::regex_match(v.Scalar(), kInt)) {
        try {
            return std::stoll(v.Scalar());
        } catch (const std::exception&) {
            // Out of range: reported below like any unconvertible value.
        }
    }
    typeError(key, "int", v);
    return std::nullopt;
}

std::optional<std::chrono::nanoseconds> MapDecoder::duration(const std::string& key) {
    YAML::Node v = value(key);
    if (!v.IsDefined() || v.IsNull()) {
        return std::nullopt;
    }
    if (!v.IsScalar()) {
        typeError(key, "time.Duration", v);
        return std::nullopt;
    }
    // A bare integer is a number of nanoseconds, as Go decodes it.
    static const std::regex kInt("[0-9]+");
    if (isPlainScalar(v) && std::regex_match(v.Scalar(), kInt)) {
        return std::chrono::nanoseconds(std::stoll(v.Scalar()));
    }
    auto parsed = parseDuration(v.Scalar());
    if (!parsed) {
        errors_->push_back("'" + keyPath(key) + "' time: invalid duration \"" + v.Scalar() + "\"");
    }
    return parsed;
}

std::optional<std::map<std::string, std::string>> MapDecoder::stringMap(const std::string& key) {
    YAML::Node v = value(key);
    if (!v.IsDefined() || v.IsNull()) {
        return std::nullopt;
    }
    if (!v.IsMap()) {
        typeError(key, "map[string]string", v);
        return std::nullopt;
    }
    std::map<std::string, std::string> out;
    for (const auto& entry : v) {
        if (!entry.second.IsScalar() && !entry.second.IsNull()) {
            typeError(key + "[" + entry.first.Scalar() + "]", "string", entry.second);
            continue;
        }
        out[entry.first.Scalar()] = entry.second.IsNull() ? "" : entry.second.Scalar();
    }
    return out;
}

MapDecoder MapDecoder::child(const std::string& key) {
    return MapDecoder(value(key), keyPath(key), *errors_);
}

void MapDecoder::accept(const std::string& key) {
    known_.insert(key);
}

void MapDecoder::finish() {
    // Sorted, as mapstructure lists them.
    std::set<std::string> keys;
    for (const auto& entry : node_) {
        if (known_.count(entry.first.Scalar()) == 0) {
            keys.insert(entry.first.Scalar());
        }
    }
    std::string unknown;
    for (const std::string& key : keys) {
        unknown += (unknown.empty() ? "" : ", ") + key;
    }
    if (!unknown.empty()) {
        errors_->push_back("'" + path_ + "' has invalid keys: " + unknown);
    }
}

void throwIfErrors(const std::vector<std::string>& errors) {
    if (errors.empty()) {
        return;
    }
    std::string text = "decoding failed due to the following error(s):\n";
    for (const std::string& e : errors) {
        text += "\n" + e;
    }
    throw DecodeError(text);
}

std::optional<std::chrono::nanoseconds> parseDuration(const std::string& text) {
    try {
        return config::parseGoDuration(text);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

}  // namespace opampsup::standin
