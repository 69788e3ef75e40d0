// ConfigValidator against real processes: the stand-in collector's validate command, and
// small scripts standing in for a collector without the command and for one that hangs.

#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "core/agent/ProcessLauncher.h"
#include "core/remoteconfig/ConfigValidator.h"
#include "core/supervisor/EventLoop.h"
#include "support/TempDir.h"
#include "support/Waiter.h"

namespace opampsup::remoteconfig {
namespace {

using namespace std::chrono_literals;
using Outcome = Validation::Outcome;

constexpr const char* kGood = R"(receivers:
  nop: {}
exporters:
  nop: {}
service:
  pipelines:
    traces:
      receivers: [nop]
      exporters: [nop]
)";

class ConfigValidatorTest : public ::testing::Test {
  protected:
    void SetUp() override {
        loopThread_ = std::thread([this] { loop_.run(); });
    }
    void TearDown() override {
        Waiter<bool> gone;
        loop_.post([&] {
            validator_.reset();
            gone.push(true);
        });
        gone.pop();
        loop_.stop();
        loopThread_.join();
    }

    std::filesystem::path file(const std::string& name, const std::string& text,
                               bool executable = false) {
        std::filesystem::path path = dir_.path() / name;
        std::ofstream(path) << text;
        if (executable) {
            std::filesystem::permissions(path, std::filesystem::perms::owner_all);
        }
        return path;
    }

    Validation validate(const std::filesystem::path& executable, const std::string& config,
                        std::vector<std::string> args = {},
                        std::chrono::milliseconds timeout = 10s) {
        return validateFiles(executable, {file("candidate.yaml", config)}, std::move(args),
                             timeout);
    }

    Validation validateFiles(const std::filesystem::path& executable,
                             std::vector<std::filesystem::path> files,
                             std::vector<std::string> args = {},
                             std::chrono::milliseconds timeout = 10s) {
        Waiter<Validation> result;
        loop_.post([&] {
            validator_ = std::make_unique<ConfigValidator>(loop_, launcher_, executable,
                                                           std::move(args), timeout);
            validator_->validate(files, [&](Validation v) { result.push(std::move(v)); });
        });
        std::optional<Validation> got = result.pop(20s);
        EXPECT_TRUE(got) << "no result";
        return got.value_or(Validation{});
    }

    template <typename T>
    using Waiter = opampsup::testing::Waiter<T>;

    opampsup::testing::TempDir dir_;
    supervisor::EventLoop loop_;
    std::thread loopThread_;
    agent::ProcessLauncher launcher_;
    std::unique_ptr<ConfigValidator> validator_;
};

TEST_F(ConfigValidatorTest, AGoodConfigIsValid) {
    Validation v = validate(OTELCOL_STANDIN_PATH, kGood);
    EXPECT_EQ(v.outcome, Outcome::Valid) << v.detail;
}

TEST_F(ConfigValidatorTest, ARefusedConfigCarriesTheCollectorsOwnWords) {
    Validation v =
        validate(OTELCOL_STANDIN_PATH,
                 "receivers:\n  nope: {}\nexporters:\n  nop: {}\nservice:\n  pipelines:\n"
                 "    traces:\n      receivers: [nope]\n      exporters: [nop]\n");
    EXPECT_EQ(v.outcome, Outcome::Invalid);
    EXPECT_NE(v.detail.find("'receivers' unknown type: \"nope\" for id: \"nope\""),
              std::string::npos)
        << v.detail;
}

TEST_F(ConfigValidatorTest, SeveralFilesAreMergedInOrder) {
    auto components = file("components.yaml", "receivers:\n  nop: {}\nexporters:\n  nop: {}\n");
    auto service = file("service.yaml",
                        "service:\n  pipelines:\n    traces:\n"
                        "      receivers: [nop]\n      exporters: [nop]\n");
    Validation both = validateFiles(OTELCOL_STANDIN_PATH, {components, service});
    EXPECT_EQ(both.outcome, Outcome::Valid) << both.detail;
    Validation alone = validateFiles(OTELCOL_STANDIN_PATH, {service});
    EXPECT_EQ(alone.outcome, Outcome::Invalid);
}

TEST_F(ConfigValidatorTest, AgentArgsReachTheValidateCommand) {
    // A feature gate the stand-in does not know is refused by it, which proves it got there.
    Validation v = validate(OTELCOL_STANDIN_PATH, kGood, {"--feature-gates", "no.such.gate"});
    EXPECT_EQ(v.outcome, Outcome::Invalid);
    EXPECT_NE(v.detail.find("no.such.gate"), std::string::npos) << v.detail;
}

TEST_F(ConfigValidatorTest, ACollectorWithoutTheCommandIsUnsupported) {
    auto old = file("old-otelcol",
                    "#!/bin/sh\necho 'Error: unknown command \"validate\" for \"otelcol\"' >&2\n"
                    "exit 1\n",
                    true);
    EXPECT_EQ(validate(old, kGood).outcome, Outcome::Unsupported);
}

TEST_F(ConfigValidatorTest, AHangingCheckIsKilledAtTheTimeout) {
    auto hang = file("hanging-otelcol", "#!/bin/sh\nexec sleep 60\n", true);
    auto started = std::chrono::steady_clock::now();
    Validation v = validate(hang, kGood, {}, 300ms);
    EXPECT_EQ(v.outcome, Outcome::Failed);
    EXPECT_EQ(v.detail, "the validate command did not finish within 300 ms");
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

TEST_F(ConfigValidatorTest, AMissingExecutableFails) {
    Validation v = validate(dir_.path() / "absent", kGood);
    EXPECT_EQ(v.outcome, Outcome::Failed);
    EXPECT_NE(v.detail.find("cannot run the validate command"), std::string::npos) << v.detail;
}

TEST(ConfigValidatorInterpret, SignalsAreFailuresNotVerdicts) {
    agent::ExitStatus killed;
    killed.signaled = true;
    killed.signal = 9;
    killed.signalName = "SIGKILL";
    EXPECT_EQ(ConfigValidator::interpret(killed, "").outcome, Outcome::Failed);
    EXPECT_EQ(ConfigValidator::interpret({}, "whatever").outcome, Outcome::Valid);
}

}  // namespace
}  // namespace opampsup::remoteconfig
