#include "core/otlp/SpanExporter.h"

#include <algorithm>
#include <array>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace opampsup::otlp {

namespace {

namespace trace = ::opentelemetry::proto::trace::v1;
namespace common = ::opentelemetry::proto::common::v1;

// The instrumentation scope of every span: the supervisor itself.
constexpr const char* kScope = "opampsupervisor";
constexpr std::size_t kTraceIdBytes = 16;
constexpr std::size_t kSpanIdBytes = 8;

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

void fill(trace::Span& out, SpanRecord& span) {
    out.set_trace_id(std::move(span.traceId));
    out.set_span_id(std::move(span.spanId));
    out.set_parent_span_id(std::move(span.parentSpanId));
    // Sampled, and the parent (if any) is local: the W3C flags and the is-remote bits.
    out.set_flags(0x01U | trace::SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK);
    out.set_name(std::move(span.name));
    out.set_kind(trace::Span::SPAN_KIND_INTERNAL);
    out.set_start_time_unix_nano(unixNanos(span.start));
    out.set_end_time_unix_nano(unixNanos(span.end));
    for (const auto& [key, value] : span.attributes) {
        addAttribute(*out.mutable_attributes(), key, value);
    }
    // A span that went well keeps its status unset, as OpenTelemetry asks of instrumentation.
    if (!span.error.empty()) {
        out.mutable_status()->set_code(trace::Status::STATUS_CODE_ERROR);
        out.mutable_status()->set_message(std::move(span.error));
    }
}

// A span of OtlpTracer: it collects attributes until it ends, then hands its record to the
// exporters, once. Locked, as the supervisor may end a span on another thread than it
// started it on.
class OtlpSpan final : public telemetry::Span {
  public:
    OtlpSpan(std::shared_ptr<SpanExporters> exporters, SpanRecord record)
        : exporters_(std::move(exporters)),
          ids_(record.traceId, record.spanId),
          record_(std::move(record)) {}

    ~OtlpSpan() override { end(""); }

    void setAttribute(const std::string& key, const std::string& value) override {
        std::lock_guard<std::mutex> lock(mutex_);
        if (ended_) {
            return;
        }
        // Setting a key again replaces its value, as the OpenTelemetry API does.
        auto it = std::find_if(record_.attributes.begin(), record_.attributes.end(),
                               [&](const auto& kv) { return kv.first == key; });
        if (it != record_.attributes.end()) {
            it->second = value;
        } else {
            record_.attributes.emplace_back(key, value);
        }
    }

    void end(const std::string& error) override {
        SpanRecord finished;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (ended_) {
                return;
            }
            ended_ = true;
            // On the tracer's steady mapping, like the start: a wall clock stepped back
            // mid-span must not make it end before it started, nor a parent before its child.
            record_.end = exporters_->wallTimeOf(std::chrono::steady_clock::now());
            record_.error = error;
            finished = std::move(record_);
        }
        record(std::move(finished));
    }

    std::pair<std::string, std::string> context() const override { return ids_; }

  private:
    void record(SpanRecord finished) const {
        if (exporters_->stopped.load()) {
            return;
        }
        const auto& list = exporters_->list;
        if (list.empty()) {
            return;
        }
        // Each exporter but the last gets a copy; the last takes the record itself.
        for (std::size_t i = 0; i + 1 < list.size(); ++i) {
            list[i]->add(finished);
        }
        list.back()->add(std::move(finished));
    }

    std::shared_ptr<SpanExporters> exporters_;
    // Kept apart from record_, which end() gives away, so context() needs no lock; declared
    // before it, so copied from the record before that is moved in.
    const std::pair<std::string, std::string> ids_;
    std::mutex mutex_;
    SpanRecord record_;
    bool ended_ = false;
};

bool allZero(const std::string& bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

}  // namespace

SpanExporter::SpanExporter(std::unique_ptr<OtlpSender> sender, ResourceSettings resource,
                           BatchSettings batch)
    : sender_(std::move(sender)),
      resource_(std::move(resource)),
      batcher_(batch, [this](std::vector<SpanRecord> spans) {
          sender_->enqueue(request(std::move(spans)));
      }) {}

SpanExporter::~SpanExporter() {
    shutdown(std::chrono::milliseconds(0));
}

void SpanExporter::add(SpanRecord span) {
    batcher_.add(std::move(span));
}

std::uint64_t SpanExporter::droppedSpans() const {
    return batcher_.dropped();
}

void SpanExporter::shutdown(std::chrono::milliseconds grace) {
    {
        std::lock_guard<std::mutex> lock(shutdownMutex_);
        if (stopped_) {
            return;
        }
        stopped_ = true;
    }
    batcher_.stop();  // the buffered spans are handed to the sender
    sender_->shutdown(grace);
}

// One ResourceSpans with one ScopeSpans: every span comes from the supervisor itself.
std::string SpanExporter::request(std::vector<SpanRecord> spans) const {
    ::opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest out;
    trace::ResourceSpans* resourceSpans = out.add_resource_spans();
    for (const auto& [key, value] : resource_.attributes) {
        addAttribute(*resourceSpans->mutable_resource()->mutable_attributes(), key, value);
    }
    resourceSpans->set_schema_url(resource_.schemaUrl);
    trace::ScopeSpans* scope = resourceSpans->add_scope_spans();
    scope->mutable_scope()->set_name(kScope);
    for (SpanRecord& span : spans) {
        fill(*scope->add_spans(), span);
    }
    return out.SerializeAsString();
}

OtlpTracer::OtlpTracer(std::vector<std::unique_ptr<SpanExporter>> exporters)
    : exporters_(std::make_shared<SpanExporters>()) {
    exporters_->list = std::move(exporters);
    // 256 bits from the OS entropy source: supervisors started together draw different IDs.
    std::random_device device;
    std::array<std::uint32_t, 8> seed{};
    std::generate(seed.begin(), seed.end(), [&] { return device(); });
    std::seed_seq sequence(seed.begin(), seed.end());
    random_.seed(sequence);
}

std::unique_ptr<telemetry::Span> OtlpTracer::start(const std::string& name,
                                                   const telemetry::Span* parent) {
    SpanRecord record;
    record.name = name;
    if (parent != nullptr) {
        auto [traceId, spanId] = parent->context();
        if (traceId.size() == kTraceIdBytes && spanId.size() == kSpanIdBytes) {
            record.traceId = std::move(traceId);
            record.parentSpanId = std::move(spanId);
        }
    }
    if (record.traceId.empty()) {
        record.traceId = randomId(kTraceIdBytes);
    }
    record.spanId = randomId(kSpanIdBytes);
    record.start = exporters_->wallTimeOf(std::chrono::steady_clock::now());
    return std::make_unique<OtlpSpan>(exporters_, std::move(record));
}

void OtlpTracer::shutdown() {
    if (exporters_->stopped.exchange(true)) {
        return;
    }
    // Bounded: a backend that is down must not hold up the supervisor's exit for long.
    constexpr std::chrono::seconds kGrace{2};
    for (const auto& exporter : exporters_->list) {
        exporter->shutdown(kGrace);
    }
}

// OTLP takes an all-zero ID as invalid, so such a draw (however unlikely) is drawn again.
std::string OtlpTracer::randomId(std::size_t bytes) {
    std::lock_guard<std::mutex> lock(randomMutex_);
    std::string id(bytes, '\0');
    while (allZero(id)) {
        for (std::size_t i = 0; i < bytes; i += 8) {
            const std::uint64_t word = random_();
            for (std::size_t j = 0; j < 8 && i + j < bytes; ++j) {
                id[i + j] = static_cast<char>((word >> (8 * j)) & 0xFFU);
            }
        }
    }
    return id;
}

std::uint64_t OtlpTracer::droppedSpans() const {
    std::uint64_t dropped = 0;
    for (const auto& exporter : exporters_->list) {
        dropped += exporter->droppedSpans();
    }
    return dropped;
}

}  // namespace opampsup::otlp
