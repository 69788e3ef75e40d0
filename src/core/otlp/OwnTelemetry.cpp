#include "core/otlp/OwnTelemetry.h"

#include <chrono>
#include <string>
#include <thread>

#include "core/config/Expansion.h"
#include "core/otlp/SpanExporter.h"
#include "core/otlp/TelemetryConfig.h"
#include "core/telemetry/Redact.h"

namespace opampsup::otlp {

namespace {

// Bounded: a backend that is down must not hold up the supervisor's exit for long.
constexpr std::chrono::seconds kGrace{2};

// Problems of an exporter are logged, and so exported too: at most one a minute, no loop.
std::unique_ptr<OtlpSender> senderFor(OtlpTarget target, const telemetry::Logger& logger,
                                      const char* what) {
    logger.info(
        std::string("Exporting the supervisor's ") + what + " over OTLP",
        {{"endpoint", target.url}, {"headers", telemetry::describeHeaders(target.headers)}});
    return std::make_unique<OtlpSender>(
        std::move(target), SenderLimits{},
        [logger](const std::string& problem) { logger.warn(problem); });
}

}  // namespace

OwnTelemetry::OwnTelemetry(const config::TelemetrySettings& settings,
                           const telemetry::Logger& logger,
                           std::shared_ptr<const telemetry::OwnMetrics> metrics)
    : logger_(logger) {
    const opamp::EnvLookup env = config::processExpansionSources().env;
    std::vector<ProcessorSettings> logProcessors = readLogProcessors(settings, env);
    std::vector<ReaderSettings> readers = readMetricReaders(settings, env);
    std::vector<ProcessorSettings> spanProcessors = readSpanProcessors(settings, env);
    if (logProcessors.empty() && readers.empty() && spanProcessors.empty()) {
        return;
    }
    const ResourceSettings resource = readResource(settings);
    for (const std::string& key : resource.ignored) {
        logger.warn("Resource detection is not done by this supervisor; ignored", {{"key", key}});
    }
    const telemetry::Logger exportLogger = logger.named("otlp");
    std::vector<std::unique_ptr<LogExporter>> logExporters;
    for (ProcessorSettings& p : logProcessors) {
        logExporters.push_back(std::make_unique<LogExporter>(
            senderFor(std::move(p.target), exportLogger, "logs"), resource, p.batch));
    }
    for (ReaderSettings& r : readers) {
        metricExporters_.push_back(std::make_unique<MetricExporter>(
            senderFor(std::move(r.target), exportLogger, "metrics"), resource, metrics,
            r.interval));
    }
    std::vector<std::unique_ptr<SpanExporter>> spanExporters;
    for (ProcessorSettings& p : spanProcessors) {
        spanExporters.push_back(std::make_unique<SpanExporter>(
            senderFor(std::move(p.target), exportLogger, "spans"), resource, p.batch));
    }
    if (!spanExporters.empty()) {
        tracer_ = std::make_shared<OtlpTracer>(std::move(spanExporters));
    }
    if (!logExporters.empty()) {
        logs_ = std::make_unique<OwnLogExport>(logger, std::move(logExporters));
    }
}

OwnTelemetry::~OwnTelemetry() {
    // Side by side, so the graces overlap instead of adding up.
    std::vector<std::thread> stopping;
    for (const auto& exporter : metricExporters_) {
        stopping.emplace_back([&exporter] { exporter->shutdown(kGrace); });  // final values
    }
    if (tracer_) {
        stopping.emplace_back([this] { tracer_->shutdown(); });
    }
    for (std::thread& t : stopping) {
        t.join();
    }
    std::uint64_t records = logs_ ? logs_->droppedRecords() : 0;
    std::uint64_t spans = tracer_ ? tracer_->droppedSpans() : 0;
    if (records > 0 || spans > 0) {
        // Said while the log export still runs, so a backend that was only slow hears it.
        logger_.warn("Own telemetry was dropped: the buffers were full",
                     {{"log_records", std::to_string(records)}, {"spans", std::to_string(spans)}});
    }
    logs_.reset();  // last: the lines above may still log
}

std::shared_ptr<telemetry::Tracer> OwnTelemetry::tracer() const {
    return tracer_;
}

}  // namespace opampsup::otlp
