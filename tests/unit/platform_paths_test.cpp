#include <gtest/gtest.h>

#include "platform/os.h"
#include "platform/paths.h"

namespace opampsup::platform {
namespace {

// This suite runs on the build host; it checks the backend CMake chose for it.
TEST(PlatformPaths, DefaultStorageDirectoryMatchesTheGoSupervisor) {
    std::filesystem::path dir = defaultStorageDirectory();
    if (osType() == "windows") {
        EXPECT_EQ(dir.filename(), "Supervisor");
        EXPECT_EQ(dir.parent_path().filename(), "Otelcol");
    } else {
        EXPECT_EQ(dir, "/var/lib/otelcol/supervisor");
    }
}

TEST(PlatformPaths, AgentBinaryName) {
    EXPECT_EQ(defaultAgentBinaryName(),
              osType() == "windows" ? "otelcol-contrib.exe" : "otelcol-contrib");
}

TEST(PlatformOs, HupReloadOnlyWhereSighupExists) {
    EXPECT_EQ(supportsHupReload(), osType() != "windows");
    EXPECT_TRUE(osType() == "linux" || osType() == "darwin" || osType() == "windows");
}

}  // namespace
}  // namespace opampsup::platform
