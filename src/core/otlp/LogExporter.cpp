#include "core/otlp/LogExporter.h"

#include <map>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"

namespace opampsup::otlp {

namespace {

namespace logs = ::opentelemetry::proto::logs::v1;
namespace common = ::opentelemetry::proto::common::v1;
using LogLevel = telemetry::LogLevel;

// As the OpenTelemetry zap bridge maps zap's levels.
logs::SeverityNumber severityOf(LogLevel level) {
    switch (level) {
        case LogLevel::Debug:
            return logs::SEVERITY_NUMBER_DEBUG;
        case LogLevel::Info:
            return logs::SEVERITY_NUMBER_INFO;
        case LogLevel::Warn:
            return logs::SEVERITY_NUMBER_WARN;
        case LogLevel::Error:
            return logs::SEVERITY_NUMBER_ERROR;
        case LogLevel::DPanic:
            return logs::SEVERITY_NUMBER_FATAL;
        case LogLevel::Panic:
            return logs::SEVERITY_NUMBER_FATAL2;
        case LogLevel::Fatal:
            return logs::SEVERITY_NUMBER_FATAL3;
    }
    return logs::SEVERITY_NUMBER_UNSPECIFIED;
}

std::uint64_t unixNanos(std::chrono::system_clock::time_point when) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count());
}

void addAttribute(google::protobuf::RepeatedPtrField<common::KeyValue>& list,
                  const std::string& key, const std::string& value) {
    common::KeyValue* kv = list.Add();
    kv->set_key(key);
    kv->mutable_value()->set_string_value(value);
}

}  // namespace

LogExporter::LogExporter(std::unique_ptr<OtlpSender> sender, ResourceSettings resource,
                         BatchSettings batch)
    : sender_(std::move(sender)),
      resource_(std::move(resource)),
      batcher_(batch, [this](std::vector<telemetry::LogRecord> records) {
          sender_->enqueue(request(std::move(records)));
      }) {}

LogExporter::~LogExporter() {
    shutdown(std::chrono::milliseconds(0));
}

void LogExporter::add(const telemetry::LogRecord& record) {
    batcher_.add(record);
}

std::uint64_t LogExporter::droppedRecords() const {
    return batcher_.dropped();
}

void LogExporter::shutdown(std::chrono::milliseconds grace) {
    {
        std::lock_guard<std::mutex> lock(shutdownMutex_);
        if (stopped_) {
            return;
        }
        stopped_ = true;
    }
    batcher_.stop();  // the last batches are handed to the sender
    sender_->shutdown(grace);
}

// One ResourceLogs; one ScopeLogs per logger name ("supervisor", "supervisor.opamp"), as
// the zap bridge names the instrumentation scope after the logger.
std::string LogExporter::request(std::vector<telemetry::LogRecord> records) const {
    ::opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest out;
    logs::ResourceLogs* resourceLogs = out.add_resource_logs();
    for (const auto& [key, value] : resource_.attributes) {
        addAttribute(*resourceLogs->mutable_resource()->mutable_attributes(), key, value);
    }
    resourceLogs->set_schema_url(resource_.schemaUrl);
    std::map<std::string, logs::ScopeLogs*> scopes;
    for (telemetry::LogRecord& record : records) {
        logs::ScopeLogs*& scope = scopes[record.logger];
        if (scope == nullptr) {
            scope = resourceLogs->add_scope_logs();
            scope->mutable_scope()->set_name(record.logger);
        }
        logs::LogRecord* entry = scope->add_log_records();
        entry->set_time_unix_nano(unixNanos(record.when));
        entry->set_observed_time_unix_nano(unixNanos(record.when));
        entry->set_severity_number(severityOf(record.level));
        entry->set_severity_text(std::string(telemetry::logLevelName(record.level)));
        entry->mutable_body()->set_string_value(std::move(record.message));
        for (telemetry::LogField& field : record.fields) {
            addAttribute(*entry->mutable_attributes(), field.key, field.value);
        }
    }
    return out.SerializeAsString();
}

OwnLogExport::OwnLogExport(const telemetry::Logger& logger,
                           std::vector<std::unique_ptr<LogExporter>> exporters)
    : logger_(logger),
      exporters_(
          std::make_shared<std::vector<std::unique_ptr<LogExporter>>>(std::move(exporters))) {
    logger_.setRecordTap([exporters = exporters_](const telemetry::LogRecord& record) {
        for (const auto& exporter : *exporters) {
            exporter->add(record);
        }
    });
}

OwnLogExport::~OwnLogExport() {
    logger_.setRecordTap(nullptr);
    // Bounded: a backend that is down must not hold up the supervisor's exit for long.
    constexpr std::chrono::seconds kGrace{2};
    for (const auto& exporter : *exporters_) {
        exporter->shutdown(kGrace);
    }
}

std::uint64_t OwnLogExport::droppedRecords() const {
    std::uint64_t dropped = 0;
    for (const auto& exporter : *exporters_) {
        dropped += exporter->droppedRecords();
    }
    return dropped;
}

}  // namespace opampsup::otlp
