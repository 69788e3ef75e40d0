#include "core/telemetry/Logger.h"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <stdexcept>

#include "core/telemetry/JsonText.h"
#include "core/telemetry/Redact.h"

namespace opampsup::telemetry {

// The outputs all loggers of one configuration share. The mutex exists because loggers
// are used from the supervisor loop and from I/O threads; it keeps each line whole.
class LogSinks {
  public:
    struct Output {
        std::string path;
        std::FILE* file = nullptr;
        bool owned = false;  // stdout and stderr are not ours to close
    };

    LogSinks(LoggerOptions options) : options_(std::move(options)) {
        if (!options_.clock) {
            options_.clock = [] { return std::chrono::system_clock::now(); };
        }
        errorOutputs_ = open(options_.errorOutputPaths);
        outputs_ = open(options_.outputPaths);
    }

    LogSinks(const LogSinks&) = delete;
    LogSinks& operator=(const LogSinks&) = delete;

    ~LogSinks() {
        for (auto* list : {&outputs_, &errorOutputs_}) {
            for (Output& o : *list) {
                if (o.owned) {
                    std::fclose(o.file);
                }
            }
        }
    }

    const LoggerOptions& options() const { return options_; }

    void write(const std::string& line) {
        std::lock_guard<std::mutex> lock(mutex_);
        for (Output& o : outputs_) {
            // Flushed per line: a supervisor log must survive a crash of the supervisor.
            if (std::fputs(line.c_str(), o.file) < 0 || std::fflush(o.file) != 0) {
                reportFailure("cannot write log line to " + o.path);
            }
        }
    }

    void flush() {
        std::lock_guard<std::mutex> lock(mutex_);
        for (Output& o : outputs_) {
            std::fflush(o.file);
        }
    }

    void setTap(std::function<void(const LogRecord&)> tap) {
        std::lock_guard<std::mutex> lock(tapMutex_);
        tap_ = std::make_shared<const std::function<void(const LogRecord&)>>(std::move(tap));
    }

    // The tap in force, or null; called outside the lock so a tap may log itself.
    std::shared_ptr<const std::function<void(const LogRecord&)>> tap() const {
        std::lock_guard<std::mutex> lock(tapMutex_);
        return tap_ && *tap_ ? tap_ : nullptr;
    }

  private:
    static std::vector<Output> open(const std::vector<std::string>& paths) {
        std::vector<Output> outputs;
        for (const std::string& path : paths) {
            if (path == "stdout") {
                outputs.push_back({path, stdout, false});
            } else if (path == "stderr") {
                outputs.push_back({path, stderr, false});
            } else {
                std::string file = path.rfind("file://", 0) == 0 ? path.substr(7) : path;
                std::FILE* handle = std::fopen(file.c_str(), "a");
                if (handle == nullptr) {
                    for (Output& o : outputs) {
                        if (o.owned) {
                            std::fclose(o.file);
                        }
                    }
                    throw std::runtime_error("cannot open log output \"" + path +
                                             "\" for appending");
                }
                outputs.push_back({path, handle, true});
            }
        }
        return outputs;
    }

    // Called with mutex_ held.
    void reportFailure(const std::string& what) {
        for (Output& o : errorOutputs_) {
            std::fputs((what + "\n").c_str(), o.file);
            std::fflush(o.file);
        }
    }

    LoggerOptions options_;
    std::mutex mutex_;
    mutable std::mutex tapMutex_;
    std::shared_ptr<const std::function<void(const LogRecord&)>> tap_;
    std::vector<Output> outputs_;
    std::vector<Output> errorOutputs_;
};

namespace {

// ISO 8601 in UTC with milliseconds, computed with <chrono> so no OS time call is needed.
std::string formatTimestamp(std::chrono::system_clock::time_point when) {
    using namespace std::chrono;
    auto ms = floor<milliseconds>(when);
    auto day = floor<days>(ms);
    year_month_day ymd{day};
    hh_mm_ss<milliseconds> tod{ms - day};
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%03ldZ",
                  static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<long>(tod.hours().count()),
                  static_cast<long>(tod.minutes().count()),
                  static_cast<long>(tod.seconds().count()),
                  static_cast<long>(tod.subseconds().count()));
    return buffer;
}

std::string redactValue(const LogField& field) {
    if (isSensitiveKey(field.key)) {
        return std::string(kRedacted);
    }
    return redactUrl(field.value);
}

}  // namespace

LogLevel parseLogLevel(std::string_view name) {
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    static const std::pair<std::string_view, LogLevel> kLevels[] = {
        {"debug", LogLevel::Debug}, {"info", LogLevel::Info},     {"warn", LogLevel::Warn},
        {"error", LogLevel::Error}, {"dpanic", LogLevel::DPanic}, {"panic", LogLevel::Panic},
        {"fatal", LogLevel::Fatal}};
    for (const auto& [levelName, level] : kLevels) {
        if (levelName == lower) {
            return level;
        }
    }
    throw std::invalid_argument("unknown log level \"" + std::string(name) + "\"");
}

std::string_view logLevelName(LogLevel level) {
    switch (level) {
        case LogLevel::Debug:
            return "debug";
        case LogLevel::Info:
            return "info";
        case LogLevel::Warn:
            return "warn";
        case LogLevel::Error:
            return "error";
        case LogLevel::DPanic:
            return "dpanic";
        case LogLevel::Panic:
            return "panic";
        case LogLevel::Fatal:
            return "fatal";
    }
    return "unknown";
}

std::string formatLogRecord(LogEncoding encoding, std::chrono::system_clock::time_point when,
                            LogLevel level, std::string_view logger, std::string_view message,
                            const std::vector<LogField>& fields) {
    std::string out;
    std::string safeMessage = redactUrl(message);
    if (encoding == LogEncoding::Json) {
        out += "{\"level\":";
        appendJsonString(out, logLevelName(level));
        out += ",\"ts\":";
        appendJsonString(out, formatTimestamp(when));
        if (!logger.empty()) {
            out += ",\"logger\":";
            appendJsonString(out, logger);
        }
        out += ",\"msg\":";
        appendJsonString(out, safeMessage);
        for (const LogField& f : fields) {
            out += ',';
            appendJsonString(out, f.key);
            out += ':';
            appendJsonString(out, redactValue(f));
        }
        out += "}\n";
        return out;
    }
    // Console: tab-separated like zap's console encoder, fields as one JSON object.
    out += formatTimestamp(when);
    out += '\t';
    out += logLevelName(level);
    if (!logger.empty()) {
        out += '\t';
        out += logger;
    }
    out += '\t';
    out += safeMessage;
    if (!fields.empty()) {
        out += "\t{";
        bool first = true;
        for (const LogField& f : fields) {
            if (!first) {
                out += ", ";
            }
            first = false;
            appendJsonString(out, f.key);
            out += ": ";
            appendJsonString(out, redactValue(f));
        }
        out += '}';
    }
    out += '\n';
    return out;
}

Logger::Logger(std::shared_ptr<LogSinks> sinks, std::string name)
    : sinks_(std::move(sinks)), name_(std::move(name)) {}

Logger Logger::create(const LoggerOptions& options) {
    return Logger(std::make_shared<LogSinks>(options), "");
}

Logger Logger::bootstrap() {
    LoggerOptions options;
    options.encoding = LogEncoding::Console;
    options.outputPaths = {"stderr"};
    return create(options);
}

Logger Logger::named(std::string name) const {
    return Logger(sinks_, name_.empty() ? std::move(name) : name_ + "." + name);
}

bool Logger::enabled(LogLevel level) const {
    return level >= sinks_->options().level;
}

void Logger::log(LogLevel level, std::string_view message, std::vector<LogField> fields) const {
    if (!enabled(level)) {
        return;
    }
    const LoggerOptions& options = sinks_->options();
    const auto when = options.clock();
    sinks_->write(formatLogRecord(options.encoding, when, level, name_, message, fields));
    if (auto tap = sinks_->tap()) {
        LogRecord record{when, level, name_, redactUrl(message), {}};
        record.fields.reserve(fields.size());
        for (const LogField& f : fields) {
            record.fields.push_back({f.key, redactValue(f)});
        }
        (*tap)(record);
    }
}

void Logger::setRecordTap(std::function<void(const LogRecord&)> tap) const {
    sinks_->setTap(std::move(tap));
}

void Logger::flush() const {
    sinks_->flush();
}

}  // namespace opampsup::telemetry
