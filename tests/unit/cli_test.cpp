#include <fstream>
#include <regex>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/cli/App.h"
#include "core/cli/CommandLine.h"
#include "support/TempDir.h"

namespace opampsup::cli {
namespace {

using ::testing::HasSubstr;

TEST(CommandLine, RunWithConfig) {
    CommandLine cmd = parseCommandLine({"--config", "s.yaml"});
    EXPECT_EQ(cmd.action, Action::Run);
    EXPECT_EQ(cmd.configPath, "s.yaml");
    EXPECT_TRUE(cmd.featureGates.empty());
}

TEST(CommandLine, AcceptsGoFlagSpellings) {
    for (auto args : std::vector<std::vector<std::string>>{
             {"-config", "s.yaml"}, {"--config=s.yaml"}, {"-config=s.yaml"}}) {
        EXPECT_EQ(parseCommandLine(args).configPath, "s.yaml");
    }
}

TEST(CommandLine, ValidateSubcommand) {
    CommandLine cmd = parseCommandLine({"validate", "--config", "s.yaml"});
    EXPECT_EQ(cmd.action, Action::Validate);
    EXPECT_EQ(cmd.configPath, "s.yaml");
}

TEST(CommandLine, StatusSubcommand) {
    CommandLine cmd = parseCommandLine({"status", "--config", "s.yaml", "--json"});
    EXPECT_EQ(cmd.action, Action::Status);
    EXPECT_EQ(cmd.configPath, "s.yaml");
    EXPECT_TRUE(cmd.json);
    EXPECT_FALSE(parseCommandLine({"status", "--config", "s.yaml"}).json);
    EXPECT_THROW(parseCommandLine({"--config", "s.yaml", "--json"}), UsageError);
}

TEST(CommandLine, ServiceSubcommands) {
    CommandLine install = parseCommandLine({"service", "install", "--config", "s.yaml",
                                            "--feature-gates", "opampsupervisor.Extensions"});
    EXPECT_EQ(install.action, Action::ServiceInstall);
    EXPECT_EQ(install.configPath, "s.yaml");
    EXPECT_EQ(install.featureGates, std::vector<std::string>{"opampsupervisor.Extensions"});
    EXPECT_EQ(parseCommandLine({"service", "uninstall"}).action, Action::ServiceUninstall);
    EXPECT_THROW(parseCommandLine({"service", "install"}), UsageError);  // which config?
    EXPECT_THROW(parseCommandLine({"service"}), UsageError);
    EXPECT_THROW(parseCommandLine({"service", "start"}), UsageError);
    EXPECT_THROW(parseCommandLine({"validate", "service", "install"}), UsageError);
}

TEST(CommandLine, FeatureGates) {
    EXPECT_EQ(parseCommandLine({"--config", "s", "--feature-gates=opampsupervisor.Extensions"})
                  .featureGates,
              std::vector<std::string>{"opampsupervisor.Extensions"});
    EXPECT_EQ(parseCommandLine({"--config", "s", "--feature-gates", "+opampsupervisor.Extensions"})
                  .featureGates,
              std::vector<std::string>{"opampsupervisor.Extensions"});
    EXPECT_TRUE(parseCommandLine({"--config", "s", "--feature-gates=opampsupervisor.Extensions",
                                  "--feature-gates=-opampsupervisor.Extensions"})
                    .featureGates.empty());
}

TEST(CommandLine, VersionAndHelpNeedNoConfig) {
    EXPECT_EQ(parseCommandLine({"--version"}).action, Action::Version);
    EXPECT_EQ(parseCommandLine({"-h"}).action, Action::Help);
    EXPECT_EQ(parseCommandLine({"--help"}).action, Action::Help);
}

void expectUsageError(const std::vector<std::string>& args, const std::string& fragment) {
    try {
        parseCommandLine(args);
        FAIL() << "expected a usage error";
    } catch (const UsageError& e) {
        EXPECT_THAT(e.what(), HasSubstr(fragment));
    }
}

TEST(CommandLine, UsageErrors) {
    expectUsageError({}, "--config is required");
    expectUsageError({"validate"}, "--config is required");
    expectUsageError({"--config"}, "flag --config needs a value");
    expectUsageError({"--config", ""}, "path to config file cannot be empty");
    expectUsageError({"--config", "s", "--verbose"}, "unknown flag \"--verbose\"");
    expectUsageError({"--config", "s", "extra"}, "unexpected argument \"extra\"");
    expectUsageError({"--config", "s", "--feature-gates=nope"}, "no such feature gate \"nope\"");
}

struct AppRun {
    int code;
    std::string out;
    std::string err;
};

AppRun runWith(const std::vector<std::string>& args) {
    std::ostringstream out;
    std::ostringstream err;
    int code = runApp(args, out, err);
    return {code, out.str(), err.str()};
}

TEST(App, VersionAndHelp) {
    AppRun version = runWith({"--version"});
    EXPECT_EQ(version.code, kExitOk);
    EXPECT_THAT(version.out,
                ::testing::MatchesRegex("opampsupervisor version [0-9]+\\.[0-9]+\\.[0-9]+\n"));
    AppRun help = runWith({"--help"});
    EXPECT_EQ(help.code, kExitOk);
    EXPECT_THAT(help.out, HasSubstr("validate --config FILE"));
}

TEST(App, UsageErrorExitsWithTwoAndPrintsUsage) {
    AppRun r = runWith({"--bogus"});
    EXPECT_EQ(r.code, kExitUsage);
    EXPECT_THAT(r.err, HasSubstr("unknown flag"));
    EXPECT_THAT(r.err, HasSubstr("Usage:"));
}

// An example config with its host paths pointed at files of this test.
std::filesystem::path localExample(const testing::TempDir& dir, const std::string& name) {
    std::ifstream in(std::string(OPAMPSUP_EXAMPLES_DIR) + "/" + name);
    EXPECT_TRUE(in) << name;
    std::stringstream content;
    content << in.rdbuf();
    auto executable = dir.writeExecutable("otelcol-contrib");
    auto fallback = dir.write("fallback.yaml", "receivers: {}\n");
    std::string text = std::regex_replace(content.str(), std::regex("executable: .*"),
                                          "executable: " + executable.string());
    text = std::regex_replace(text, std::regex("- /etc/otelcol/fallback.yaml"),
                              "- " + fallback.string());
    return dir.write(name, text);
}

TEST(App, ValidateAcceptsEveryExample) {
    for (const char* name : {"supervisor_linux.yaml", "supervisor_darwin.yaml",
                             "supervisor_windows.yaml", "supervisor_fallback.yaml"}) {
        testing::TempDir dir;
        auto config = localExample(dir, name);
        AppRun r = runWith({"validate", "--config", config.string()});
        EXPECT_EQ(r.code, kExitOk) << name << "\n" << r.err;
        EXPECT_THAT(r.out, HasSubstr("configuration is valid")) << name;
    }
}

TEST(App, ValidateRejectsBrokenConfigWithPreciseMessages) {
    testing::TempDir dir;
    auto config = dir.write("bad.yaml",
                            "server:\n  endpoint: ftp://x\nagent:\n  executable: /nope\n  "
                            "bootstrap_timeout: 3\n");
    AppRun r = runWith({"validate", "--config", config.string()});
    EXPECT_EQ(r.code, kExitFailure);
    EXPECT_THAT(r.err, HasSubstr("3 problems in the config:"));
    EXPECT_THAT(r.err, HasSubstr(config.string() + ":2:13: server.endpoint: unsupported scheme"));
    EXPECT_THAT(r.err, HasSubstr(config.string() + ":4:15: agent.executable: cannot find"));
    EXPECT_THAT(r.err, HasSubstr(config.string() + ":5:22: agent.bootstrap_timeout: invalid"));
}

// A telemetry section this supervisor cannot export (a Go config's gRPC exporter) is refused
// by validate, before a service would fail to start with it.
TEST(App, ValidateRefusesTelemetryItCannotExport) {
    testing::TempDir dir;
    auto exe = dir.writeExecutable("otelcol");
    auto config = dir.write("grpc.yaml",
                            "server:\n  endpoint: ws://127.0.0.1:4320/v1/opamp\n"
                            "agent:\n  executable: " +
                                exe.string() +
                                "\ntelemetry:\n  traces:\n    processors:\n"
                                "      - batch:\n          exporter:\n"
                                "            otlp:\n              protocol: grpc\n"
                                "              endpoint: http://x:4317\n");
    AppRun r = runWith({"validate", "--config", config.string()});
    EXPECT_EQ(r.code, kExitFailure);
    EXPECT_THAT(r.err, HasSubstr("telemetry.traces.processors[0].batch.exporter.otlp.protocol: "
                                 "\"grpc\" is not supported; use http/protobuf"));
}

TEST(App, ValidatePrintsWarnings) {
    testing::TempDir dir;
    auto exe = dir.writeExecutable("otelcol");
    auto config = dir.write("w.yaml",
                            "server:\n  endpoint: ws://localhost:4320\nagent:\n  "
                            "executable: " +
                                exe.string() + "\n  instance_id: nope\n");
    AppRun r = runWith({"validate", "--config", config.string()});
    EXPECT_EQ(r.code, kExitOk);
    EXPECT_THAT(r.err, HasSubstr("warning: " + config.string() + ":5:16: agent.instance_id"));
}

// A minimal valid config whose storage directory is `storage`.
std::filesystem::path minimalConfig(testing::TempDir& dir, const std::filesystem::path& storage) {
    auto exe = dir.writeExecutable("otelcol");
    return dir.write("s.yaml", "server:\n  endpoint: ws://localhost:4320\nagent:\n  executable: " +
                                   exe.string() + "\nstorage:\n  directory: " + storage.string() +
                                   "\n");
}

TEST(App, ValidateDoesNotTouchStorage) {
    testing::TempDir dir;
    auto storage = dir.path() / "storage";
    auto config = minimalConfig(dir, storage);
    EXPECT_EQ(runWith({"validate", "--config", config.string()}).code, kExitOk);
    EXPECT_FALSE(std::filesystem::exists(storage));
}

TEST(App, StatusOfASupervisorThatDoesNotRunExitsWithThree) {
    testing::TempDir dir;
    auto storage = dir.path() / "storage";
    auto config = minimalConfig(dir, storage);
    AppRun none = runWith({"status", "--config", config.string()});
    EXPECT_EQ(none.code, 3);
    EXPECT_THAT(none.err, HasSubstr("not running: no supervisor has published its status in " +
                                    (storage / "status_endpoint").string()));
    // A stale address (the supervisor was killed): nothing listens there any more.
    std::filesystem::create_directories(storage);
    std::ofstream(storage / "status_endpoint") << "127.0.0.1:1\n";
    AppRun stale = runWith({"status", "--config", config.string()});
    EXPECT_EQ(stale.code, 3);
    EXPECT_THAT(stale.err, HasSubstr("not running: cannot reach the status endpoint 127.0.0.1:1"));
}

TEST(App, RunRefusesABadConfigWithoutTouchingStorage) {
    testing::TempDir dir;
    auto storage = dir.path() / "storage";
    auto config = dir.write("s.yaml",
                            "server:\n  endpoint: ws://localhost:4320\nagent:\n  "
                            "executable: /nope\nstorage:\n  directory: " +
                                storage.string() + "\n");
    AppRun r = runWith({"--config", config.string()});
    EXPECT_EQ(r.code, kExitFailure);
    EXPECT_THAT(r.err, HasSubstr("agent.executable: cannot find \"/nope\""));
    EXPECT_FALSE(std::filesystem::exists(storage));
}

// Installing checks the config first; on Linux the answer points to the packages.
TEST(App, ServiceInstallChecksTheConfigThenExplainsThePackagesOnLinux) {
    testing::TempDir dir;
    auto bad = dir.write("bad.yaml", "server:\n  endpoint: ws://localhost:4320\n");
    AppRun refused = runWith({"service", "install", "--config", bad.string()});
    EXPECT_EQ(refused.code, kExitFailure);
    EXPECT_THAT(refused.err, HasSubstr("agent.executable"));
#if defined(__linux__)
    auto config = minimalConfig(dir, dir.path() / "storage");
    AppRun r = runWith({"service", "install", "--config", config.string()});
    EXPECT_EQ(r.code, kExitFailure);
    EXPECT_THAT(r.err, HasSubstr("deb and rpm packages install the systemd unit"));
#endif
}

}  // namespace
}  // namespace opampsup::cli
