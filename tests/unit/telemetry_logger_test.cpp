#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/telemetry/Logger.h"
#include "core/telemetry/Redact.h"
#include "support/TempDir.h"

namespace opampsup::telemetry {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// 2026-11-22T18:30:16.042Z
const auto kWhen = std::chrono::system_clock::time_point{std::chrono::milliseconds{1795372216042}};

std::string readFile(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
}

TEST(LogFormat, JsonRecord) {
    EXPECT_EQ(formatLogRecord(LogEncoding::Json, kWhen, LogLevel::Info, "supervisor",
                              "Collector \"started\"", {{"pid", "42"}, {"path", "a\\b\n"}}),
              "{\"level\":\"info\",\"ts\":\"2026-11-22T18:30:16.042Z\",\"logger\":\"supervisor\","
              "\"msg\":\"Collector \\\"started\\\"\",\"pid\":\"42\",\"path\":\"a\\\\b\\n\"}\n");
}

TEST(LogFormat, JsonEscapesControlCharacters) {
    EXPECT_THAT(formatLogRecord(LogEncoding::Json, kWhen, LogLevel::Warn, "", "bell\x07", {}),
                HasSubstr("\"msg\":\"bell\\u0007\""));
}

TEST(LogFormat, ConsoleRecord) {
    EXPECT_EQ(formatLogRecord(LogEncoding::Console, kWhen, LogLevel::Error, "collector", "exited",
                              {{"code", "1"}}),
              "2026-11-22T18:30:16.042Z\terror\tcollector\texited\t{\"code\": \"1\"}\n");
    EXPECT_EQ(formatLogRecord(LogEncoding::Console, kWhen, LogLevel::Debug, "", "hi", {}),
              "2026-11-22T18:30:16.042Z\tdebug\thi\n");
}

TEST(LogFormat, RedactsSecrets) {
    std::string line = formatLogRecord(LogEncoding::Json, kWhen, LogLevel::Info, "",
                                       "connecting to wss://u:hunter2@h/x",
                                       {{"Authorization", "Bearer abc"},
                                        {"api_key", "k"},
                                        {"client_secret", "s"},
                                        {"endpoint", "https://user:pw@example.com:4320/v1/opamp"},
                                        {"plain", "visible"}});
    EXPECT_THAT(line, Not(HasSubstr("hunter2")));
    EXPECT_THAT(line, Not(HasSubstr("Bearer abc")));
    EXPECT_THAT(line, Not(HasSubstr("\"k\"")));
    EXPECT_THAT(line, Not(HasSubstr(":pw@")));
    EXPECT_THAT(line, HasSubstr("\"Authorization\":\"[REDACTED]\""));
    EXPECT_THAT(line, HasSubstr("https://user:[REDACTED]@example.com:4320/v1/opamp"));
    EXPECT_THAT(line, HasSubstr("\"plain\":\"visible\""));
}

TEST(Redact, SensitiveKeys) {
    for (const char* key :
         {"Authorization", "proxy-authorization", "Cookie", "X-Api-Key", "access_token", "Password",
          "client_secret", "private_key", "key_pem", "credentials"}) {
        EXPECT_TRUE(isSensitiveKey(key)) << key;
    }
    for (const char* key : {"endpoint", "pid", "Content-Type", "instance_uid"}) {
        EXPECT_FALSE(isSensitiveKey(key)) << key;
    }
}

TEST(Redact, UrlsAndHeaders) {
    EXPECT_EQ(redactUrl("wss://opamp.example.com/v1/opamp"), "wss://opamp.example.com/v1/opamp");
    EXPECT_EQ(redactUrl("http://user@h/x"), "http://user@h/x");
    EXPECT_EQ(redactUrl("http://user:pw@h/x?a=b@c"), "http://user:[REDACTED]@h/x?a=b@c");
    EXPECT_EQ(describeHeaders({{"Authorization", {"Bearer x"}}, {"X-Tenant", {"a", "b"}}}),
              "{Authorization: [REDACTED], X-Tenant: [REDACTED]}");
}

TEST(LogLevels, ParseAndName) {
    EXPECT_EQ(parseLogLevel("debug"), LogLevel::Debug);
    EXPECT_EQ(parseLogLevel("INFO"), LogLevel::Info);
    EXPECT_EQ(parseLogLevel("dpanic"), LogLevel::DPanic);
    EXPECT_EQ(logLevelName(LogLevel::Fatal), "fatal");
    EXPECT_THROW(parseLogLevel("verbose"), std::invalid_argument);
}

TEST(Logger, FiltersByLevelAndWritesToFiles) {
    testing::TempDir dir;
    auto first = dir.path() / "a.log";
    auto second = dir.path() / "b.log";
    LoggerOptions options;
    options.level = LogLevel::Info;
    options.outputPaths = {first.string(), "file://" + second.string()};
    options.clock = [] { return kWhen; };
    Logger logger = Logger::create(options);
    logger.debug("hidden");
    logger.info("shown", {{"k", "v"}});
    logger.named("collector").error("from the collector");
    logger.flush();

    for (const auto& path : {first, second}) {
        std::string content = readFile(path);
        EXPECT_THAT(content, Not(HasSubstr("hidden")));
        EXPECT_THAT(content, HasSubstr("\"msg\":\"shown\",\"k\":\"v\""));
        EXPECT_THAT(content, HasSubstr("\"logger\":\"collector\",\"msg\":\"from the collector\""));
    }
    EXPECT_FALSE(logger.enabled(LogLevel::Debug));
    EXPECT_TRUE(logger.enabled(LogLevel::Warn));
}

TEST(Logger, NamesNest) {
    testing::TempDir dir;
    LoggerOptions options;
    options.outputPaths = {(dir.path() / "x.log").string()};
    Logger logger = Logger::create(options).named("supervisor").named("opamp");
    logger.info("hello");
    EXPECT_THAT(readFile(dir.path() / "x.log"), HasSubstr("\"logger\":\"supervisor.opamp\""));
}

TEST(Logger, AppendsToExistingFiles) {
    testing::TempDir dir;
    auto path = dir.write("x.log", "previous line\n");
    LoggerOptions options;
    options.outputPaths = {path.string()};
    Logger::create(options).info("next");
    std::string content = readFile(path);
    EXPECT_THAT(content, ::testing::StartsWith("previous line\n"));
    EXPECT_THAT(content, HasSubstr("next"));
}

TEST(Logger, UnopenablePathIsAnError) {
    LoggerOptions options;
    options.outputPaths = {"/nonexistent-dir/sub/x.log"};
    try {
        Logger::create(options);
        FAIL();
    } catch (const std::runtime_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("/nonexistent-dir/sub/x.log"));
    }
}

}  // namespace
}  // namespace opampsup::telemetry
