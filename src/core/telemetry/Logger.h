#pragma once

// The supervisor's structured logger: levels, json or console encoding, and output paths
// (stdout, stderr, files) as the Go supervisor's `telemetry.logs` section configures them.
// Loggers are cheap named views on one shared sink set; every line is redacted (see
// Redact.h) before it is written.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace opampsup::telemetry {

enum class LogLevel { Debug, Info, Warn, Error, DPanic, Panic, Fatal };

// Throws std::invalid_argument for names other than debug, info, warn, error, dpanic, panic,
// fatal (any case).
LogLevel parseLogLevel(std::string_view name);
std::string_view logLevelName(LogLevel level);

enum class LogEncoding { Json, Console };

struct LogField {
    std::string key;
    std::string value;
};

struct LoggerOptions {
    LogLevel level = LogLevel::Info;
    LogEncoding encoding = LogEncoding::Json;
    std::vector<std::string> outputPaths{"stdout"};
    // Where the logger reports its own failures (a file that cannot be written).
    std::vector<std::string> errorOutputPaths{"stderr"};
    // Injectable for tests; the system clock otherwise.
    std::function<std::chrono::system_clock::time_point()> clock;
};

// A record as the outputs get it, secrets redacted: for exporters of the supervisor's logs.
struct LogRecord {
    std::chrono::system_clock::time_point when;
    LogLevel level = LogLevel::Info;
    std::string logger;
    std::string message;
    std::vector<LogField> fields;
};

class LogSinks;

class Logger {
  public:
    // Opens every output path; throws std::runtime_error naming a path that cannot be opened.
    static Logger create(const LoggerOptions& options);
    // Console encoding to stderr at info: for use before the config is loaded.
    static Logger bootstrap();

    // A logger writing to the same outputs under another name ("collector", "opamp").
    Logger named(std::string name) const;

    bool enabled(LogLevel level) const;
    void log(LogLevel level, std::string_view message, std::vector<LogField> fields = {}) const;
    void debug(std::string_view message, std::vector<LogField> fields = {}) const {
        log(LogLevel::Debug, message, std::move(fields));
    }
    void info(std::string_view message, std::vector<LogField> fields = {}) const {
        log(LogLevel::Info, message, std::move(fields));
    }
    void warn(std::string_view message, std::vector<LogField> fields = {}) const {
        log(LogLevel::Warn, message, std::move(fields));
    }
    void error(std::string_view message, std::vector<LogField> fields = {}) const {
        log(LogLevel::Error, message, std::move(fields));
    }

    // Flushes every output; called at shutdown.
    void flush() const;

    // Every record logged from now on through any logger of this set is also handed to
    // `tap`, on the logging thread: it must not block. One tap at a time; an empty function
    // removes it.
    void setRecordTap(std::function<void(const LogRecord&)> tap) const;

  private:
    Logger(std::shared_ptr<LogSinks> sinks, std::string name);

    std::shared_ptr<LogSinks> sinks_;
    std::string name_;
};

// Formats one record; exposed for tests.
std::string formatLogRecord(LogEncoding encoding, std::chrono::system_clock::time_point when,
                            LogLevel level, std::string_view logger, std::string_view message,
                            const std::vector<LogField>& fields);

}  // namespace opampsup::telemetry
