#pragma once

// Ordering of package versions, to refuse downgrades. Versions are read as release tags
// name them: an optional "v", numbers separated by dots, an optional "-prerelease" and an
// optional "+build" (ignored), ordered as Semantic Versioning orders them.

#include <optional>
#include <string>

namespace opampsup::packages {

// Negative when `a` comes before `b`, zero when they are the same release, positive when
// after; nullopt when either is not a version (the caller cannot tell a downgrade).
std::optional<int> compareVersions(const std::string& a, const std::string& b);

}  // namespace opampsup::packages
