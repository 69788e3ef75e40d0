#include "ConfigResolver.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>

namespace opampsup::standin {

namespace {

// The collector reads "scheme:rest" when the prefix looks like a URI scheme of two or more
// characters (so a Windows drive letter is a path); anything else is a file path.
bool hasScheme(const std::string& uri, std::string& scheme) {
    static const std::regex kScheme("^([A-Za-z][A-Za-z0-9+.-]+):");
    std::smatch m;
    if (!std::regex_search(uri, m, kScheme)) {
        return false;
    }
    scheme = m[1];
    return true;
}

// Go reports system errors in lower case ("no such file or directory").
std::string goErrno(int error) {
    std::string text = std::strerror(error);
    if (!text.empty()) {
        text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    }
    return text;
}

std::string readFile(const std::string& uri, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        int error = errno;
        throw ConfigError("cannot retrieve the configuration: unable to read the file " + uri +
                          ": open " + path + ": " + goErrno(error));
    }
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) {
        throw ConfigError("cannot retrieve the configuration: unable to read the file " + uri +
                          ": read " + path + ": " + goErrno(EISDIR));
    }
    return content.str();
}

bool isPlain(const YAML::Node& scalar) {
    return scalar.Tag() == "?" || scalar.Tag().empty();
}

// Go's YAML decoder rejects what yaml-cpp accepts silently.
class DuplicateKey : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Copies a parsed document into fresh nodes: keys as strings, "a::b" keys nested, and a
// key that appears twice in one map rejected, as Go's YAML decoder does.
YAML::Node normalize(const YAML::Node& node) {
    if (node.IsMap()) {
        YAML::Node out(YAML::NodeType::Map);
        std::map<std::string, int> seenAt;
        for (const auto& entry : node) {
            std::string key = entry.first.Scalar();
            int line = entry.first.Mark().line + 1;
            if (auto seen = seenAt.find(key); seen != seenAt.end()) {
                throw DuplicateKey("yaml: unmarshal errors:\n  line " + std::to_string(line) +
                                   ": mapping key \"" + key + "\" already defined at line " +
                                   std::to_string(seen->second));
            }
            seenAt[key] = line;
            YAML::Node value = normalize(entry.second);
            // Nest "a::b::c" as a: {b: {c: value}}.
            std::vector<std::string> parts;
            std::size_t start = 0;
            for (std::size_t pos; (pos = key.find("::", start)) != std::string::npos;
                 start = pos + 2) {
                parts.push_back(key.substr(start, pos - start));
            }
            parts.push_back(key.substr(start));
            for (std::size_t i = parts.size() - 1; i > 0; --i) {
                YAML::Node wrapper(YAML::NodeType::Map);
                wrapper[parts[i]] = value;
                value = wrapper;
            }
            YAML::Node single(YAML::NodeType::Map);
            single[parts[0]] = value;
            out = mergeConfig(out, single);
        }
        return out;
    }
    if (node.IsSequence()) {
        YAML::Node out(YAML::NodeType::Sequence);
        for (const auto& item : node) {
            out.push_back(normalize(item));
        }
        return out;
    }
    return YAML::Clone(node);
}

// What the collector says when a source is not YAML: it took the text for a string.
const std::string kNotYaml =
    "retrieved value (type=string) cannot be used as a Conf: assuming string type since "
    "contents are not valid YAML: ";

// Parses one source into a map, with the collector's errors for what is not one.
YAML::Node parseSource(const std::string& content) {
    YAML::Node doc;
    try {
        doc = YAML::Load(content);
    } catch (const YAML::Exception& e) {
        throw ConfigError(kNotYaml + "yaml: line " + std::to_string(e.mark.line + 1) + ": " +
                          e.msg);
    }
    if (!doc.IsDefined() || doc.IsNull()) {
        return YAML::Node(YAML::NodeType::Map);
    }
    if (!doc.IsMap()) {
        throw ConfigError("retrieved value (type=" + goTypeName(doc) +
                          ") cannot be used as a Conf");
    }
    try {
        return normalize(doc);
    } catch (const DuplicateKey& e) {
        throw ConfigError(kNotYaml + std::string(e.what()));
    }
}

std::string retrieve(const std::string& uri) {
    std::string scheme;
    if (!hasScheme(uri, scheme)) {
        return readFile("file:" + uri, uri);
    }
    std::string rest = uri.substr(scheme.size() + 1);
    if (scheme == "file") {
        return readFile(uri, rest);
    }
    if (scheme == "env") {
        const char* value = std::getenv(rest.c_str());
        return value == nullptr ? "" : value;
    }
    if (scheme == "yaml") {
        return rest;
    }
    throw ConfigError("cannot retrieve the configuration: scheme \"" + scheme +
                      "\" is not supported for uri \"" + uri + "\"");
}

// Expands ${NAME}, ${env:NAME} and ${env:NAME:-default} in one scalar; "$$" is a literal "$".
std::string expand(const std::string& text, std::vector<std::string>& warnings) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '$' || i + 1 >= text.size()) {
            out += text[i];
            continue;
        }
        if (text[i + 1] == '$') {
            out += '$';
            ++i;
            continue;
        }
        std::size_t close = text.find('}', i);
        if (text[i + 1] != '{' || close == std::string::npos) {
            out += text[i];
            continue;
        }
        std::string ref = text.substr(i + 2, close - i - 2);
        // "${NAME}" uses the default scheme, env; other schemes are not provided here.
        if (ref.rfind("env:", 0) == 0) {
            ref = ref.substr(4);
        } else if (auto colon = ref.find(':');
                   colon != std::string::npos && ref.compare(colon, 2, ":-") != 0) {
            throw ConfigError("scheme \"" + ref.substr(0, colon) +
                              "\" is not supported for uri \"" + ref + "\"");
        }
        std::optional<std::string> fallback;
        if (auto dash = ref.find(":-"); dash != std::string::npos) {
            fallback = ref.substr(dash + 2);
            ref.resize(dash);
        }
        const char* value = std::getenv(ref.c_str());
        if (value != nullptr && (*value != '\0' || !fallback)) {
            out += value;
        } else if (fallback) {
            out += *fallback;
        } else {
            warnings.push_back(ref);
        }
        i = close;
    }
    return out;
}

YAML::Node expandAll(const YAML::Node& node, std::vector<std::string>& warnings) {
    if (node.IsMap()) {
        YAML::Node out(YAML::NodeType::Map);
        for (const auto& entry : node) {
            out[entry.first.Scalar()] = expandAll(entry.second, warnings);
        }
        return out;
    }
    if (node.IsSequence()) {
        YAML::Node out(YAML::NodeType::Sequence);
        for (const auto& item : node) {
            out.push_back(expandAll(item, warnings));
        }
        return out;
    }
    if (node.IsScalar() && node.Scalar().find('$') != std::string::npos) {
        YAML::Node out(expand(node.Scalar(), warnings));
        // A whole-value reference takes the type its text has; a quoted one stays a string.
        if (!isPlain(node)) {
            out.SetTag("!");
        }
        return out;
    }
    return YAML::Clone(node);
}

YAML::Node parseSet(const std::string& set) {
    auto eq = set.find('=');
    if (eq == std::string::npos) {
        throw ConfigError("cannot retrieve the configuration: missing equal sign for set value \"" +
                          set + "\"");
    }
    return parseSource(set.substr(0, eq) + ": " + set.substr(eq + 1));
}

}  // namespace

std::string goTypeName(const YAML::Node& node) {
    if (!node.IsDefined() || node.IsNull()) {
        return "<nil>";
    }
    if (node.IsMap()) {
        return "map[string]interface {}";
    }
    if (node.IsSequence()) {
        return "[]interface {}";
    }
    if (!isPlain(node)) {
        return "string";
    }
    static const std::regex kInt("[-+]?(0|[1-9][0-9_]*|0x[0-9a-fA-F_]+|0o?[0-7_]+)");
    static const std::regex kFloat(
        R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))");
    static const std::regex kBool("true|True|TRUE|false|False|FALSE");
    const std::string& s = node.Scalar();
    if (std::regex_match(s, kBool)) {
        return "bool";
    }
    if (std::regex_match(s, kInt)) {
        return "int";
    }
    if (std::regex_match(s, kFloat)) {
        return "float64";
    }
    return "string";
}

YAML::Node mergeConfig(const YAML::Node& base, const YAML::Node& over) {
    if (!base.IsMap() || !over.IsMap()) {
        return YAML::Clone(over);
    }
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& entry : base) {
        out[entry.first.Scalar()] = YAML::Clone(entry.second);
    }
    for (const auto& entry : over) {
        const std::string key = entry.first.Scalar();
        YAML::Node existing = out[key];
        out[key] =
            existing.IsMap() ? mergeConfig(existing, entry.second) : YAML::Clone(entry.second);
    }
    return out;
}

ResolvedConfig resolveConfig(const std::vector<std::string>& uris,
                             const std::vector<std::string>& sets) {
    YAML::Node merged(YAML::NodeType::Map);
    for (const std::string& uri : uris) {
        merged = mergeConfig(merged, parseSource(retrieve(uri)));
    }
    // --set values are one more source, merged last.
    for (const std::string& set : sets) {
        merged = mergeConfig(merged, parseSet(set));
    }
    ResolvedConfig result;
    result.root = expandAll(merged, result.warnings);
    return result;
}

}  // namespace opampsup::standin
