#include "core/config/YamlReader.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <stdexcept>

#include "core/config/Duration.h"

namespace opampsup::config {
namespace {

std::size_t editDistance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t above = row[j];
            row[j] =
                std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0U : 1U)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// Expands references in every scalar of a tree, for sections kept verbatim.
YAML::Node expandTree(const YAML::Node& node, const std::string& path, MapReader& reader) {
    switch (node.Type()) {
        case YAML::NodeType::Scalar: {
            YAML::Node out = YAML::Clone(node);
            if (std::optional<std::string> value = reader.scalar(node, path)) {
                out = *value;
            }
            return out;
        }
        case YAML::NodeType::Sequence: {
            YAML::Node out(YAML::NodeType::Sequence);
            std::size_t i = 0;
            for (const YAML::Node& item : node) {
                out.push_back(expandTree(item, path + "[" + std::to_string(i++) + "]", reader));
            }
            return out;
        }
        case YAML::NodeType::Map: {
            YAML::Node out(YAML::NodeType::Map);
            for (const auto& kv : node) {
                auto key = kv.first.as<std::string>();
                out[key] = expandTree(kv.second, path + "." + key, reader);
            }
            return out;
        }
        default:
            return YAML::Clone(node);
    }
}

bool isNull(const YAML::Node& node) {
    return !node.IsDefined() || node.IsNull();
}

}  // namespace

std::string describeNodeType(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map:
            return "a map";
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Scalar:
            return "a scalar";
        default:
            return "null";
    }
}

LoadContext::LoadContext(std::string file, ExpansionSources sources)
    : file_(std::move(file)), sources_(std::move(sources)) {}

void LoadContext::problem(const YAML::Mark& at, const std::string& keyPath,
                          const std::string& reason) {
    problems_.push_back(
        {file_, at.is_null() ? 0 : at.line + 1, at.is_null() ? 0 : at.column + 1, keyPath, reason});
}

void LoadContext::problemAtFile(const std::string& keyPath, const std::string& reason) {
    problems_.push_back({file_, 0, 0, keyPath, reason});
}

void LoadContext::warning(const YAML::Mark& at, const std::string& keyPath,
                          const std::string& reason) {
    warnings_.push_back(
        {file_, at.is_null() ? 0 : at.line + 1, at.is_null() ? 0 : at.column + 1, keyPath, reason});
}

MapReader::MapReader(const YAML::Node& node, std::string path, LoadContext& context)
    : path_(std::move(path)), context_(&context), mark_(node.Mark()) {
    if (isNull(node)) {
        return;
    }
    if (!node.IsMap()) {
        context_->problem(node.Mark(), path_, "expected a map, got " + describeNodeType(node));
        return;
    }
    std::set<std::string> seen;
    for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
            context_->problem(kv.first.Mark(), path_, "keys must be plain strings");
            continue;
        }
        auto key = kv.first.as<std::string>();
        if (!seen.insert(key).second) {
            context_->problem(kv.first.Mark(), childPath(key),
                              "key is defined more than once in this map");
            continue;
        }
        entries_.push_back({key, kv.first, kv.second, false});
    }
}

std::string MapReader::childPath(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

MapReader::Entry* MapReader::find(std::string_view key) {
    asked_.emplace_back(key);
    for (Entry& e : entries_) {
        if (e.key == key) {
            e.used = true;
            return &e;
        }
    }
    return nullptr;
}

std::optional<std::string> MapReader::scalar(const YAML::Node& value, const std::string& keyPath) {
    try {
        Expansion expanded = expandReferences(value.Scalar(), context_->sources());
        for (const std::string& w : expanded.warnings) {
            context_->warning(value.Mark(), keyPath, w);
        }
        return expanded.value;
    } catch (const std::invalid_argument& e) {
        context_->problem(value.Mark(), keyPath, e.what());
        return std::nullopt;
    }
}

std::optional<YAML::Mark> MapReader::string(std::string_view key, std::string& out) {
    Entry* e = find(key);
    if (e == nullptr || isNull(e->value)) {
        return std::nullopt;
    }
    if (!e->value.IsScalar()) {
        context_->problem(e->value.Mark(), childPath(key),
                          "expected a string, got " + describeNodeType(e->value));
        return std::nullopt;
    }
    std::optional<std::string> value = scalar(e->value, childPath(key));
    if (!value) {
        return std::nullopt;
    }
    out = *value;
    return e->value.Mark();
}

std::optional<YAML::Mark> MapReader::boolean(std::string_view key, bool& out) {
    std::string text;
    std::optional<YAML::Mark> at = string(key, text);
    if (!at) {
        return std::nullopt;
    }
    if (text == "true" || text == "True" || text == "TRUE") {
        out = true;
    } else if (text == "false" || text == "False" || text == "FALSE") {
        out = false;
    } else {
        context_->problem(*at, childPath(key),
                          "expected a boolean (true or false), got \"" + text + "\"");
        return std::nullopt;
    }
    return at;
}

std::optional<YAML::Mark> MapReader::duration(std::string_view key, Duration& out) {
    std::string text;
    std::optional<YAML::Mark> at = string(key, text);
    if (!at) {
        return std::nullopt;
    }
    try {
        out = parseGoDuration(text);
    } catch (const std::invalid_argument& e) {
        context_->problem(*at, childPath(key), e.what());
        return std::nullopt;
    }
    return at;
}

std::optional<YAML::Mark> MapReader::integer(std::string_view key, std::int64_t& out,
                                             std::int64_t min, std::int64_t max) {
    std::string text;
    std::optional<YAML::Mark> at = string(key, text);
    if (!at) {
        return std::nullopt;
    }
    std::int64_t value = 0;
    const char* begin = text.data();
    const char* end = text.data() + text.size();
    if (!text.empty() && text.front() == '+') {
        ++begin;
    }
    auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec == std::errc::result_out_of_range) {
        context_->problem(*at, childPath(key), "number \"" + text + "\" is out of range");
        return std::nullopt;
    }
    if (ec != std::errc() || ptr != end || begin == end) {
        context_->problem(*at, childPath(key), "expected a whole number, got \"" + text + "\"");
        return std::nullopt;
    }
    if (value < min || value > max) {
        context_->problem(*at, childPath(key),
                          "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                              ", got " + std::to_string(value));
        return std::nullopt;
    }
    out = value;
    return at;
}

std::optional<YAML::Mark> MapReader::stringList(std::string_view key, std::vector<std::string>& out,
                                                std::vector<YAML::Mark>* itemMarks) {
    Entry* e = find(key);
    if (e == nullptr || isNull(e->value)) {
        return std::nullopt;
    }
    if (!e->value.IsSequence()) {
        context_->problem(e->value.Mark(), childPath(key),
                          "expected a list of strings, got " + describeNodeType(e->value));
        return std::nullopt;
    }
    std::vector<std::string> items;
    std::vector<YAML::Mark> marks;
    bool ok = true;
    std::size_t i = 0;
    for (const YAML::Node& item : e->value) {
        std::string itemPath = childPath(key) + "[" + std::to_string(i++) + "]";
        if (!item.IsScalar()) {
            context_->problem(item.Mark(), itemPath,
                              "expected a string, got " + describeNodeType(item));
            ok = false;
            continue;
        }
        std::optional<std::string> value = scalar(item, itemPath);
        if (!value) {
            ok = false;
            continue;
        }
        items.push_back(*value);
        marks.push_back(item.Mark());
    }
    if (!ok) {
        return std::nullopt;
    }
    out = std::move(items);
    if (itemMarks != nullptr) {
        *itemMarks = std::move(marks);
    }
    return e->value.Mark();
}

std::optional<YAML::Mark> MapReader::stringMap(std::string_view key,
                                               std::map<std::string, std::string>& out) {
    std::optional<MapReader> map = section(key);
    if (!map) {
        return std::nullopt;
    }
    std::map<std::string, std::string> values;
    bool ok = true;
    for (Entry& e : map->entries_) {
        e.used = true;
        if (isNull(e.value)) {
            values[e.key] = "";
            continue;
        }
        if (!e.value.IsScalar()) {
            context_->problem(e.value.Mark(), map->childPath(e.key),
                              "expected a string, got " + describeNodeType(e.value));
            ok = false;
            continue;
        }
        std::optional<std::string> value = scalar(e.value, map->childPath(e.key));
        if (!value) {
            ok = false;
            continue;
        }
        values[e.key] = *value;
    }
    if (!ok) {
        return std::nullopt;
    }
    out = std::move(values);
    return map->mark();
}

std::optional<YAML::Mark> MapReader::headers(std::string_view key, Headers& out) {
    std::optional<MapReader> map = section(key);
    if (!map) {
        return std::nullopt;
    }
    Headers values;
    bool ok = true;
    for (Entry& e : map->entries_) {
        e.used = true;
        std::string itemPath = map->childPath(e.key);
        if (e.value.IsScalar()) {
            if (std::optional<std::string> value = scalar(e.value, itemPath)) {
                values[e.key].push_back(*value);
            } else {
                ok = false;
            }
        } else if (e.value.IsSequence()) {
            std::vector<std::string> list;
            if (map->stringList(e.key, list)) {
                values[e.key] = std::move(list);
            } else {
                ok = false;
            }
        } else if (!isNull(e.value)) {
            context_->problem(
                e.value.Mark(), itemPath,
                "expected a string or a list of strings, got " + describeNodeType(e.value));
            ok = false;
        }
    }
    if (!ok) {
        return std::nullopt;
    }
    out = std::move(values);
    return map->mark();
}

std::optional<YAML::Mark> MapReader::verbatim(std::string_view key, std::string& out) {
    Entry* e = find(key);
    if (e == nullptr || isNull(e->value)) {
        return std::nullopt;
    }
    std::size_t before = context_->problems().size();
    YAML::Node expanded = expandTree(e->value, childPath(key), *this);
    if (context_->problems().size() != before) {
        return std::nullopt;
    }
    YAML::Emitter emitter;
    emitter << expanded;
    out = emitter.c_str();
    return e->value.Mark();
}

std::optional<YAML::Node> MapReader::node(std::string_view key) {
    Entry* e = find(key);
    if (e == nullptr || isNull(e->value)) {
        return std::nullopt;
    }
    return e->value;
}

std::optional<MapReader> MapReader::section(std::string_view key) {
    Entry* e = find(key);
    if (e == nullptr || isNull(e->value)) {
        return std::nullopt;
    }
    if (!e->value.IsMap()) {
        context_->problem(e->value.Mark(), childPath(key),
                          "expected a map, got " + describeNodeType(e->value));
        return std::nullopt;
    }
    return MapReader(e->value, childPath(key), *context_);
}

bool MapReader::has(std::string_view key) const {
    return std::any_of(entries_.begin(), entries_.end(),
                       [&](const Entry& e) { return e.key == key && !isNull(e.value); });
}

void MapReader::finish() {
    for (const Entry& e : entries_) {
        if (e.used) {
            continue;
        }
        std::string reason = "unknown key";
        std::size_t best = 3;  // suggest only close matches
        std::string suggestion;
        for (const std::string& candidate : asked_) {
            std::size_t distance = editDistance(e.key, candidate);
            if (distance < best) {
                best = distance;
                suggestion = candidate;
            }
        }
        if (!suggestion.empty()) {
            reason += " (did you mean \"" + suggestion + "\"?)";
        }
        context_->problem(e.keyNode.Mark(), childPath(e.key), reason);
    }
}

}  // namespace opampsup::config
