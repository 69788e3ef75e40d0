// The stand-in collector (otelcol-standin), run as a real child process: its CLI, its
// config errors in the collector's words, its run loop (signals, reload, crash), the data
// its file exporter writes, and its opamp extension against a WebSocket server on loopback.

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include "support/ChildRun.h"
#include "support/TempDir.h"
#include "support/TestWsServer.h"

extern char** environ;

namespace opampsup::standin {
namespace {

namespace pb = ::opamp::proto;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;

using testing::Child;
using testing::completeLines;
using testing::countOf;
using testing::kDeadline;
using testing::readFile;
using testing::waitUntil;
const char* const kUid = "0190e3a4-5b6c-7d8e-9fa0-b1c2d3e4f506";

struct Outcome {
    int code;
    std::string out;
    std::string err;
};

class StandinTest : public ::testing::Test {
  protected:
    std::filesystem::path config(const std::string& name, const std::string& yaml) {
        return dir_.write(name, yaml);
    }

    std::unique_ptr<Child> start(std::vector<std::string> args,
                                 const std::map<std::string, std::string>& env = {}) {
        return std::make_unique<Child>(dir_, OTELCOL_STANDIN_PATH, std::move(args), env);
    }

    Outcome runToEnd(std::vector<std::string> args,
                     const std::map<std::string, std::string>& env = {}) {
        auto child = start(std::move(args), env);
        auto code = child->waitExit();
        if (!code) {
            ADD_FAILURE() << "otelcol-standin did not exit; stderr:\n" << child->err();
            return {-1000, child->out(), child->err()};
        }
        return {*code, child->out(), child->err()};
    }

    // A config whose traces pipeline carries the standin receiver's data to a file.
    std::string producingConfig(const std::filesystem::path& out,
                                const std::string& receiverExtra = "") {
        return "receivers:\n  standin:\n    interval: 50ms\n" + receiverExtra +
               "exporters:\n  file:\n    path: " + out.string() +
               "\nservice:\n  pipelines:\n    traces:\n      receivers: [standin]\n"
               "      exporters: [file]\n";
    }

    testing::TempDir dir_;
};

// The suites carry "standin" in lower case, so `ctest -R standin` selects them.
using standin_cli = StandinTest;
using standin_config = StandinTest;
using standin_run = StandinTest;

// ---- CLI -------------------------------------------------------------------------------

TEST_F(standin_cli, VersionPrintsTheCollectorsLine) {
    Outcome r = runToEnd({"--version"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out, "otelcol-standin version 0.130.0\n");
}

TEST_F(standin_cli, VersionCanBeOverriddenLikeAnotherBuild) {
    Outcome r = runToEnd({"--version"}, {{"OTELCOL_STANDIN_VERSION", "0.131.1"}});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out, "otelcol-standin version 0.131.1\n");
}

TEST_F(standin_cli, HelpListsTheSubcommands) {
    Outcome r = runToEnd({"--help"});
    EXPECT_EQ(r.code, 0);
    EXPECT_THAT(r.out, HasSubstr("Usage:"));
    for (const char* sub : {"components", "featuregate", "validate"}) {
        EXPECT_THAT(r.out, HasSubstr(sub));
    }
}

TEST_F(standin_cli, WithoutConfigItFailsAsTheCollector) {
    Outcome r = runToEnd({});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("Error: at least one config flag must be provided\n"));
    EXPECT_THAT(r.err, HasSubstr(" collector server run finished with error: at least one config "
                                 "flag must be provided"));
}

TEST_F(standin_cli, UnknownFlagsAndCommandsAreErrors) {
    Outcome flag = runToEnd({"--bogus"});
    EXPECT_EQ(flag.code, 1);
    EXPECT_THAT(flag.err, HasSubstr("Error: unknown flag: --bogus"));
    Outcome command = runToEnd({"frobnicate"});
    EXPECT_EQ(command.code, 1);
    EXPECT_THAT(command.err,
                HasSubstr("Error: unknown command \"frobnicate\" for \"otelcol-standin\""));
    Outcome value = runToEnd({"--config"});
    EXPECT_EQ(value.code, 1);
    EXPECT_THAT(value.err, HasSubstr("Error: flag needs an argument: --config"));
}

TEST_F(standin_cli, ComponentsPrintsBuildInfoAndTheCatalog) {
    Outcome r = runToEnd({"components"});
    ASSERT_EQ(r.code, 0) << r.err;
    YAML::Node doc = YAML::Load(r.out);
    EXPECT_EQ(doc["buildinfo"]["command"].as<std::string>(), "otelcol-standin");
    EXPECT_EQ(doc["buildinfo"]["version"].as<std::string>(), "0.130.0");
    EXPECT_TRUE(doc["buildinfo"]["description"].IsScalar());
    std::map<std::string, YAML::Node> receivers;
    for (const YAML::Node& receiver : doc["receivers"]) {
        receivers.emplace(receiver["name"].as<std::string>(), receiver);
    }
    for (const char* type : {"otlp", "nop", "filelog", "hostmetrics", "prometheus", "standin"}) {
        EXPECT_EQ(receivers.count(type), 1U) << type;
    }
    EXPECT_THAT(receivers["otlp"]["module"].as<std::string>(),
                HasSubstr("go.opentelemetry.io/collector/receiver/otlpreceiver v"));
    EXPECT_EQ(receivers["hostmetrics"]["stability"]["metrics"].as<std::string>(), "Beta");
    EXPECT_EQ(receivers["hostmetrics"]["stability"]["traces"].as<std::string>(), "Undefined");
    for (const char* section : {"processors", "exporters", "connectors", "extensions"}) {
        EXPECT_TRUE(doc[section].IsSequence()) << section;
    }
    EXPECT_EQ(doc["connectors"][0]["stability"]["traces-to-traces"].as<std::string>(), "Beta");
    EXPECT_EQ(doc["extensions"][2]["stability"]["extension"].IsScalar(), true);
}

TEST_F(standin_cli, FeaturegateListsAllowNoPipelines) {
    Outcome table = runToEnd({"featuregate"});
    ASSERT_EQ(table.code, 0);
    std::istringstream lines(table.out);
    std::string header;
    std::getline(lines, header);
    EXPECT_THAT(header, ::testing::StartsWith("ID "));
    bool found = false;
    for (std::string line; std::getline(lines, line);) {
        // The supervisor reads the text before the first space as the gate's ID.
        if (line.substr(0, line.find(' ')) == "service.AllowNoPipelines") {
            found = true;
            EXPECT_THAT(line, HasSubstr(" false "));
            EXPECT_THAT(line, HasSubstr(" Alpha "));
        }
    }
    EXPECT_TRUE(found) << table.out;

    Outcome one = runToEnd({"featuregate", "service.AllowNoPipelines"});
    EXPECT_EQ(one.code, 0);
    EXPECT_THAT(one.out, HasSubstr("Feature: service.AllowNoPipelines\nEnabled: false\n"));
    Outcome missing = runToEnd({"featuregate", "no.such.gate"});
    EXPECT_EQ(missing.code, 1);
    EXPECT_THAT(missing.err, HasSubstr("Error: feature \"no.such.gate\" not found"));
}

TEST_F(standin_cli, ValidateAcceptsAGoodConfigAndPrintsErrorsBare) {
    auto good = config("good.yaml", producingConfig(dir_.path() / "out.jsonl"));
    Outcome ok = runToEnd({"validate", "--config", good.string()});
    EXPECT_EQ(ok.code, 0) << ok.err;
    EXPECT_EQ(ok.err, "");
    auto bad = config("bad.yaml", "receivers:\n  otlp:\nexporters:\n  nop:\n");
    Outcome failed = runToEnd({"validate", "--config", bad.string()});
    EXPECT_EQ(failed.code, 1);
    // `validate` prints validation errors without the "invalid configuration: " prefix.
    EXPECT_THAT(failed.err,
                HasSubstr("Error: service::pipelines: service must have at least one pipeline\n"));
}

// ---- Config errors -------------------------------------------------------------------

TEST_F(standin_config, InvalidYamlIsRejected) {
    auto file = config("c.yaml", "receivers:\n  otlp: [\nexporters: {\n");
    Outcome r = runToEnd({"--config", file.string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("Error: failed to get config: cannot resolve the configuration: "
                                 "retrieved value (type=string) cannot be used as a Conf: assuming "
                                 "string type since contents are not valid YAML: yaml: line "));
}

TEST_F(standin_config, UnknownComponentTypeIsRejected) {
    auto file = config("c.yaml",
                       "receivers:\n  foo:\nexporters:\n  nop:\nservice:\n  pipelines:\n"
                       "    traces:\n      receivers: [foo]\n      exporters: [nop]\n");
    Outcome r = runToEnd({"--config", file.string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err,
                HasSubstr("Error: failed to get config: cannot unmarshal the configuration: "
                          "decoding failed due to the following error(s):\n\n'receivers' unknown "
                          "type: \"foo\" for id: \"foo\" (valid values: [filelog hostmetrics nop "
                          "otlp prometheus standin])\n"));
}

TEST_F(standin_config, ReferenceToAnUndefinedComponentIsRejected) {
    auto file = config("c.yaml",
                       "receivers:\n  otlp:\nexporters:\n  nop:\nservice:\n  pipelines:\n"
                       "    traces:\n      receivers: [otlp/2]\n      exporters: [nop]\n");
    Outcome r = runToEnd({"--config", file.string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("Error: invalid configuration: service::pipelines::traces: "
                                 "references receiver \"otlp/2\" which is not configured\n"));
}

TEST_F(standin_config, NoPipelinesIsAnErrorUnlessTheGateAllowsIt) {
    auto file = config("c.yaml", "receivers:\n  otlp:\nexporters:\n  nop:\n");
    Outcome r = runToEnd({"--config", file.string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("Error: invalid configuration: service::pipelines: service must "
                                 "have at least one pipeline\n"));

    auto bare = config("bare.yaml", "extensions:\n  zpages:\nservice:\n  extensions: [zpages]\n");
    auto child = start({"--config", bare.string(), "--feature-gates", "service.AllowNoPipelines"});
    ASSERT_TRUE(child->waitForErr("Everything is ready")) << child->err();
    child->signal(SIGTERM);
    EXPECT_EQ(child->waitExit(), 0);
}

TEST_F(standin_config, ServiceExtensionThatIsNotConfiguredIsRejected) {
    auto file = config("c.yaml",
                       "receivers:\n  otlp:\nexporters:\n  nop:\nservice:\n"
                       "  extensions: [health_check]\n  pipelines:\n    traces:\n"
                       "      receivers: [otlp]\n      exporters: [nop]\n");
    Outcome r = runToEnd({"--config", file.string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("Error: invalid configuration: service::extensions: references "
                                 "extension \"health_check\" which is not configured\n"));
}

TEST_F(standin_config, InvalidInstanceUidIsRejected) {
    auto file = config("c.yaml",
                       "receivers:\n  otlp:\nexporters:\n  nop:\nextensions:\n  opamp:\n"
                       "    instance_uid: not-a-uuid\n    server:\n      ws:\n"
                       "        endpoint: ws://127.0.0.1:1/v1/opamp\nservice:\n"
                       "  extensions: [opamp]\n  pipelines:\n    traces:\n"
                       "      receivers: [otlp]\n      exporters: [nop]\n");
    Outcome r = runToEnd({"--config", file.string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("Error: invalid configuration: extensions::opamp: opamp "
                                 "instance_uid is invalid\n"));
}

TEST_F(standin_config, UnknownKeysAndBadValuesOfAComponentAreRejected) {
    auto file = config("c.yaml", producingConfig(dir_.path() / "o.jsonl",
                                                 "    crash_aftr: 1s\n    exit_code: many\n"));
    Outcome r = runToEnd({"--config", file.string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("'receivers' error reading configuration for \"standin\": "
                                 "decoding failed due to the following error(s):\n\n"
                                 "'exit_code' expected type 'int', got unconvertible type "
                                 "'string', value: 'many'\n'' has invalid keys: crash_aftr\n"));
}

TEST_F(standin_config, SignalAComponentDoesNotSupportIsRejected) {
    auto file = config("c.yaml",
                       "receivers:\n  hostmetrics:\nexporters:\n  nop:\nservice:\n  pipelines:\n"
                       "    traces:\n      receivers: [hostmetrics]\n      exporters: [nop]\n");
    Outcome r = runToEnd({"--config", file.string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("Error: failed to build pipelines: failed to create "
                                 "\"hostmetrics\" receiver for data type \"traces\": telemetry "
                                 "type is not supported\n"));
}

TEST_F(standin_config, MissingConfigFileIsRejected) {
    auto missing = (dir_.path() / "missing.yaml").string();
    Outcome r = runToEnd({"--config", missing});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err,
                HasSubstr("Error: failed to get config: cannot resolve the configuration: "
                          "cannot retrieve the configuration: unable to read the file file:" +
                          missing + ": open " + missing + ": no such file or directory\n"));
}

TEST_F(standin_config, ConfigsMergeMapsKeyByKeyAndReplaceLists) {
    // The first file's pipeline names a receiver only the second file defines, and a list
    // the second file replaces; the merged result is valid only with the collector's rules.
    auto base = config("base.yaml",
                       "receivers:\n  otlp:\n    protocols: {grpc: {}}\nexporters:\n  nop:\n"
                       "service:\n  pipelines:\n    traces:\n"
                       "      receivers: [otlp, otlp/undefined]\n      exporters: [nop]\n");
    auto overlay = config("overlay.yaml",
                          "receivers:\n  otlp/2:\nservice:\n  pipelines:\n    traces:\n"
                          "      receivers: [otlp, otlp/2]\n");
    Outcome merged =
        runToEnd({"validate", "--config", base.string(), "--config=file:" + overlay.string()});
    EXPECT_EQ(merged.code, 0) << merged.err;
    Outcome alone = runToEnd({"validate", "--config", base.string()});
    EXPECT_EQ(alone.code, 1);
    EXPECT_THAT(alone.err, HasSubstr("references receiver \"otlp/undefined\""));
}

TEST_F(standin_config, SetFlagAddsAProperty) {
    auto file = config("c.yaml",
                       "receivers:\n  otlp:\nexporters:\n  nop:\nservice:\n  pipelines:\n"
                       "    traces:\n      receivers: [otlp/2]\n      exporters: [nop]\n");
    Outcome r = runToEnd({"validate", "--config", file.string(),
                          "--set=receivers::otlp/2::protocols::grpc::endpoint=localhost:4317"});
    EXPECT_EQ(r.code, 0) << r.err;
}

// ---- Running -----------------------------------------------------------------------------

class StandinStopSignalTest : public StandinTest, public ::testing::WithParamInterface<int> {};
using standin_stop_signal = StandinStopSignalTest;

TEST_P(standin_stop_signal, StopsCleanly) {
    auto file = config("c.yaml", producingConfig(dir_.path() / "out.jsonl"));
    auto child = start({"--config", file.string()});
    ASSERT_TRUE(child->waitForErr("Everything is ready. Begin running and processing data."))
        << child->err();
    child->signal(GetParam());
    EXPECT_EQ(child->waitExit(), 0) << child->err();
    std::string err = child->err();
    EXPECT_THAT(err, HasSubstr("Starting otelcol-standin..."));
    EXPECT_THAT(err, HasSubstr("Received signal from OS"));
    EXPECT_THAT(err, HasSubstr(GetParam() == SIGTERM ? "terminated" : "interrupt"));
    EXPECT_THAT(err, HasSubstr("Shutdown complete."));
}

INSTANTIATE_TEST_SUITE_P(Signals, standin_stop_signal, ::testing::Values(SIGTERM, SIGINT));

TEST_F(standin_run, FileExporterWritesWhatProducingPipelinesCarry) {
    auto out = dir_.path() / "out.jsonl";
    auto file = config("c.yaml",
                       "receivers:\n  standin:\n    interval: 50ms\n  otlp:\n"
                       "exporters:\n  file:\n    path: ${env:STANDIN_OUT}\n"
                       "connectors:\n  forward:\nservice:\n  pipelines:\n"
                       "    traces:\n      receivers: [standin]\n      exporters: [file, forward]\n"
                       "    traces/copy:\n      receivers: [forward]\n      exporters: [file]\n"
                       "    metrics:\n      receivers: [otlp]\n      exporters: [file]\n");
    auto child = start({"--config", file.string()}, {{"STANDIN_OUT", out.string()}});
    ASSERT_TRUE(waitUntil([&] { return completeLines(out).size() >= 6; })) << child->err();
    child->signal(SIGTERM);
    EXPECT_EQ(child->waitExit(), 0);
    std::map<std::string, std::vector<int>> seqByPipeline;
    for (const std::string& line : completeLines(out)) {
        YAML::Node record = YAML::Load(line);  // JSON is YAML
        EXPECT_EQ(record["receiver"].as<std::string>(), "standin");
        seqByPipeline[record["pipeline"].as<std::string>()].push_back(record["seq"].as<int>());
    }
    // Only the pipeline with a producing receiver, and the one the connector feeds.
    EXPECT_EQ(seqByPipeline.count("metrics"), 0U);
    ASSERT_GE(seqByPipeline["traces"].size(), 3U);
    EXPECT_EQ(seqByPipeline["traces"][0], 1);
    EXPECT_EQ(seqByPipeline["traces"][1], 2);
    EXPECT_EQ(seqByPipeline["traces"][2], 3);
    EXPECT_GE(seqByPipeline["traces/copy"].size(), 2U);
}

TEST_F(standin_run, SighupReloadsTheConfigFiles) {
    auto first = dir_.path() / "first.jsonl";
    auto second = dir_.path() / "second.jsonl";
    auto file = config("c.yaml", producingConfig(first));
    auto child = start({"--config", file.string()});
    ASSERT_TRUE(waitUntil([&] { return !completeLines(first).empty(); })) << child->err();
    config("c.yaml", producingConfig(second));
    child->signal(SIGHUP);
    ASSERT_TRUE(waitUntil([&] { return !completeLines(second).empty(); })) << child->err();
    EXPECT_THAT(child->err(), HasSubstr("Config updated, restart service"));
    EXPECT_FALSE(child->poll().has_value());
    child->signal(SIGTERM);
    EXPECT_EQ(child->waitExit(), 0);
}

TEST_F(standin_run, SighupWithABadConfigEndsTheProcessWithTheError) {
    auto file = config("c.yaml", producingConfig(dir_.path() / "out.jsonl"));
    auto child = start({"--config", file.string()});
    ASSERT_TRUE(child->waitForErr("Everything is ready")) << child->err();
    config("c.yaml", "receivers:\n  bogus:\n");
    child->signal(SIGHUP);
    EXPECT_EQ(child->waitExit(), 1);
    EXPECT_THAT(child->err(),
                HasSubstr("Error: failed to setup configuration components: failed to get config: "
                          "cannot unmarshal the configuration: decoding failed due to the "
                          "following error(s):\n\n'receivers' unknown type: \"bogus\""));
}

TEST_F(standin_run, CrashAfterExitsWithTheConfiguredCode) {
    auto file = config("c.yaml", producingConfig(dir_.path() / "out.jsonl",
                                                 "    crash_after: 200ms\n    exit_code: 3\n"));
    auto child = start({"--config", file.string()});
    EXPECT_EQ(child->waitExit(), 3);
    EXPECT_THAT(child->err(), HasSubstr("panic: standin receiver \"standin\" crashed"));
}

TEST_F(standin_run, IgnoreStopSignalKeepsItRunningUntilKilled) {
    auto out = dir_.path() / "out.jsonl";
    auto file = config("c.yaml", producingConfig(out, "    ignore_stop_signal: true\n"));
    auto child = start({"--config", file.string()});
    ASSERT_TRUE(child->waitForErr("Everything is ready")) << child->err();
    child->signal(SIGTERM);
    ASSERT_TRUE(child->waitForErr("Ignoring the signal")) << child->err();
    // Still producing after the signal was handled: it is alive and working.
    std::size_t linesThen = completeLines(out).size();
    EXPECT_TRUE(waitUntil([&] { return completeLines(out).size() > linesThen + 2; }));
    EXPECT_FALSE(child->poll().has_value());
    child->signal(SIGKILL);
    EXPECT_EQ(child->waitExit(), -SIGKILL);
}

TEST_F(standin_run, LogLinesAreWrittenAtStart) {
    auto file = config("c.yaml", producingConfig(dir_.path() / "out.jsonl", "    log_lines: 25\n"));
    auto child = start({"--config", file.string()});
    ASSERT_TRUE(child->waitForErr("Everything is ready")) << child->err();
    EXPECT_EQ(countOf(child->err(), "standin receiver log line"), 25U);
    child->signal(SIGTERM);
    EXPECT_EQ(child->waitExit(), 0);
}

TEST_F(standin_run, LogLinesPerIntervalFloodTheOutputForAsLongAsItRuns) {
    auto file = config(
        "c.yaml", producingConfig(dir_.path() / "out.jsonl", "    log_lines_per_interval: 20\n"));
    auto child = start({"--config", file.string()});
    ASSERT_TRUE(child->waitForErr("Everything is ready")) << child->err();
    ASSERT_TRUE(waitUntil([&] { return countOf(child->err(), "standin receiver log line") >= 60; }))
        << child->err();
    // Every batch brings its lines, numbered.
    const std::size_t then = countOf(child->err(), "standin receiver log line");
    EXPECT_TRUE(
        waitUntil([&] { return countOf(child->err(), "standin receiver log line") >= then + 60; }));
    EXPECT_THAT(child->err(), HasSubstr("\"batch\": \"2\", \"line\": \"20\""));
    child->signal(SIGTERM);
    EXPECT_EQ(child->waitExit(), 0);
}

TEST_F(standin_run, MemoryHogIsResident) {
    auto file =
        config("c.yaml", producingConfig(dir_.path() / "out.jsonl", "    memory_hog_mib: 64\n"));
    auto child = start({"--config", file.string()});
    ASSERT_TRUE(child->waitForErr("standin receiver allocated memory")) << child->err();
    std::ifstream status("/proc/" + std::to_string(child->pid()) + "/status");
    if (!status) {
        GTEST_SKIP() << "no /proc on this system";
    }
    long residentKib = 0;
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0) {
            residentKib = std::stol(line.substr(6));
        }
    }
    EXPECT_GE(residentKib, 64L * 1024);
    child->signal(SIGTERM);
    EXPECT_EQ(child->waitExit(), 0);
}

TEST_F(standin_run, LogsFollowServiceTelemetry) {
    auto file = config("c.yaml", producingConfig(dir_.path() / "out.jsonl") +
                                     "  telemetry:\n    logs:\n      encoding: json\n"
                                     "      output_paths: [stdout]\n");
    auto child = start({"--config", file.string()});
    ASSERT_TRUE(
        waitUntil([&] { return child->out().find("Everything is ready") != std::string::npos; }));
    child->signal(SIGTERM);
    EXPECT_EQ(child->waitExit(), 0);
    EXPECT_THAT(child->out(), HasSubstr("\"msg\":\"Everything is ready."));
    EXPECT_THAT(child->err(), Not(HasSubstr("Everything is ready")));
}

// ---- The opamp extension -----------------------------------------------------------------

class StandinOpampTest : public StandinTest {
  protected:
    std::string opampConfig(const std::string& extensionExtra = "",
                            const std::string& receiverExtra = "") {
        return "receivers:\n  standin:\n    interval: 100ms\n" + receiverExtra +
               "exporters:\n  nop:\nextensions:\n  opamp:\n    instance_uid: \"" + kUid +
               "\"\n    server:\n      ws:\n        endpoint: " + server_.endpoint() +
               "\n        headers:\n          Authorization: Bearer secret-token\n"
               "        tls:\n          insecure: true\n" +
               extensionExtra +
               "service:\n  extensions: [opamp]\n"
               "  telemetry:\n    resource:\n      deployment.environment: test\n"
               "  pipelines:\n    traces:\n      receivers: [standin]\n      exporters: [nop]\n";
    }

    std::unique_ptr<Child> startWith(const std::string& yaml) {
        auto file = config("c.yaml", yaml);
        return start({"--config", file.string()});
    }

    // The next message that satisfies `want`, skipping others; nullopt on timeout. Skipped
    // messages are kept for `seen()`.
    std::optional<pb::AgentToServer> nextWhere(
        const std::function<bool(const pb::AgentToServer&)>& want,
        std::chrono::milliseconds timeout = kDeadline) {
        auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            auto m = server_.messages().pop(left);
            if (!m) {
                return std::nullopt;
            }
            seen_.push_back(*m);
            if (want(*m)) {
                return m;
            }
        }
        return std::nullopt;
    }

    std::optional<pb::AgentToServer> firstHealthy() {
        return nextWhere([](const pb::AgentToServer& m) { return m.health().healthy(); });
    }

    pb::ServerToAgent withFlags(std::uint64_t flags) {
        pb::ServerToAgent m;
        m.set_instance_uid(uidBytes());
        m.set_flags(flags);
        return m;
    }

    static std::string uidBytes() {
        std::string hex = kUid;
        hex.erase(std::remove(hex.begin(), hex.end(), '-'), hex.end());
        std::string bytes;
        for (std::size_t i = 0; i < hex.size(); i += 2) {
            bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
        }
        return bytes;
    }

    static std::map<std::string, std::string> attributes(
        const google::protobuf::RepeatedPtrField<pb::KeyValue>& list) {
        std::map<std::string, std::string> out;
        for (const pb::KeyValue& kv : list) {
            out[kv.key()] = kv.value().string_value();
        }
        return out;
    }

    // One line per message seen, for failure output.
    std::string summary() const {
        std::string out;
        for (const pb::AgentToServer& m : seen_) {
            out += "seq " + std::to_string(m.sequence_num()) +
                   (m.has_agent_description() ? " description" : "") +
                   (m.has_health() ? " health=" + m.health().status() : "") +
                   (m.has_effective_config() ? " effective_config" : "") +
                   (m.has_agent_disconnect() ? " agent_disconnect" : "") + "\n";
        }
        return out;
    }

    testing::TestWsServer server_;
    std::vector<pb::AgentToServer> seen_;
};

using standin_opamp = StandinOpampTest;

TEST_F(standin_opamp, FirstMessageDescribesTheCollector) {
    auto child = startWith(
        opampConfig("    agent_description:\n      include_resource_attributes: true\n"
                    "      non_identifying_attributes:\n        custom.key: custom-value\n"));
    auto headers = server_.connections().pop(kDeadline);
    ASSERT_TRUE(headers) << child->err();
    EXPECT_EQ((*headers)["Authorization"], "Bearer secret-token");
    auto first = server_.messages().pop(kDeadline);
    ASSERT_TRUE(first) << child->err();

    EXPECT_EQ(first->instance_uid(), uidBytes());
    EXPECT_EQ(first->sequence_num(), 1U);
    EXPECT_EQ(first->capabilities(),
              static_cast<std::uint64_t>(pb::AgentCapabilities_ReportsStatus |
                                         pb::AgentCapabilities_ReportsEffectiveConfig |
                                         pb::AgentCapabilities_ReportsHealth |
                                         pb::AgentCapabilities_ReportsAvailableComponents));
    auto identifying = attributes(first->agent_description().identifying_attributes());
    EXPECT_EQ(identifying["service.name"], "otelcol-standin");
    EXPECT_EQ(identifying["service.version"], "0.130.0");
    EXPECT_EQ(identifying["service.instance.id"], kUid);
    auto other = attributes(first->agent_description().non_identifying_attributes());
    for (const char* key : {"os.type", "os.description", "host.arch", "host.name"}) {
        EXPECT_FALSE(other[key].empty()) << key;
    }
    EXPECT_EQ(other["os.type"], "linux");
    EXPECT_EQ(other["custom.key"], "custom-value");
    EXPECT_EQ(other["deployment.environment"], "test");
    EXPECT_EQ(other.count("service.name"), 0U);

    const auto& files = first->effective_config().config_map().config_map();
    ASSERT_EQ(files.count(""), 1U);
    EXPECT_EQ(files.at("").content_type(), "text/yaml");
    YAML::Node effective = YAML::Load(files.at("").body());
    EXPECT_EQ(effective["receivers"]["standin"]["interval"].as<std::string>(), "100ms");
    EXPECT_EQ(effective["extensions"]["opamp"]["instance_uid"].as<std::string>(), kUid);
    // Opaque values (the header carrying the token) are redacted, as the collector does.
    EXPECT_EQ(effective["extensions"]["opamp"]["server"]["ws"]["headers"]["Authorization"]
                  .as<std::string>(),
              "[REDACTED]");
    EXPECT_EQ(files.at("").body().find("secret-token"), std::string::npos);

    // Hash first; the map waits for the server's ReportAvailableComponents flag.
    EXPECT_EQ(first->available_components().hash().size(), 32U);
    EXPECT_EQ(first->available_components().components_size(), 0);
    EXPECT_TRUE(first->has_health());
}

TEST_F(standin_opamp, HealthIsReportedPerPipelineAndComponent) {
    auto child = startWith(opampConfig());
    auto healthy = firstHealthy();
    ASSERT_TRUE(healthy) << child->err();
    const pb::ComponentHealth& h = healthy->health();
    EXPECT_EQ(h.status(), "StatusOK");
    EXPECT_GT(h.start_time_unix_nano(), 0U);
    EXPECT_GT(h.status_time_unix_nano(), 0U);
    ASSERT_EQ(h.component_health_map().count("pipeline:traces"), 1U);
    const auto& pipeline = h.component_health_map().at("pipeline:traces");
    EXPECT_TRUE(pipeline.healthy());
    EXPECT_EQ(pipeline.component_health_map().count("receiver:standin"), 1U);
    EXPECT_EQ(pipeline.component_health_map().count("exporter:nop"), 1U);
    ASSERT_EQ(h.component_health_map().count("extensions"), 1U);
    EXPECT_EQ(
        h.component_health_map().at("extensions").component_health_map().count("extension:opamp"),
        1U);
}

TEST_F(standin_opamp, UnhealthyAfterTurnsTheReportedHealthFalse) {
    auto child = startWith(opampConfig("", "    unhealthy_after: 300ms\n"));
    ASSERT_TRUE(firstHealthy()) << child->err();
    auto unhealthy = nextWhere(
        [](const pb::AgentToServer& m) { return m.has_health() && !m.health().healthy(); });
    ASSERT_TRUE(unhealthy) << child->err();
    const pb::ComponentHealth& h = unhealthy->health();
    EXPECT_EQ(h.status(), "StatusRecoverableError");
    EXPECT_THAT(h.last_error(), HasSubstr("standin receiver \"standin\" became unhealthy"));
    const auto& receiver = h.component_health_map()
                               .at("pipeline:traces")
                               .component_health_map()
                               .at("receiver:standin");
    EXPECT_FALSE(receiver.healthy());
    EXPECT_EQ(child->poll(), std::nullopt);
}

TEST_F(standin_opamp, FullComponentMapOnlyAfterTheFlag) {
    auto child = startWith(opampConfig());
    ASSERT_TRUE(server_.connections().pop(kDeadline)) << child->err();
    ASSERT_TRUE(firstHealthy()) << child->err();
    for (const pb::AgentToServer& m : seen_) {
        EXPECT_EQ(m.available_components().components_size(), 0);
    }
    std::string hash = seen_.front().available_components().hash();
    server_.send(withFlags(pb::ServerToAgentFlags_ReportAvailableComponents));
    auto full = nextWhere(
        [](const pb::AgentToServer& m) { return m.available_components().components_size() > 0; });
    ASSERT_TRUE(full) << child->err();
    const auto& components = full->available_components();
    EXPECT_EQ(components.hash(), hash);
    for (const char* kind : {"receivers", "processors", "exporters", "extensions", "connectors"}) {
        EXPECT_EQ(components.components().count(kind), 1U) << kind;
    }
    const auto& standin = components.components().at("receivers").sub_component_map().at("standin");
    ASSERT_EQ(standin.metadata_size(), 1);
    EXPECT_EQ(standin.metadata(0).key(), "code.namespace");
    EXPECT_FALSE(standin.metadata(0).value().string_value().empty());
}

TEST_F(standin_opamp, ReportFullStateIsAnswered) {
    auto child = startWith(opampConfig());
    ASSERT_TRUE(server_.connections().pop(kDeadline)) << child->err();
    ASSERT_TRUE(firstHealthy()) << child->err();
    server_.send(withFlags(pb::ServerToAgentFlags_ReportFullState));
    // Unchanged fields are not sent again unless the server asks for everything.
    auto full = nextWhere([](const pb::AgentToServer& m) { return m.has_agent_description(); });
    ASSERT_TRUE(full) << child->err();
    EXPECT_TRUE(full->has_effective_config());
    EXPECT_TRUE(full->has_health());
    EXPECT_FALSE(full->available_components().hash().empty());
}

TEST_F(standin_opamp, CapabilitiesFollowTheConfig) {
    auto child =
        startWith(opampConfig("    capabilities:\n      reports_available_components: false\n"
                              "      reports_health: false\n"));
    auto first = server_.messages().pop(kDeadline);
    ASSERT_TRUE(first) << child->err();
    EXPECT_EQ(first->capabilities(),
              static_cast<std::uint64_t>(pb::AgentCapabilities_ReportsStatus |
                                         pb::AgentCapabilities_ReportsEffectiveConfig));
    EXPECT_FALSE(first->has_available_components());
    EXPECT_FALSE(first->has_health());
}

TEST_F(standin_opamp, ReconnectsAndSendsFullStateAfterTheServerDropsIt) {
    auto child = startWith(opampConfig());
    ASSERT_TRUE(server_.connections().pop(kDeadline)) << child->err();
    ASSERT_TRUE(firstHealthy()) << child->err();
    server_.drop();
    ASSERT_TRUE(server_.connections().pop(kDeadline)) << child->err();
    auto again = nextWhere([](const pb::AgentToServer& m) { return m.has_agent_description(); });
    ASSERT_TRUE(again) << child->err();
    EXPECT_TRUE(again->has_effective_config());
    EXPECT_GT(again->sequence_num(), seen_.front().sequence_num());
}

TEST_F(standin_opamp, StopSendsAgentDisconnect) {
    auto child = startWith(opampConfig());
    ASSERT_TRUE(firstHealthy()) << child->err();
    child->signal(SIGTERM);
    auto bye = nextWhere([](const pb::AgentToServer& m) { return m.has_agent_disconnect(); });
    EXPECT_TRUE(bye) << "messages:\n" << summary() << child->err();
    EXPECT_EQ(child->waitExit(), 0);
}

TEST_F(standin_opamp, SlowStartDelaysReadinessAndTheConnection) {
    auto child = startWith(opampConfig("", "    slow_start: 1s\n"));
    ASSERT_TRUE(server_.connections().pop(kDeadline)) << child->err();
    auto connectedAfter = Clock::now() - child->started();
    // A lower bound only: the extension cannot connect before the delay has passed.
    EXPECT_GE(connectedAfter, 1s);
    ASSERT_TRUE(child->waitForErr("Everything is ready")) << child->err();
    EXPECT_THAT(child->err(), HasSubstr("slow_start"));
}

TEST_F(standin_opamp, FloodCustomMessagesAreSentEveryInterval) {
    auto child = startWith(opampConfig("", "    flood_custom_messages: 5\n"));
    auto registered = nextWhere([](const pb::AgentToServer& m) {
        return m.custom_capabilities().capabilities_size() == 1 &&
               m.custom_capabilities().capabilities(0) == "io.opentelemetry.standin.flood";
    });
    ASSERT_TRUE(registered) << child->err();
    std::vector<std::string> data;
    ASSERT_TRUE(nextWhere([&](const pb::AgentToServer& m) {
        if (m.custom_message().capability() == "io.opentelemetry.standin.flood") {
            EXPECT_EQ(m.custom_message().type(), "flood");
            data.push_back(m.custom_message().data());
        }
        return data.size() >= 15;
    })) << child->err();
    // Five a batch, in order, batch after batch ("<batch>.<n>").
    auto parse = [](const std::string& d) {
        return std::make_pair(std::stoull(d.substr(0, d.find('.'))),
                              std::stoull(d.substr(d.find('.') + 1)));
    };
    for (std::size_t i = 1; i < data.size(); ++i) {
        auto [batch, n] = parse(data[i - 1]);
        auto expected = n < 5 ? std::make_pair(batch, n + 1) : std::make_pair(batch + 1, 1ULL);
        EXPECT_EQ(parse(data[i]), expected) << data[i - 1] << " then " << data[i];
    }
    EXPECT_EQ(child->poll(), std::nullopt);
}

TEST_F(standin_opamp, OpampNeverConnectsKeepsTheExtensionAwayWhileDataFlows) {
    Child parent(dir_, "sleep", {"60"});
    auto out = dir_.path() / "out.jsonl";
    std::string yaml = opampConfig(
        "    ppid: " + std::to_string(parent.pid()) + "\n    ppid_poll_interval: 100ms\n",
        "    opamp_never_connects: true\n");
    yaml.replace(yaml.find("exporters:\n  nop:\n"), std::string("exporters:\n  nop:\n").size(),
                 "exporters:\n  nop:\n  file:\n    path: " + out.string() + "\n");
    yaml.replace(yaml.find("exporters: [nop]"), std::string("exporters: [nop]").size(),
                 "exporters: [file]");
    auto child = startWith(yaml);
    ASSERT_TRUE(child->waitForErr("Everything is ready")) << child->err();
    ASSERT_TRUE(waitUntil([&] { return completeLines(out).size() >= 5; })) << child->err();
    EXPECT_FALSE(server_.connections().pop(500ms)) << "the extension connected";
    EXPECT_THAT(child->err(), HasSubstr("standin receiver keeps the opamp extension from "
                                        "connecting"));
    EXPECT_THAT(child->err(), HasSubstr(server_.endpoint()));
    // Still watching its parent.
    parent.signal(SIGKILL);
    ASSERT_TRUE(parent.waitExit().has_value());
    EXPECT_EQ(child->waitExit(), 0) << child->err();
    EXPECT_THAT(child->err(), HasSubstr("collector was orphaned"));
}

TEST_F(standin_opamp, ExitsWhenTheParentProcessIsGone) {
    // A stand-in parent: a short-lived process that the test ends.
    Child parent(dir_, "sleep", {"60"});
    auto child = startWith(opampConfig("    ppid: " + std::to_string(parent.pid()) +
                                       "\n    ppid_poll_interval: 100ms\n"));
    ASSERT_TRUE(child->waitForErr("Everything is ready")) << child->err();
    EXPECT_FALSE(child->poll().has_value());
    parent.signal(SIGKILL);
    ASSERT_TRUE(parent.waitExit().has_value());
    EXPECT_EQ(child->waitExit(), 0) << child->err();
    EXPECT_THAT(child->err(), HasSubstr("collector was orphaned, process with pid " +
                                        std::to_string(parent.pid()) + " does not exist"));
    EXPECT_THAT(child->err(), HasSubstr("Asynchronous error received, terminating process"));
}

}  // namespace
}  // namespace opampsup::standin
