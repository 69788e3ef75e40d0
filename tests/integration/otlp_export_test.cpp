// The supervisor's own log export over OTLP/HTTP against a loopback receiver: what goes on
// the wire, retries, a backend that is down, and the config that sets it up.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <Poco/Net/ServerSocket.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/otlp/LogExporter.h"
#include "core/otlp/MetricExporter.h"
#include "core/otlp/OtlpSender.h"
#include "core/otlp/TelemetryConfig.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "support/ChildRun.h"
#include "support/TempDir.h"
#include "support/TestOtlpReceiver.h"

namespace opampsup::otlp {
namespace {

using ::testing::HasSubstr;
using testing::waitUntil;
namespace collector = ::opentelemetry::proto::collector::logs::v1;
namespace logs = ::opentelemetry::proto::logs::v1;

SenderLimits quick() {
    SenderLimits limits;
    limits.firstRetryDelay = std::chrono::milliseconds(10);
    return limits;
}

OtlpTarget targetFor(const testing::TestOtlpReceiver& receiver) {
    OtlpTarget target;
    target.url = receiver.origin() + "/v1/logs";
    target.headers["api-key"] = {"k1"};
    return target;
}

std::string attribute(
    const google::protobuf::RepeatedPtrField<::opentelemetry::proto::common::v1::KeyValue>& list,
    const std::string& key) {
    for (const auto& kv : list) {
        if (kv.key() == key) {
            return kv.value().string_value();
        }
    }
    return "<absent>";
}

TEST(OtlpSender, PostsGzippedProtobufWithTheConfiguredHeaders) {
    testing::TestOtlpReceiver receiver;
    OtlpSender sender(targetFor(receiver), quick(), nullptr);
    ASSERT_TRUE(sender.enqueue("request bytes"));
    ASSERT_TRUE(waitUntil([&] { return receiver.requests().size() == 1; }));
    const auto request = receiver.requests()[0];
    EXPECT_EQ(request.path, "/v1/logs");
    EXPECT_EQ(request.headers.at("Content-Type"), "application/x-protobuf");
    EXPECT_EQ(request.headers.at("Content-Encoding"), "gzip");
    EXPECT_EQ(request.headers.at("api-key"), "k1");
    EXPECT_EQ(request.body, "request bytes");
    EXPECT_TRUE(waitUntil([&] { return sender.counts().sent == 1; }));
}

TEST(OtlpSender, RetriesWhatTheBackendAsksToRetryAndDropsWhatItRefuses) {
    testing::TestOtlpReceiver receiver;
    receiver.answerFirst({503, 429});
    std::vector<std::string> problems;
    std::mutex mutex;
    OtlpSender sender(targetFor(receiver), quick(), [&](const std::string& p) {
        std::lock_guard<std::mutex> lock(mutex);
        problems.push_back(p);
    });
    sender.enqueue("first");
    ASSERT_TRUE(waitUntil([&] { return sender.counts().sent == 1; }));
    EXPECT_EQ(receiver.requests().size(), 3U) << "503 and 429 are retried";

    receiver.answerFirst({400});
    sender.enqueue("second");
    ASSERT_TRUE(waitUntil([&] { return sender.counts().failed == 1; }));
    EXPECT_EQ(receiver.requests().size(), 4U) << "a 400 is not retried";
    sender.enqueue("third");
    ASSERT_TRUE(waitUntil([&] { return sender.counts().sent == 2; }));
    std::lock_guard<std::mutex> lock(mutex);
    ASSERT_FALSE(problems.empty());
    EXPECT_THAT(problems[0], HasSubstr("answered HTTP 503; retrying"));
}

// A backend that is down: the queue stays within its bound, what does not fit is counted,
// and shutdown keeps to its grace.
TEST(OtlpSender, ABackendThatIsDownCostsBoundedMemoryAndTime) {
    std::string url;
    {
        testing::TestOtlpReceiver gone;
        url = gone.origin() + "/v1/logs";
    }
    OtlpTarget target;
    target.url = url;
    SenderLimits limits = quick();
    limits.maxQueuedBytes = 10000;
    OtlpSender sender(target, limits, nullptr);
    int accepted = 0;
    for (int i = 0; i < 100; ++i) {
        accepted += sender.enqueue(std::string(1000, 'x')) ? 1 : 0;
    }
    EXPECT_LE(accepted, 11);
    EXPECT_GE(sender.counts().dropped, 89U);
    const auto started = std::chrono::steady_clock::now();
    sender.shutdown(std::chrono::milliseconds(200));
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
    EXPECT_FALSE(sender.enqueue("after")) << "a stopped sender takes nothing";
}

// A backend that takes the connection and never answers: the queue stays bounded, and
// shutdown cuts the request on the wire at the end of its grace, not at the timeout.
TEST(OtlpSender, ABackendThatNeverAnswersDoesNotHoldUpTheShutdown) {
    Poco::Net::ServerSocket silent(Poco::Net::SocketAddress("127.0.0.1", 0));
    OtlpTarget target;
    target.url = "http://127.0.0.1:" + std::to_string(silent.address().port()) + "/v1/logs";
    target.timeout = std::chrono::seconds(60);
    SenderLimits limits = quick();
    limits.maxQueuedBytes = 5000;
    OtlpSender sender(target, limits, nullptr);
    for (int i = 0; i < 20; ++i) {
        sender.enqueue(std::string(1000, 'x'));
    }
    EXPECT_GE(sender.counts().dropped, 14U);
    const auto started = std::chrono::steady_clock::now();
    sender.shutdown(std::chrono::milliseconds(300));
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
    EXPECT_EQ(sender.counts().sent, 0U);
}

TEST(LogExport, RecordsArriveBatchedWithTheResourceAndTheirLoggerAsScope) {
    testing::TempDir dir;
    testing::TestOtlpReceiver receiver;
    telemetry::LoggerOptions options;
    options.outputPaths = {(dir.path() / "supervisor.log").string()};
    telemetry::Logger logger = telemetry::Logger::create(options).named("supervisor");
    ResourceSettings resource;
    resource.attributes = {{"service.name", "opamp-supervisor"}, {"host.name", "h1"}};
    BatchSettings batch;
    batch.scheduleDelay = std::chrono::milliseconds(50);
    std::vector<std::unique_ptr<LogExporter>> exporters;
    exporters.push_back(std::make_unique<LogExporter>(
        std::make_unique<OtlpSender>(targetFor(receiver), quick(), nullptr), resource, batch));
    {
        OwnLogExport exporting(logger, std::move(exporters));
        logger.info("Connected", {{"endpoint", "wss://u:pw@server/v1/opamp"}, {"token", "abc"}});
        logger.named("opamp").warn("Reconnecting");
    }  // shutting down exports what is buffered
    logger.info("After the export stopped");

    collector::ExportLogsServiceRequest all;
    for (const auto& request : receiver.requests()) {
        collector::ExportLogsServiceRequest one;
        ASSERT_TRUE(one.ParseFromString(request.body));
        all.MergeFrom(one);
    }
    std::vector<std::string> bodies;
    for (const auto& resourceLogs : all.resource_logs()) {
        EXPECT_EQ(attribute(resourceLogs.resource().attributes(), "service.name"),
                  "opamp-supervisor");
        EXPECT_EQ(attribute(resourceLogs.resource().attributes(), "host.name"), "h1");
        for (const auto& scope : resourceLogs.scope_logs()) {
            for (const auto& record : scope.log_records()) {
                bodies.push_back(scope.scope().name() + ": " + record.body().string_value());
                if (record.body().string_value() == "Connected") {
                    EXPECT_EQ(record.severity_number(), logs::SEVERITY_NUMBER_INFO);
                    EXPECT_EQ(record.severity_text(), "info");
                    EXPECT_GT(record.time_unix_nano(), 0U);
                    EXPECT_EQ(attribute(record.attributes(), "token"), "[REDACTED]");
                    EXPECT_EQ(attribute(record.attributes(), "endpoint"),
                              "wss://u:[REDACTED]@server/v1/opamp");
                } else {
                    EXPECT_EQ(record.severity_number(), logs::SEVERITY_NUMBER_WARN);
                }
            }
        }
    }
    EXPECT_EQ(bodies, (std::vector<std::string>{"supervisor: Connected",
                                                "supervisor.opamp: Reconnecting"}));
}

// A simple processor (batches of one) sends each record as it comes, and idles between.
TEST(LogExport, ASimpleProcessorSendsEachRecordAtOnce) {
    testing::TestOtlpReceiver receiver;
    BatchSettings simple;
    simple.scheduleDelay = std::chrono::milliseconds(0);
    simple.maxExportBatchSize = 1;
    LogExporter exporter(std::make_unique<OtlpSender>(targetFor(receiver), quick(), nullptr),
                         ResourceSettings{}, simple);
    telemetry::LogRecord record{
        std::chrono::system_clock::now(), telemetry::LogLevel::Warn, "supervisor", "one", {}};
    exporter.add(record);
    ASSERT_TRUE(waitUntil([&] { return receiver.requests().size() == 1; }));
    record.message = "two";
    exporter.add(record);
    ASSERT_TRUE(waitUntil([&] { return receiver.requests().size() == 2; }));
}

TEST(LogExport, AFullBufferDropsAndCounts) {
    testing::TestOtlpReceiver receiver;
    BatchSettings batch;
    batch.maxQueueSize = 5;
    batch.scheduleDelay = std::chrono::hours(1);
    batch.maxExportBatchSize = 100;
    LogExporter exporter(std::make_unique<OtlpSender>(targetFor(receiver), quick(), nullptr),
                         ResourceSettings{}, batch);
    telemetry::LogRecord record{
        std::chrono::system_clock::now(), telemetry::LogLevel::Info, "supervisor", "line", {}};
    for (int i = 0; i < 8; ++i) {
        exporter.add(record);
    }
    EXPECT_EQ(exporter.droppedRecords(), 3U);
}

// The values a metric request carries, by "name" or "name{key=value}".
std::map<std::string, std::int64_t> valuesIn(const std::string& body) {
    ::opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest request;
    EXPECT_TRUE(request.ParseFromString(body));
    std::map<std::string, std::int64_t> out;
    for (const auto& resource : request.resource_metrics()) {
        for (const auto& scope : resource.scope_metrics()) {
            for (const auto& metric : scope.metrics()) {
                const auto& points =
                    metric.has_sum() ? metric.sum().data_points() : metric.gauge().data_points();
                if (metric.has_sum()) {
                    EXPECT_TRUE(metric.sum().is_monotonic()) << metric.name();
                    EXPECT_EQ(
                        metric.sum().aggregation_temporality(),
                        ::opentelemetry::proto::metrics::v1::AGGREGATION_TEMPORALITY_CUMULATIVE);
                }
                for (const auto& point : points) {
                    std::string key = metric.name();
                    for (const auto& kv : point.attributes()) {
                        key += "{" + kv.key() + "=" + kv.value().string_value() + "}";
                    }
                    out[key] = point.as_int();
                }
            }
        }
    }
    return out;
}

TEST(MetricExport, EachIntervalAndAtShutdownTheValuesAreExported) {
    testing::TestOtlpReceiver receiver;
    auto metrics = std::make_shared<telemetry::OwnMetrics>();
    metrics->collectorHealthy = true;
    metrics->collectorStarts = 3;
    metrics->configsApplied = 2;
    metrics->configsFailed = 1;
    metrics->opampConnected = true;
    metrics->opampConnects = 1;
    metrics->messagesSent = 7;
    metrics->messagesReceived = 5;
    metrics->packagesFailed = 1;
    OtlpTarget target = targetFor(receiver);
    target.url = receiver.origin() + "/v1/metrics";
    MetricExporter exporter(std::make_unique<OtlpSender>(target, quick(), nullptr),
                            ResourceSettings{{{"service.name", "opamp-supervisor"}}, "", {}},
                            metrics, std::chrono::milliseconds(50));
    ASSERT_TRUE(waitUntil([&] { return receiver.requests().size() >= 2; }));
    auto first = valuesIn(receiver.requests()[0].body);
    EXPECT_EQ(first, (std::map<std::string, std::int64_t>{
                         {"opampsupervisor.collector.healthy", 1},
                         {"opampsupervisor.collector.restarts", 2},
                         {"opampsupervisor.config.applies{outcome=applied}", 2},
                         {"opampsupervisor.config.applies{outcome=failed}", 1},
                         {"opampsupervisor.opamp.connected", 1},
                         {"opampsupervisor.opamp.reconnects", 0},
                         {"opampsupervisor.opamp.messages{direction=sent}", 7},
                         {"opampsupervisor.opamp.messages{direction=received}", 5},
                         {"opampsupervisor.package.installs{outcome=installed}", 0},
                         {"opampsupervisor.package.installs{outcome=failed}", 1}}));
    metrics->messagesSent = 9;
    metrics->collectorHealthy = false;
    exporter.shutdown(std::chrono::seconds(2));
    auto last = valuesIn(receiver.requests().back().body);
    EXPECT_EQ(last["opampsupervisor.opamp.messages{direction=sent}"], 9);
    EXPECT_EQ(last["opampsupervisor.collector.healthy"], 0);
    EXPECT_EQ(receiver.requests().back().path, "/v1/metrics");
}

config::TelemetrySettings withProcessors(const std::string& yaml) {
    config::TelemetrySettings t;
    t.logs.processorsYaml = yaml;
    return t;
}

std::optional<std::string> noEnv(const std::string&) {
    return std::nullopt;
}

TEST(TelemetryConfig, ReadsBatchAndSimpleProcessorsWithTheirOtlpExporters) {
    auto processors = readLogProcessors(withProcessors(R"(
- batch:
    schedule_delay: 200
    max_queue_size: 100
    max_export_batch_size: 10
    exporter:
      otlp:
        protocol: http/protobuf
        endpoint: https://backend:4318
        headers: [{name: api-key, value: k1}]
        headers_list: "x-tenant=t1"
        compression: none
        timeout: 3000
        certificate: /etc/ca.pem
- simple:
    exporter:
      otlp:
        endpoint: http://127.0.0.1:4318/custom/logs
)"),
                                        noEnv);
    ASSERT_EQ(processors.size(), 2U);
    EXPECT_EQ(processors[0].target.url, "https://backend:4318/v1/logs");
    EXPECT_EQ(processors[0].target.headers.at("api-key"), std::vector<std::string>{"k1"});
    EXPECT_EQ(processors[0].target.headers.at("x-tenant"), std::vector<std::string>{"t1"});
    EXPECT_FALSE(processors[0].target.gzip);
    EXPECT_EQ(processors[0].target.timeout, std::chrono::milliseconds(3000));
    ASSERT_TRUE(processors[0].target.tls);
    EXPECT_EQ(processors[0].target.tls->caFile, "/etc/ca.pem");
    EXPECT_EQ(processors[0].batch.scheduleDelay, std::chrono::milliseconds(200));
    EXPECT_EQ(processors[0].batch.maxQueueSize, 100U);
    EXPECT_EQ(processors[0].batch.maxExportBatchSize, 10U);
    EXPECT_EQ(processors[1].target.url, "http://127.0.0.1:4318/custom/logs");
    EXPECT_TRUE(processors[1].target.gzip);
    EXPECT_EQ(processors[1].batch.maxExportBatchSize, 1U);
}

TEST(TelemetryConfig, WhatCannotBeExportedIsRefusedNamingTheKey) {
    auto problem = [](const std::string& yaml) {
        try {
            readLogProcessors(withProcessors(yaml), noEnv);
        } catch (const std::runtime_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(problem("- batch:\n    exporter:\n      otlp:\n        protocol: grpc\n"
                      "        endpoint: http://x:4317\n"),
              "telemetry.logs.processors[0].batch.exporter.otlp.protocol: \"grpc\" is not "
              "supported; use http/protobuf");
    EXPECT_EQ(problem("- batch:\n    exporter:\n      console: {}\n"),
              "telemetry.logs.processors[0].batch.exporter: \"console\" is not supported; use "
              "otlp (over http/protobuf)");
    EXPECT_EQ(problem("- batch:\n    exporter:\n      otlp: {}\n"),
              "telemetry.logs.processors[0].batch.exporter.otlp.endpoint: is required");
    EXPECT_EQ(problem("- batch:\n    exporter:\n      otlp:\n        endpoint: ftp://x\n"),
              "telemetry.logs.processors[0].batch.exporter.otlp.endpoint: \"ftp://x\" is not an "
              "http:// or https:// URL");
    EXPECT_EQ(problem("- batch: 5\n"), "telemetry.logs.processors[0].batch: expected a map");
    EXPECT_EQ(problem("- batch:\n    exporter:\n      otlp: null\n"),
              "telemetry.logs.processors[0].batch.exporter.otlp: expected a map");
    EXPECT_EQ(problem("- [a, b]\n"), "telemetry.logs.processors[0]: expected a map with one key");
    EXPECT_EQ(problem("- periodic: {}\n"),
              "telemetry.logs.processors[0]: \"periodic\" is not a processor (batch or simple)");
}

TEST(TelemetryConfig, ReadsPeriodicReadersAndSpanProcessorsUnlessTheLevelIsNone) {
    config::TelemetrySettings t;
    t.metrics.readersYaml = R"(
- periodic:
    interval: 5000
    exporter:
      otlp:
        protocol: http/protobuf
        endpoint: http://127.0.0.1:4318
)";
    t.traces.processorsYaml =
        "- batch:\n    exporter:\n      otlp:\n        endpoint: http://127.0.0.1:4318\n";
    auto readers = readMetricReaders(t, noEnv);
    ASSERT_EQ(readers.size(), 1U);
    EXPECT_EQ(readers[0].interval, std::chrono::milliseconds(5000));
    EXPECT_EQ(readers[0].target.url, "http://127.0.0.1:4318/v1/metrics");
    auto spans = readSpanProcessors(t, noEnv);
    ASSERT_EQ(spans.size(), 1U);
    EXPECT_EQ(spans[0].target.url, "http://127.0.0.1:4318/v1/traces");

    t.metrics.level = "none";
    t.traces.level = "none";
    EXPECT_TRUE(readMetricReaders(t, noEnv).empty());
    EXPECT_TRUE(readSpanProcessors(t, noEnv).empty());

    t.metrics.level = "basic";
    t.metrics.readersYaml = "- pull:\n    exporter:\n      prometheus: {port: 9464}\n";
    try {
        readMetricReaders(t, noEnv);
        FAIL() << "a pull reader was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(),
                     "telemetry.metrics.readers[0]: \"pull\" readers are not "
                     "supported; use periodic (pushing over OTLP)");
    }
}

TEST(TelemetryConfig, TheResourceNamesTheSupervisorUnlessToldOtherwise) {
    config::TelemetrySettings t;
    auto plain = readResource(t);
    ASSERT_EQ(plain.attributes.size(), 1U);
    EXPECT_EQ(plain.attributes[0],
              (std::pair<std::string, std::string>{"service.name", "opamp-supervisor"}));
    t.resourceYaml = R"(
attributes: [{name: service.name, value: edge-supervisor}, {name: env, value: prod}]
attributes_list: "team=obs"
region: eu
schema_url: https://opentelemetry.io/schemas/1.26.0
detection/development: {detectors: [{host: {}}]}
)";
    auto configured = readResource(t);
    EXPECT_EQ(configured.attributes,
              (std::vector<std::pair<std::string, std::string>>{{"service.name", "edge-supervisor"},
                                                                {"env", "prod"},
                                                                {"team", "obs"},
                                                                {"region", "eu"}}));
    EXPECT_EQ(configured.schemaUrl, "https://opentelemetry.io/schemas/1.26.0");
    EXPECT_EQ(configured.ignored,
              std::vector<std::string>{"telemetry.resource.detection/development"});
}

}  // namespace
}  // namespace opampsup::otlp
