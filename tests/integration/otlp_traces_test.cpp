// The supervisor's own spans over OTLP/HTTP against a loopback receiver: what a span
// carries on the wire, how spans are batched, dropped and ended, and their IDs.

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/otlp/OtlpSender.h"
#include "core/otlp/SpanExporter.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "support/ChildRun.h"
#include "support/TestOtlpReceiver.h"

namespace opampsup::otlp {
namespace {

using testing::waitUntil;
namespace collector = ::opentelemetry::proto::collector::trace::v1;
namespace trace = ::opentelemetry::proto::trace::v1;
using KeyValues = google::protobuf::RepeatedPtrField<::opentelemetry::proto::common::v1::KeyValue>;

SenderLimits quick() {
    SenderLimits limits;
    limits.firstRetryDelay = std::chrono::milliseconds(10);
    return limits;
}

std::unique_ptr<SpanExporter> exporterFor(const testing::TestOtlpReceiver& receiver,
                                          BatchSettings batch, ResourceSettings resource = {}) {
    OtlpTarget target;
    target.url = receiver.origin() + "/v1/traces";
    return std::make_unique<SpanExporter>(std::make_unique<OtlpSender>(target, quick(), nullptr),
                                          std::move(resource), batch);
}

std::vector<std::unique_ptr<SpanExporter>> one(std::unique_ptr<SpanExporter> exporter) {
    std::vector<std::unique_ptr<SpanExporter>> exporters;
    exporters.push_back(std::move(exporter));
    return exporters;
}

BatchSettings simple() {
    BatchSettings batch;
    batch.scheduleDelay = std::chrono::milliseconds(0);
    batch.maxExportBatchSize = 1;
    return batch;
}

BatchSettings quickBatch() {
    BatchSettings batch;
    batch.scheduleDelay = std::chrono::milliseconds(50);
    return batch;
}

std::string attribute(const KeyValues& list, const std::string& key) {
    for (const auto& kv : list) {
        if (kv.key() == key) {
            return kv.value().string_value();
        }
    }
    return "<absent>";
}

// Every request the receiver got, decoded; each must be a trace export to /v1/traces.
std::vector<collector::ExportTraceServiceRequest> requestsAt(
    const testing::TestOtlpReceiver& receiver) {
    std::vector<collector::ExportTraceServiceRequest> out;
    for (const auto& request : receiver.requests()) {
        EXPECT_EQ(request.path, "/v1/traces");
        collector::ExportTraceServiceRequest decoded;
        EXPECT_TRUE(decoded.ParseFromString(request.body));
        out.push_back(std::move(decoded));
    }
    return out;
}

std::vector<trace::Span> spansIn(const collector::ExportTraceServiceRequest& request) {
    std::vector<trace::Span> out;
    for (const auto& resourceSpans : request.resource_spans()) {
        for (const auto& scope : resourceSpans.scope_spans()) {
            out.insert(out.end(), scope.spans().begin(), scope.spans().end());
        }
    }
    return out;
}

std::vector<trace::Span> spansAt(const testing::TestOtlpReceiver& receiver) {
    std::vector<trace::Span> out;
    for (const auto& request : requestsAt(receiver)) {
        for (auto& span : spansIn(request)) {
            out.push_back(std::move(span));
        }
    }
    return out;
}

const trace::Span* named(const std::vector<trace::Span>& spans, const std::string& name) {
    for (const auto& span : spans) {
        if (span.name() == name) {
            return &span;
        }
    }
    return nullptr;
}

bool allZero(const std::string& bytes) {
    return bytes.find_first_not_of('\0') == std::string::npos;
}

TEST(TraceExport, ARootAndAChildArriveWithTheirResourceTraceAndParent) {
    testing::TestOtlpReceiver receiver;
    ResourceSettings resource;
    resource.attributes = {{"service.name", "opamp-supervisor"}, {"host.name", "h1"}};
    resource.schemaUrl = "https://opentelemetry.io/schemas/1.26.0";
    OtlpTracer tracer(one(exporterFor(receiver, quickBatch(), resource)));

    auto root = tracer.start("onMessage");
    root->setAttribute("instance.id", "i1");
    auto child = tracer.start("processRemoteConfigMessage", root.get());
    child->setAttribute("config.hash", "old");
    child->setAttribute("config.hash", "abc");
    child->end("collector did not start");
    root->end();
    tracer.shutdown();

    const auto requests = requestsAt(receiver);
    ASSERT_FALSE(requests.empty());
    for (const auto& request : requests) {
        ASSERT_EQ(request.resource_spans_size(), 1);
        const auto& resourceSpans = request.resource_spans(0);
        EXPECT_EQ(attribute(resourceSpans.resource().attributes(), "service.name"),
                  "opamp-supervisor");
        EXPECT_EQ(attribute(resourceSpans.resource().attributes(), "host.name"), "h1");
        EXPECT_EQ(resourceSpans.schema_url(), "https://opentelemetry.io/schemas/1.26.0");
        ASSERT_EQ(resourceSpans.scope_spans_size(), 1);
        EXPECT_EQ(resourceSpans.scope_spans(0).scope().name(), "opampsupervisor");
    }
    const auto spans = spansAt(receiver);
    ASSERT_EQ(spans.size(), 2U);
    const trace::Span* rootSpan = named(spans, "onMessage");
    const trace::Span* childSpan = named(spans, "processRemoteConfigMessage");
    ASSERT_NE(rootSpan, nullptr);
    ASSERT_NE(childSpan, nullptr);

    EXPECT_EQ(childSpan->trace_id(), rootSpan->trace_id());
    EXPECT_EQ(childSpan->parent_span_id(), rootSpan->span_id());
    EXPECT_TRUE(rootSpan->parent_span_id().empty());
    EXPECT_NE(childSpan->span_id(), rootSpan->span_id());
    EXPECT_EQ(root->context(), std::make_pair(rootSpan->trace_id(), rootSpan->span_id()));
    EXPECT_EQ(child->context(), std::make_pair(childSpan->trace_id(), childSpan->span_id()));

    for (const trace::Span* span : {rootSpan, childSpan}) {
        EXPECT_EQ(span->kind(), trace::Span::SPAN_KIND_INTERNAL);
        EXPECT_GT(span->start_time_unix_nano(), 0U);
        EXPECT_LE(span->start_time_unix_nano(), span->end_time_unix_nano());
    }
    EXPECT_LE(rootSpan->start_time_unix_nano(), childSpan->start_time_unix_nano());
    EXPECT_GE(rootSpan->end_time_unix_nano(), childSpan->end_time_unix_nano());

    EXPECT_EQ(attribute(rootSpan->attributes(), "instance.id"), "i1");
    ASSERT_EQ(childSpan->attributes_size(), 1) << "setting a key again replaces its value";
    EXPECT_EQ(attribute(childSpan->attributes(), "config.hash"), "abc");

    EXPECT_EQ(rootSpan->status().code(), trace::Status::STATUS_CODE_UNSET);
    EXPECT_TRUE(rootSpan->status().message().empty());
    EXPECT_EQ(childSpan->status().code(), trace::Status::STATUS_CODE_ERROR);
    EXPECT_EQ(childSpan->status().message(), "collector did not start");
}

// A span ends once: when end() is first called, or when it is destroyed without one.
TEST(TraceExport, ASpanIsExportedOnceWhetherEndedOrDestroyed) {
    testing::TestOtlpReceiver receiver;
    OtlpTracer tracer(one(exporterFor(receiver, quickBatch())));
    auto twice = tracer.start("ended twice");
    twice->end();
    twice->end("too late");
    twice->setAttribute("after", "end");
    twice.reset();
    tracer.start("destroyed")->setAttribute("k", "v");
    tracer.shutdown();

    const auto spans = spansAt(receiver);
    ASSERT_EQ(spans.size(), 2U);
    EXPECT_EQ(spans[0].name(), "ended twice");
    EXPECT_EQ(spans[0].status().code(), trace::Status::STATUS_CODE_UNSET);
    EXPECT_EQ(spans[0].attributes_size(), 0);
    EXPECT_EQ(spans[1].name(), "destroyed");
    EXPECT_EQ(spans[1].status().code(), trace::Status::STATUS_CODE_UNSET);
    EXPECT_EQ(attribute(spans[1].attributes(), "k"), "v");
}

// A simple processor (batches of one, no delay) sends each span as it ends.
TEST(TraceExport, ASimpleProcessorSendsEachSpanAtOnce) {
    testing::TestOtlpReceiver receiver;
    OtlpTracer tracer(one(exporterFor(receiver, simple())));
    tracer.start("first")->end();
    ASSERT_TRUE(waitUntil([&] { return receiver.requests().size() == 1; }));
    tracer.start("second")->end();
    ASSERT_TRUE(waitUntil([&] { return receiver.requests().size() == 2; }));
    const auto requests = requestsAt(receiver);
    ASSERT_EQ(requests.size(), 2U);
    ASSERT_EQ(spansIn(requests[0]).size(), 1U);
    EXPECT_EQ(spansIn(requests[0])[0].name(), "first");
    ASSERT_EQ(spansIn(requests[1]).size(), 1U);
    EXPECT_EQ(spansIn(requests[1])[0].name(), "second");
    tracer.shutdown();
}

TEST(TraceExport, AFullBufferDropsAndCounts) {
    testing::TestOtlpReceiver receiver;
    BatchSettings batch;
    batch.maxQueueSize = 5;
    batch.scheduleDelay = std::chrono::hours(1);
    batch.maxExportBatchSize = 100;
    auto exporter = exporterFor(receiver, batch);
    for (int i = 0; i < 8; ++i) {
        SpanRecord span;
        span.name = "span " + std::to_string(i);
        exporter->add(span);
    }
    EXPECT_EQ(exporter->droppedSpans(), 3U);
    EXPECT_TRUE(receiver.requests().empty()) << "the batch waits for its delay";
    exporter->shutdown(std::chrono::seconds(2));
    EXPECT_EQ(spansAt(receiver).size(), 5U) << "shutting down exports what was kept";
}

// What is buffered at shutdown still goes in batches no larger than the processor's.
TEST(TraceExport, ShutdownExportsTheBufferInBatchesOfTheConfiguredSize) {
    testing::TestOtlpReceiver receiver;
    BatchSettings batch;
    batch.maxQueueSize = 10;
    batch.scheduleDelay = std::chrono::hours(1);
    batch.maxExportBatchSize = 4;
    auto exporter = exporterFor(receiver, batch);
    for (int i = 0; i < 10; ++i) {
        exporter->add(SpanRecord{});
    }
    exporter->shutdown(std::chrono::seconds(2));
    EXPECT_EQ(exporter->droppedSpans(), 0U);
    std::size_t total = 0;
    for (const auto& request : requestsAt(receiver)) {
        EXPECT_LE(spansIn(request).size(), 4U);
        total += spansIn(request).size();
    }
    EXPECT_EQ(total, 10U);
}

TEST(TraceExport, AfterShutdownSpansAreDroppedQuietly) {
    testing::TestOtlpReceiver receiver;
    auto tracer = std::make_shared<OtlpTracer>(one(exporterFor(receiver, simple())));
    auto open = tracer->start("open across shutdown");
    tracer->shutdown();
    tracer->shutdown();  // idempotent
    open->setAttribute("k", "v");
    open->end("late");
    auto after = tracer->start("after shutdown");
    auto child = tracer->start("child after shutdown", after.get());
    child->end();
    auto outliving = tracer->start("outlives the tracer");
    tracer.reset();
    outliving->setAttribute("k", "v");
    outliving->end();
    after.reset();
    // Give a span that slipped through time to arrive, so that its absence means something.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_TRUE(receiver.requests().empty());
}

// A span of another tracer (here a no-op span, with no IDs) as parent makes a root.
TEST(TraceExport, AParentWithoutIdsMakesARoot) {
    testing::TestOtlpReceiver receiver;
    OtlpTracer tracer(one(exporterFor(receiver, quickBatch())));
    auto noop = telemetry::noopTracer()->start("noop");
    tracer.start("orphan", noop.get())->end();
    tracer.shutdown();
    const auto spans = spansAt(receiver);
    ASSERT_EQ(spans.size(), 1U);
    EXPECT_TRUE(spans[0].parent_span_id().empty());
    EXPECT_EQ(spans[0].trace_id().size(), 16U);
}

// Spans started on several threads at once: every ID well formed, and none repeated.
TEST(TraceExport, IdsAreRandomWellFormedAndDistinct) {
    testing::TestOtlpReceiver receiver;
    BatchSettings batch = quickBatch();
    batch.maxQueueSize = 1000;
    OtlpTracer tracer(one(exporterFor(receiver, batch)));
    constexpr int kThreads = 4;
    constexpr int kRootsEach = 25;
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&tracer] {
            for (int i = 0; i < kRootsEach; ++i) {
                auto root = tracer.start("root");
                tracer.start("child", root.get())->end();
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    tracer.shutdown();

    const auto spans = spansAt(receiver);
    ASSERT_EQ(spans.size(), 2U * kThreads * kRootsEach);
    std::set<std::string> traceIds;
    std::set<std::string> spanIds;
    for (const auto& span : spans) {
        ASSERT_EQ(span.trace_id().size(), 16U);
        ASSERT_EQ(span.span_id().size(), 8U);
        EXPECT_FALSE(allZero(span.trace_id()));
        EXPECT_FALSE(allZero(span.span_id()));
        spanIds.insert(span.span_id());
        if (span.name() == "root") {
            traceIds.insert(span.trace_id());
            EXPECT_TRUE(span.parent_span_id().empty());
        } else {
            EXPECT_EQ(span.parent_span_id().size(), 8U);
        }
    }
    EXPECT_EQ(spanIds.size(), spans.size()) << "every span has an ID of its own";
    EXPECT_EQ(traceIds.size(), static_cast<std::size_t>(kThreads * kRootsEach))
        << "every root starts a trace of its own";
}

}  // namespace
}  // namespace opampsup::otlp
