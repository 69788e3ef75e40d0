#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/agent/CollectorOutput.h"
#include "support/TempDir.h"

namespace opampsup::agent {
namespace {

using ::testing::HasSubstr;
using Stream = CollectorOutput::Stream;

std::string readAll(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

telemetry::Logger fileLogger(const std::filesystem::path& path) {
    telemetry::LoggerOptions options;
    options.encoding = telemetry::LogEncoding::Json;
    options.outputPaths = {path.string()};
    return telemetry::Logger::create(options).named("collector");
}

TEST(CollectorOutput, AgentLogIsTruncatedAtEachStartAndCapped) {
    testing::TempDir dir;
    auto log = dir.path() / "agent.log";
    CollectorOutput::Options options;
    options.logFile = log;
    options.maxFileBytes = 1024 * 1024;
    CollectorOutput output(options, fileLogger(dir.path() / "supervisor.log"));
    output.restart();
    // Only the supervisor's user may read what the collector prints.
    EXPECT_EQ(std::filesystem::status(log).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    output.line(Stream::Stdout, "first run");
    output.restart();
    output.line(Stream::Stderr, "second run");
    EXPECT_EQ(readAll(log), "second run\n");

    std::string line(1000, 'x');
    for (int i = 0; i < 2000; ++i) {
        output.line(Stream::Stderr, line);
    }
    std::string content = readAll(log);
    EXPECT_LE(content.size(), 1024U * 1024U + 200U);
    EXPECT_THAT(content, HasSubstr("agent.log reached its limit of 1 MiB"));
    EXPECT_GT(output.droppedLines(), 900U);
}

TEST(CollectorOutput, PassthroughLogsUnderTheCollectorLogger) {
    testing::TempDir dir;
    auto supervisorLog = dir.path() / "supervisor.log";
    CollectorOutput output({}, fileLogger(supervisorLog));
    output.restart();
    output.line(Stream::Stdout, "ready");
    output.line(Stream::Stderr, "failed to start");
    std::string content = readAll(supervisorLog);
    EXPECT_THAT(content, HasSubstr(R"("level":"info")"));
    EXPECT_THAT(content, HasSubstr(R"("logger":"collector")"));
    EXPECT_THAT(content, HasSubstr(R"("msg":"ready")"));
    EXPECT_THAT(content, HasSubstr(R"("level":"error")"));
    EXPECT_THAT(content, HasSubstr(R"("msg":"failed to start")"));
}

TEST(CollectorOutput, KeepsTheTailInWholeLines) {
    CollectorOutput::Options options;
    options.tailBytes = 20;
    testing::TempDir dir;
    CollectorOutput output(options, fileLogger(dir.path() / "s.log"));
    output.restart();
    for (const char* line : {"aaaaaaaa", "bbbbbbbb", "cccccccc"}) {
        output.line(Stream::Stderr, line);
    }
    EXPECT_EQ(output.tail(100), "bbbbbbbb\ncccccccc\n");
    EXPECT_EQ(output.tail(10), "cccccccc\n");
}

}  // namespace
}  // namespace opampsup::agent
