#pragma once

// Exports the supervisor's own spans over OTLP/HTTP, as telemetry.traces.processors ask (a
// batch or simple processor with an otlp exporter). It works as the log exporter does:
// finished spans are taken on whichever thread ends them into a bounded buffer (what does
// not fit is dropped and counted), and a thread of the exporter's own batches them into
// ExportTraceServiceRequests for the sender.
//
// OtlpTracer is the telemetry::Tracer the supervisor gets when span processors are
// configured: each span it starts is handed, once ended, to every exporter.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/otlp/Batcher.h"
#include "core/otlp/ExportSettings.h"
#include "core/otlp/OtlpSender.h"
#include "core/telemetry/Tracing.h"

namespace opampsup::otlp {

// A finished span, as it goes on the wire.
struct SpanRecord {
    std::string traceId;       // 16 bytes
    std::string spanId;        // 8 bytes
    std::string parentSpanId;  // 8 bytes; empty for a root span
    std::string name;
    std::chrono::system_clock::time_point start;
    std::chrono::system_clock::time_point end;
    std::vector<std::pair<std::string, std::string>> attributes;
    std::string error;  // non-empty when the span ended failed
};

class SpanExporter {
  public:
    SpanExporter(std::unique_ptr<OtlpSender> sender, ResourceSettings resource,
                 BatchSettings batch);
    ~SpanExporter();
    SpanExporter(const SpanExporter&) = delete;
    SpanExporter& operator=(const SpanExporter&) = delete;

    // Any thread; never blocks on the network.
    void add(SpanRecord span);
    // Exports what is buffered, then gives the sender `grace` to deliver it. Idempotent.
    void shutdown(std::chrono::milliseconds grace);
    std::uint64_t droppedSpans() const;
    const OtlpSender& sender() const { return *sender_; }

  private:
    std::string request(std::vector<SpanRecord> spans) const;

    std::unique_ptr<OtlpSender> sender_;
    ResourceSettings resource_;
    std::mutex shutdownMutex_;
    bool stopped_ = false;
    // Last: its thread uses the members above.
    Batcher<SpanRecord> batcher_;
};

// The exporters a tracer and its spans share, so that a span still open when the tracer
// goes can end safely.
struct SpanExporters {
    std::vector<std::unique_ptr<SpanExporter>> list;
    std::atomic<bool> stopped{false};  // after shutdown, ended spans are dropped quietly
    // One reading of both clocks: every span time is this wall time plus steady time
    // elapsed since, so spans order as they happened, whatever the wall clock does.
    const std::chrono::system_clock::time_point wallAnchor = std::chrono::system_clock::now();
    const std::chrono::steady_clock::time_point steadyAnchor = std::chrono::steady_clock::now();

    std::chrono::system_clock::time_point wallTimeOf(
        std::chrono::steady_clock::time_point when) const {
        return wallAnchor +
               std::chrono::duration_cast<std::chrono::system_clock::duration>(when - steadyAnchor);
    }
};

class OtlpTracer : public telemetry::Tracer {
  public:
    explicit OtlpTracer(std::vector<std::unique_ptr<SpanExporter>> exporters);

    // Any thread. Random IDs; a child takes its parent's trace ID (a parent that is not a
    // span of this tracer, such as a no-op span, makes a root).
    std::unique_ptr<telemetry::Span> start(const std::string& name,
                                           const telemetry::Span* parent = nullptr) override;
    // Exports what is buffered, giving each backend up to 2 s. Spans ended afterwards are
    // dropped. Idempotent.
    void shutdown();
    // Spans dropped by every exporter (full buffers).
    std::uint64_t droppedSpans() const;

  private:
    std::string randomId(std::size_t bytes);

    std::shared_ptr<SpanExporters> exporters_;
    std::mutex randomMutex_;
    std::mt19937_64 random_;
};

}  // namespace opampsup::otlp
