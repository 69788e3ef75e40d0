#pragma once

// Loads and checks the supervisor config file. Every problem in the file is collected and
// thrown together as one ConfigError; nothing on disk is touched.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/ConfigError.h"
#include "core/config/Expansion.h"
#include "core/config/SupervisorConfig.h"

namespace opampsup::config {

// What the host OS contributes to defaults and checks; injectable so tests can play
// another OS.
struct PlatformFacts {
    std::filesystem::path defaultStorageDirectory;
    std::string defaultAgentBinary;
    bool supportsHupReload = true;
    std::string osType = "linux";  // linux, darwin, windows
    bool supportsRunAs = true;

    static PlatformFacts host();
};

// Feature gates this supervisor knows (`--feature-gates`).
inline constexpr const char* kExtensionsFeatureGate = "opampsupervisor.Extensions";
const std::vector<std::string>& knownFeatureGates();

struct LoadOptions {
    std::vector<std::string> featureGates;  // enabled gate IDs
    ExpansionSources sources = processExpansionSources();
    PlatformFacts platform = PlatformFacts::host();
};

struct LoadResult {
    SupervisorConfig config;
    std::vector<ConfigProblem> warnings;  // accepted, but worth telling the user
};

// Throws ConfigError listing every problem found.
LoadResult loadConfigFile(const std::filesystem::path& path, const LoadOptions& options = {});
LoadResult loadConfigText(std::string_view yaml, const std::string& fileName,
                          const LoadOptions& options = {});

}  // namespace opampsup::config
