#include "core/remoteconfig/Restrictions.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace opampsup::remoteconfig {
namespace {

constexpr std::array<const char*, 5> kKinds{"receivers", "processors", "exporters", "connectors",
                                            "extensions"};

std::string singular(const std::string& kind) {
    return kind.substr(0, kind.size() - 1);
}

std::string joined(const std::vector<std::string>& items) {
    if (items.empty()) {
        return "(none)";
    }
    std::string out;
    for (const std::string& item : items) {
        out += (out.empty() ? "" : ", ") + item;
    }
    return out;
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

bool endsWith(const std::string& text, std::string_view suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The confmap providers a value refers to: `${scheme:...}`, and `${NAME}`, which the
// collector resolves with the env provider. `$$` is the collector's escape for a literal `$`.
std::vector<std::string> providersIn(const std::string& value) {
    std::vector<std::string> schemes;
    for (std::size_t i = 0; i + 1 < value.size(); ++i) {
        if (value[i] != '$') {
            continue;
        }
        if (value[i + 1] == '$') {
            ++i;
            continue;
        }
        if (value[i + 1] != '{') {
            continue;
        }
        std::size_t start = i + 2;
        std::size_t end = start;
        while (end < value.size() &&
               (std::isalnum(static_cast<unsigned char>(value[end])) != 0 || value[end] == '+' ||
                value[end] == '.' || value[end] == '-' || value[end] == '_')) {
            ++end;
        }
        bool hasScheme = end < value.size() && value[end] == ':' && end > start &&
                         std::isalpha(static_cast<unsigned char>(value[start])) != 0;
        schemes.push_back(hasScheme ? value.substr(start, end - start) : "env");
    }
    return schemes;
}

// Keys whose values the collector treats as files or directories on the host.
bool isPathKey(const std::string& key) {
    static const std::array<const char*, 9> kNames{
        "path",    "file",      "file_path",    "filename",          "directory",
        "include", "root_path", "output_paths", "error_output_paths"};
    return std::any_of(kNames.begin(), kNames.end(),
                       [&](const char* name) { return key == name; }) ||
           endsWith(key, "_file") || endsWith(key, "_dir") || endsWith(key, "_directory");
}

bool isEndpointKey(const std::string& key) {
    return key == "endpoint" || key == "endpoints" || endsWith(key, "_endpoint");
}

struct Endpoint {
    std::string host;
    std::string port;
};

Endpoint parseEndpoint(std::string value) {
    if (std::size_t scheme = value.find("://"); scheme != std::string::npos) {
        value = value.substr(scheme + 3);
    }
    value = value.substr(0, value.find_first_of("/?#"));
    if (std::size_t at = value.rfind('@'); at != std::string::npos) {
        value = value.substr(at + 1);
    }
    Endpoint e;
    if (!value.empty() && value[0] == '[') {
        std::size_t close = value.find(']');
        e.host = value.substr(1, close == std::string::npos ? std::string::npos : close - 1);
        if (close != std::string::npos && close + 1 < value.size() && value[close + 1] == ':') {
            e.port = value.substr(close + 2);
        }
        return e;
    }
    std::size_t colon = value.rfind(':');
    e.host = value.substr(0, colon);
    if (colon != std::string::npos) {
        e.port = value.substr(colon + 1);
    }
    return e;
}

bool endpointAllowed(const Endpoint& endpoint, const std::vector<std::string>& patterns) {
    const std::string host = lower(endpoint.host);
    const std::string hostPort = host + ":" + endpoint.port;
    return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& pattern) {
        const std::string p = lower(pattern);
        // A pattern with a port names it; one without allows every port of the host.
        bool withPort = p.rfind('[', 0) == 0 ? p.find("]:") != std::string::npos
                                             : p.find(':') != std::string::npos;
        if (withPort) {
            return !endpoint.port.empty() &&
                   globMatch(p, p[0] == '[' ? "[" + host + "]:" + endpoint.port : hostPort);
        }
        return globMatch(p, host);
    });
}

bool underPrefix(const std::string& value, const std::vector<std::string>& prefixes) {
    std::filesystem::path path = std::filesystem::path(value).lexically_normal();
    if (!path.is_absolute()) {
        return false;
    }
    const std::string normal = path.generic_string();
    return std::any_of(prefixes.begin(), prefixes.end(), [&](const std::string& prefix) {
        std::string p = std::filesystem::path(prefix).lexically_normal().generic_string();
        while (p.size() > 1 && p.back() == '/') {
            p.pop_back();
        }
        return normal == p || (normal.size() > p.size() && normal.compare(0, p.size(), p) == 0 &&
                               (p.back() == '/' || normal[p.size()] == '/'));
    });
}

class Checker {
  public:
    Checker(const config::RemoteConfigRestrictions& rules, std::string file,
            const ReferenceResolver& resolve)
        : rules_(rules),
          where_("remote config file \"" + std::move(file) + "\": "),
          resolve_(resolve) {}

    std::optional<std::string> check(const YAML::Node& root) {
        if (!root.IsMap()) {
            return std::nullopt;
        }
        for (const auto& entry : root) {
            walk(entry.second, entry.first.Scalar(), {});
            if (violation_) {
                return violation_;
            }
        }
        for (const char* kind : kKinds) {
            if (auto found = checkComponents(root[kind], kind)) {
                return found;
            }
        }
        return std::nullopt;
    }

  private:
    struct Context {
        std::string kind;           // top-level section the value sits in, when a component
        std::string componentType;  // its type, e.g. "file" for "file/out"
        std::string key;            // the nearest map key above the value
    };

    void walk(const YAML::Node& node, const std::string& path, Context context, int depth = 1) {
        if (violation_) {
            return;
        }
        // YAML aliases can make a document refer to itself, or expand to billions of
        // values: bounded here, since everything after this walks the document too.
        if (depth > kMaxDepth) {
            violation_ = where_ + path + " nests deeper than " + std::to_string(kMaxDepth) +
                         " levels (a YAML alias that refers to itself?); refused";
            return;
        }
        if (++visited_ > kMaxValues) {
            violation_ = where_ + "expands to more than " + std::to_string(kMaxValues) +
                         " values through YAML aliases; refused";
            return;
        }
        if (node.IsMap()) {
            for (const auto& entry : node) {
                const std::string key = entry.first.Scalar();
                Context inner = context;
                if (path.find("::") == std::string::npos && isKind(path)) {
                    inner.kind = path;
                    inner.componentType = key.substr(0, key.find('/'));
                }
                inner.key = key;
                walk(entry.second, path + "::" + key, inner, depth + 1);
            }
        } else if (node.IsSequence()) {
            for (std::size_t i = 0; i < node.size(); ++i) {
                walk(node[i], path + "[" + std::to_string(i) + "]", context, depth + 1);
            }
        } else if (node.IsScalar()) {
            scalar(node.Scalar(), path, context);
        }
    }

    static bool isKind(const std::string& name) {
        return std::any_of(kKinds.begin(), kKinds.end(),
                           [&](const char* kind) { return name == kind; });
    }

    void scalar(const std::string& raw, const std::string& path, const Context& context) {
        // The supervisor's own references are resolved before the collector sees the value.
        std::string value = raw;
        // A file the supervisor writes itself (an offered certificate) is not the server
        // naming a path on the host.
        const bool supervisorFile = raw.rfind(kSupervisorReference, 0) == 0 &&
                                    endsWith(raw, "_file}") && raw.find('}') == raw.size() - 1;
        if (raw.find(kSupervisorReference) != std::string::npos) {
            std::optional<std::string> resolved = resolve_ ? resolve_(raw) : std::nullopt;
            if (!resolved) {
                return;  // the composer refuses it, naming the reference
            }
            value = *resolved;
        }
        for (const std::string& scheme : providersIn(value)) {
            const auto& allowed = rules_.allowedConfigProviders;
            if (std::find(allowed.begin(), allowed.end(), scheme) == allowed.end()) {
                violation_ = "remote_config_restrictions.allowed_config_providers: " + where_ +
                             path + " uses the \"" + scheme + "\" config provider (\"" + value +
                             "\"); allowed providers: " + joined(allowed);
                return;
            }
        }
        if (!rules_.allowedExporterEndpoints.empty() && context.kind == "exporters" &&
            isEndpointKey(context.key) && !value.empty()) {
            if (!endpointAllowed(parseEndpoint(value), rules_.allowedExporterEndpoints)) {
                violation_ = "remote_config_restrictions.allowed_exporter_endpoints: " + where_ +
                             path + " sends to \"" + value + "\", which matches none of " +
                             joined(rules_.allowedExporterEndpoints);
                return;
            }
        }
        if (!rules_.allowedPathPrefixes.empty() && isPathKey(context.key) && !value.empty() &&
            !supervisorFile) {
            // The health check extensions' `path` is the URL path they serve.
            bool urlPath = context.key == "path" && context.kind == "extensions" &&
                           context.componentType.rfind("health", 0) == 0;
            bool stream =
                endsWith(context.key, "output_paths") && (value == "stdout" || value == "stderr");
            if (!urlPath && !stream && !underPrefix(value, rules_.allowedPathPrefixes)) {
                violation_ = "remote_config_restrictions.allowed_path_prefixes: " + where_ + path +
                             " is \"" + value + "\", which is not under " +
                             joined(rules_.allowedPathPrefixes);
            }
        }
    }

    std::optional<std::string> checkComponents(const YAML::Node& section, const std::string& kind) {
        auto rule = rules_.components.find(kind);
        // A kind the config does not have is an invalid node, which throws if asked its type.
        if (rule == rules_.components.end() || !section.IsDefined() || !section.IsMap()) {
            return std::nullopt;
        }
        const std::string prefix = "remote_config_restrictions.components." + kind;
        for (const auto& entry : section) {
            const std::string id = entry.first.Scalar();
            if (id == "<<") {
                // The collector expands YAML merge keys; what they bring in is not listed here.
                return prefix + ": " + where_ + kind +
                       " uses a YAML merge key (<<), which the component rules cannot check";
            }
            const std::string type = id.substr(0, id.find('/'));
            for (const std::string& glob : rule->second.deny) {
                if (globMatch(glob, type)) {
                    return prefix + ".deny: " + where_ + singular(kind) + " \"" + id +
                           "\" has the type \"" + type + "\", which is denied (\"" + glob + "\")";
                }
            }
            const auto& allow = rule->second.allow;
            if (!allow.empty() && std::none_of(allow.begin(), allow.end(), [&](const auto& glob) {
                    return globMatch(glob, type);
                })) {
                return prefix + ".allow: " + where_ + singular(kind) + " \"" + id +
                       "\" has the type \"" + type + "\", which matches none of " + joined(allow);
            }
        }
        return std::nullopt;
    }

    static constexpr int kMaxDepth = 100;
    static constexpr std::size_t kMaxValues = 1000000;

    static constexpr std::string_view kSupervisorReference = "${opamp:other_connections.";

    const config::RemoteConfigRestrictions& rules_;
    std::string where_;
    const ReferenceResolver& resolve_;
    std::optional<std::string> violation_;
    std::size_t visited_ = 0;
};

}  // namespace

bool globMatch(std::string_view pattern, std::string_view text) {
    // Iterative matching with one backtrack point for the last `*`.
    std::size_t p = 0;
    std::size_t t = 0;
    std::size_t star = std::string_view::npos;
    std::size_t resume = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') {
        ++p;
    }
    return p == pattern.size();
}

std::optional<std::string> checkRestrictions(const config::RemoteConfigRestrictions& rules,
                                             const std::map<std::string, std::string>& files,
                                             const ReferenceResolver& resolve) {
    std::uint64_t size = 0;
    for (const auto& [name, body] : files) {
        size += body.size();
    }
    if (size > rules.maxConfigBytes) {
        return "remote_config_restrictions.max_config_bytes: the remote config is " +
               std::to_string(size) + " bytes; at most " + std::to_string(rules.maxConfigBytes) +
               " are allowed";
    }
    for (const auto& [name, body] : files) {
        YAML::Node root;
        try {
            root = YAML::Load(body);
        } catch (const YAML::Exception&) {
            continue;  // the composer reports it with its position
        }
        if (auto violation = Checker(rules, name, resolve).check(root)) {
            return violation;
        }
    }
    return std::nullopt;
}

}  // namespace opampsup::remoteconfig
