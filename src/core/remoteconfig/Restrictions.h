#pragma once

// Checks a remote config against the local remote_config_restrictions before anything of it
// reaches the collector: component types per kind, the paths it may name, where exporters
// may send data, the confmap providers it may use, and its size.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/config/SupervisorConfig.h"

namespace opampsup::remoteconfig {

// The first rule the remote config files break, as a sentence naming the rule, the file,
// the component and the key; nullopt when they keep every rule. Files that are not YAML are
// left to the composer, which reports them.
//
// `resolve` turns a value holding the supervisor's own references
// (${opamp:other_connections...}) into what the collector will get, so endpoints and paths
// are checked as they will be used; those references are not a confmap provider. A value it
// cannot resolve is left to the composer, which refuses it.
using ReferenceResolver = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> checkRestrictions(const config::RemoteConfigRestrictions& rules,
                                             const std::map<std::string, std::string>& files,
                                             const ReferenceResolver& resolve = nullptr);

// Glob match with `*` (any run, possibly empty) and `?` (one character), case-sensitive.
bool globMatch(std::string_view pattern, std::string_view text);

}  // namespace opampsup::remoteconfig
