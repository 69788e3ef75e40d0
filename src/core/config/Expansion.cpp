#include "core/config/Expansion.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace opampsup::config {
namespace {

bool isValidEnvName(std::string_view name) {
    if (name.empty()) {
        return false;
    }
    auto isAlpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    if (!isAlpha(name.front()) && name.front() != '_') {
        return false;
    }
    for (char c : name) {
        if (!isAlpha(c) && c != '_' && !(c >= '0' && c <= '9')) {
            return false;
        }
    }
    return true;
}

// Index of the '}' closing the "${" that starts at `open`, honouring nested references.
std::size_t findClose(std::string_view text, std::size_t open) {
    int depth = 0;
    for (std::size_t i = open; i < text.size(); ++i) {
        if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
            ++depth;
            ++i;
        } else if (text[i] == '}') {
            --depth;
            if (depth == 0) {
                return i;
            }
        }
    }
    return std::string_view::npos;
}

std::string resolve(std::string_view reference, const ExpansionSources& sources,
                    std::vector<std::string>& warnings) {
    std::string_view scheme = "env";
    std::string_view body = reference;
    if (auto colon = reference.find(':'); colon != std::string_view::npos) {
        scheme = reference.substr(0, colon);
        body = reference.substr(colon + 1);
    }
    if (scheme == "env") {
        std::string_view name = body;
        std::optional<std::string_view> fallback;
        if (auto dash = body.find(":-"); dash != std::string_view::npos) {
            name = body.substr(0, dash);
            fallback = body.substr(dash + 2);
        }
        if (!isValidEnvName(name)) {
            throw std::invalid_argument("environment variable \"" + std::string(name) + "\" in ${" +
                                        std::string(reference) + "} has an invalid name");
        }
        std::optional<std::string> value = sources.env(std::string(name));
        if (fallback && (!value || value->empty())) {
            return std::string(*fallback);
        }
        if (!value) {
            warnings.push_back("environment variable " + std::string(name) + " is not set; ${" +
                               std::string(reference) + "} expands to an empty string");
            return {};
        }
        return *value;
    }
    if (scheme == "file") {
        if (body.empty()) {
            throw std::invalid_argument("${file:} needs a path");
        }
        try {
            return sources.file(std::string(body));
        } catch (const std::runtime_error& e) {
            throw std::invalid_argument("cannot resolve ${" + std::string(reference) +
                                        "}: " + e.what());
        }
    }
    throw std::invalid_argument("unsupported reference scheme \"" + std::string(scheme) +
                                "\" in ${" + std::string(reference) + "} (supported: env, file)");
}

}  // namespace

ExpansionSources processExpansionSources() {
    ExpansionSources sources;
    sources.env = [](const std::string& name) -> std::optional<std::string> {
        // getenv is read-only here and the supervisor never calls setenv.
        const char* value = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe)
        if (value == nullptr) {
            return std::nullopt;
        }
        return std::string(value);
    };
    sources.file = [](const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            throw std::runtime_error("cannot read file " + path);
        }
        std::ostringstream content;
        content << in.rdbuf();
        return content.str();
    };
    return sources;
}

Expansion expandReferences(std::string_view input, const ExpansionSources& sources) {
    Expansion out;
    std::size_t i = 0;
    while (i < input.size()) {
        char c = input[i];
        if (c != '$' || i + 1 >= input.size()) {
            out.value += c;
            ++i;
            continue;
        }
        char next = input[i + 1];
        if (next == '$') {
            out.value += '$';
            i += 2;
            continue;
        }
        if (next != '{') {
            out.value += c;
            ++i;
            continue;
        }
        std::size_t close = findClose(input, i);
        if (close == std::string_view::npos) {
            throw std::invalid_argument("unterminated reference \"" + std::string(input.substr(i)) +
                                        "\" (missing '}')");
        }
        // Inner references resolve first, so ${env:${env:NAME_VAR}} works as in confmap.
        Expansion inner = expandReferences(input.substr(i + 2, close - i - 2), sources);
        out.warnings.insert(out.warnings.end(), inner.warnings.begin(), inner.warnings.end());
        out.value += resolve(inner.value, sources, out.warnings);
        i = close + 1;
    }
    return out;
}

}  // namespace opampsup::config
