#include "core/otlp/MetricExporter.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "opampsup/version.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"

namespace opampsup::otlp {

namespace {

namespace metrics = ::opentelemetry::proto::metrics::v1;
namespace common = ::opentelemetry::proto::common::v1;

std::uint64_t unixNanos(std::chrono::system_clock::time_point when) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count());
}

struct Point {
    std::int64_t value;
    std::vector<std::pair<std::string, std::string>> attributes;
};

class RequestBuilder {
  public:
    RequestBuilder(metrics::ScopeMetrics& scope, std::uint64_t start, std::uint64_t now)
        : scope_(scope), start_(start), now_(now) {}

    void gauge(const std::string& name, const std::string& description, std::int64_t value) {
        metrics::Metric* metric = add(name, description, "1");
        fill(metric->mutable_gauge()->add_data_points(), {value, {}}, false);
    }

    void sum(const std::string& name, const std::string& description,
             const std::vector<Point>& points) {
        metrics::Metric* metric = add(name, description, "{count}");
        metrics::Sum* sum = metric->mutable_sum();
        sum->set_aggregation_temporality(metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
        sum->set_is_monotonic(true);
        for (const Point& point : points) {
            fill(sum->add_data_points(), point, true);
        }
    }

  private:
    metrics::Metric* add(const std::string& name, const std::string& description,
                         const std::string& unit) {
        metrics::Metric* metric = scope_.add_metrics();
        metric->set_name(name);
        metric->set_description(description);
        metric->set_unit(unit);
        return metric;
    }

    void fill(metrics::NumberDataPoint* out, const Point& point, bool cumulative) const {
        if (cumulative) {
            out->set_start_time_unix_nano(start_);
        }
        out->set_time_unix_nano(now_);
        out->set_as_int(point.value);
        for (const auto& [key, value] : point.attributes) {
            common::KeyValue* kv = out->add_attributes();
            kv->set_key(key);
            kv->mutable_value()->set_string_value(value);
        }
    }

    metrics::ScopeMetrics& scope_;
    std::uint64_t start_;
    std::uint64_t now_;
};

std::int64_t count(const std::atomic<std::uint64_t>& value) {
    return static_cast<std::int64_t>(value.load());
}

// "After the first": the first start or connection is no restart or reconnect.
std::int64_t afterFirst(const std::atomic<std::uint64_t>& value) {
    std::uint64_t v = value.load();
    return static_cast<std::int64_t>(v > 0 ? v - 1 : 0);
}

}  // namespace

MetricExporter::MetricExporter(std::unique_ptr<OtlpSender> sender, ResourceSettings resource,
                               std::shared_ptr<const telemetry::OwnMetrics> metrics,
                               std::chrono::milliseconds interval)
    : sender_(std::move(sender)),
      resource_(std::move(resource)),
      metrics_(std::move(metrics)),
      interval_(interval),
      started_(std::chrono::system_clock::now()) {
    thread_ = std::thread([this] { run(); });
}

MetricExporter::~MetricExporter() {
    shutdown(std::chrono::milliseconds(0));
}

void MetricExporter::shutdown(std::chrono::milliseconds grace) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) {
            return;
        }
        stopping_ = true;
        wake_.notify_all();
    }
    thread_.join();
    sender_->shutdown(grace);
}

void MetricExporter::run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
        bool stopping = wake_.wait_for(lock, interval_, [this] { return stopping_; });
        sender_->enqueue(request());  // the final values too, when stopping
        if (stopping) {
            return;
        }
    }
}

std::string MetricExporter::request() const {
    ::opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest out;
    metrics::ResourceMetrics* resource = out.add_resource_metrics();
    for (const auto& [key, value] : resource_.attributes) {
        common::KeyValue* kv = resource->mutable_resource()->add_attributes();
        kv->set_key(key);
        kv->mutable_value()->set_string_value(value);
    }
    resource->set_schema_url(resource_.schemaUrl);
    metrics::ScopeMetrics* scope = resource->add_scope_metrics();
    scope->mutable_scope()->set_name("opampsupervisor");
    scope->mutable_scope()->set_version(kVersion);
    const telemetry::OwnMetrics& m = *metrics_;
    RequestBuilder build(*scope, unixNanos(started_), unixNanos(std::chrono::system_clock::now()));
    build.gauge("opampsupervisor.collector.healthy", "Whether the collector reports healthy",
                m.collectorHealthy.load() ? 1 : 0);
    build.sum("opampsupervisor.collector.restarts", "Starts of the collector after the first",
              {{afterFirst(m.collectorStarts), {}}});
    build.sum("opampsupervisor.config.applies", "Remote configs applied or failed",
              {{count(m.configsApplied), {{"outcome", "applied"}}},
               {count(m.configsFailed), {{"outcome", "failed"}}}});
    build.gauge("opampsupervisor.opamp.connected", "Whether the OpAMP server is connected",
                m.opampConnected.load() ? 1 : 0);
    build.sum("opampsupervisor.opamp.reconnects", "Connections to the OpAMP server after the first",
              {{afterFirst(m.opampConnects), {}}});
    build.sum("opampsupervisor.opamp.messages", "OpAMP messages sent and received",
              {{count(m.messagesSent), {{"direction", "sent"}}},
               {count(m.messagesReceived), {{"direction", "received"}}}});
    build.sum("opampsupervisor.package.installs", "Package installs by outcome",
              {{count(m.packagesInstalled), {{"outcome", "installed"}}},
               {count(m.packagesFailed), {{"outcome", "failed"}}}});
    return out.SerializeAsString();
}

}  // namespace opampsup::otlp
