// Proves that proto/otlp puts every OTLP field on the wire where upstream opentelemetry-proto
// puts it, without trusting our .proto files.
//
//  * kUpstream below is a literal table written from upstream's definitions: for every message
//    of the files we carry, each field's name, number, protobuf type, repeatedness, oneof and
//    carried type, and the field numbers upstream reserves. The generated descriptors must match
//    it exactly (no missing or extra field, message, enum value or service).
//  * Messages are serialized and compared byte for byte with encodings built here from those
//    field numbers (key = field_number << 3 | wire_type), by a few small helpers that are
//    themselves checked against fully literal encodings.
//  * Bytes built by hand parse into the expected values.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/logs/v1/logs.pb.h"
#include "opentelemetry/proto/metrics/v1/metrics.pb.h"
#include "opentelemetry/proto/resource/v1/resource.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace {

namespace common = ::opentelemetry::proto::common::v1;
namespace logs = ::opentelemetry::proto::logs::v1;
namespace metrics = ::opentelemetry::proto::metrics::v1;
namespace trace = ::opentelemetry::proto::trace::v1;
namespace collogs = ::opentelemetry::proto::collector::logs::v1;
namespace colmetrics = ::opentelemetry::proto::collector::metrics::v1;
namespace coltrace = ::opentelemetry::proto::collector::trace::v1;

using FD = google::protobuf::FieldDescriptor;

// ---------------------------------------------------------------------------------------------
// Hand encoding. The wire types: 0 varint, 1 eight little-endian bytes, 2 length-delimited,
// 5 four little-endian bytes.

constexpr std::uint32_t VARINT = 0;
constexpr std::uint32_t I64 = 1;
constexpr std::uint32_t LEN = 2;
constexpr std::uint32_t I32 = 5;

std::string bytes(std::initializer_list<unsigned> values) {
    std::string out;
    for (unsigned value : values) {
        out.push_back(static_cast<char>(value));
    }
    return out;
}

std::string hex(const std::string& data) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (char c : data) {
        auto byte = static_cast<unsigned char>(c);
        out.push_back(kDigits[byte >> 4U]);
        out.push_back(kDigits[byte & 0xFU]);
        out.push_back(' ');
    }
    return out;
}

std::string varint(std::uint64_t value) {
    std::string out;
    while (value >= 0x80U) {
        out.push_back(static_cast<char>((value & 0x7FU) | 0x80U));
        value >>= 7U;
    }
    out.push_back(static_cast<char>(value));
    return out;
}

std::string littleEndian(std::uint64_t value, int size) {
    std::string out;
    for (int i = 0; i < size; ++i) {
        out.push_back(static_cast<char>(value & 0xFFU));
        value >>= 8U;
    }
    return out;
}

std::uint64_t doubleBits(double value) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
}

std::string key(std::uint32_t number, std::uint32_t wire) {
    return varint((static_cast<std::uint64_t>(number) << 3U) | wire);
}

std::string varintField(std::uint32_t number, std::uint64_t value) {
    return key(number, VARINT) + varint(value);
}

std::string fixed64Field(std::uint32_t number, std::uint64_t value) {
    return key(number, I64) + littleEndian(value, 8);
}

std::string doubleField(std::uint32_t number, double value) {
    return fixed64Field(number, doubleBits(value));
}

std::string fixed32Field(std::uint32_t number, std::uint32_t value) {
    return key(number, I32) + littleEndian(value, 4);
}

std::string lenField(std::uint32_t number, const std::string& payload) {
    return key(number, LEN) + varint(payload.size()) + payload;
}

std::uint64_t zigzag(std::int64_t value) {
    return (static_cast<std::uint64_t>(value) << 1U) ^
           static_cast<std::uint64_t>(value < 0 ? -1 : 0);
}

// KeyValue{key = 1, value = 2 AnyValue{string_value = 1}}.
std::string stringAttribute(const std::string& k, const std::string& v) {
    return lenField(1, k) + lenField(2, lenField(1, v));
}

void addStringAttribute(google::protobuf::RepeatedPtrField<common::KeyValue>* attributes,
                        const std::string& k, const std::string& v) {
    auto* kv = attributes->Add();
    kv->set_key(k);
    kv->mutable_value()->set_string_value(v);
}

const std::string kTraceId = bytes({0x5b, 0x8e, 0xfa, 0xf3, 0x6f, 0x1c, 0x4d, 0x2a, 0x9e, 0x01,
                                    0x23, 0x45, 0x67, 0x89, 0xab, 0xcd});
const std::string kSpanId = bytes({0xeb, 0x1d, 0x2c, 0x3b, 0x4a, 0x59, 0x68, 0x77});
const std::string kParentId = bytes({0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08});

// ---------------------------------------------------------------------------------------------
// The upstream table (opentelemetry-proto: common, resource, logs, metrics, trace and the three
// collector files; the collector files without their gRPC services, which we leave out).

struct FieldSpec {
    const char* name;
    int number;
    FD::Type type;
    bool repeated = false;
    const char* oneof = "";    // the oneof's name, "optional" for proto3 optional, "" for none
    const char* carries = "";  // full name of the message or enum type, "" for scalars
};

struct MessageSpec {
    const char* file;
    const char* name;  // full name
    std::vector<FieldSpec> fields;
    std::vector<int> reserved = {};
};

constexpr const char* kCommonFile = "opentelemetry/proto/common/v1/common.proto";
constexpr const char* kResourceFile = "opentelemetry/proto/resource/v1/resource.proto";
constexpr const char* kLogsFile = "opentelemetry/proto/logs/v1/logs.proto";
constexpr const char* kMetricsFile = "opentelemetry/proto/metrics/v1/metrics.proto";
constexpr const char* kTraceFile = "opentelemetry/proto/trace/v1/trace.proto";
constexpr const char* kLogsServiceFile = "opentelemetry/proto/collector/logs/v1/logs_service.proto";
constexpr const char* kMetricsServiceFile =
    "opentelemetry/proto/collector/metrics/v1/metrics_service.proto";
constexpr const char* kTraceServiceFile =
    "opentelemetry/proto/collector/trace/v1/trace_service.proto";

constexpr bool R = true;  // repeated

constexpr const char* kKeyValue = "opentelemetry.proto.common.v1.KeyValue";
constexpr const char* kAnyValue = "opentelemetry.proto.common.v1.AnyValue";
constexpr const char* kScope = "opentelemetry.proto.common.v1.InstrumentationScope";
constexpr const char* kResource = "opentelemetry.proto.resource.v1.Resource";
constexpr const char* kExemplar = "opentelemetry.proto.metrics.v1.Exemplar";
constexpr const char* kNumberPoint = "opentelemetry.proto.metrics.v1.NumberDataPoint";
constexpr const char* kTemporality = "opentelemetry.proto.metrics.v1.AggregationTemporality";
constexpr const char* kBuckets =
    "opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint.Buckets";

const std::vector<MessageSpec>& upstream() {
    static const std::vector<MessageSpec> kUpstream = {
        // common.proto
        {kCommonFile,
         kAnyValue,
         {{"string_value", 1, FD::TYPE_STRING, false, "value"},
          {"bool_value", 2, FD::TYPE_BOOL, false, "value"},
          {"int_value", 3, FD::TYPE_INT64, false, "value"},
          {"double_value", 4, FD::TYPE_DOUBLE, false, "value"},
          {"array_value", 5, FD::TYPE_MESSAGE, false, "value",
           "opentelemetry.proto.common.v1.ArrayValue"},
          {"kvlist_value", 6, FD::TYPE_MESSAGE, false, "value",
           "opentelemetry.proto.common.v1.KeyValueList"},
          {"bytes_value", 7, FD::TYPE_BYTES, false, "value"},
          {"string_value_strindex", 8, FD::TYPE_INT32, false, "value"}}},
        {kCommonFile,
         "opentelemetry.proto.common.v1.ArrayValue",
         {{"values", 1, FD::TYPE_MESSAGE, R, "", kAnyValue}}},
        {kCommonFile,
         "opentelemetry.proto.common.v1.KeyValueList",
         {{"values", 1, FD::TYPE_MESSAGE, R, "", kKeyValue}}},
        {kCommonFile,
         kKeyValue,
         {{"key", 1, FD::TYPE_STRING},
          {"value", 2, FD::TYPE_MESSAGE, false, "", kAnyValue},
          {"key_strindex", 3, FD::TYPE_INT32}}},
        {kCommonFile,
         kScope,
         {{"name", 1, FD::TYPE_STRING},
          {"version", 2, FD::TYPE_STRING},
          {"attributes", 3, FD::TYPE_MESSAGE, R, "", kKeyValue},
          {"dropped_attributes_count", 4, FD::TYPE_UINT32}}},
        {kCommonFile,
         "opentelemetry.proto.common.v1.EntityRef",
         {{"schema_url", 1, FD::TYPE_STRING},
          {"type", 2, FD::TYPE_STRING},
          {"id_keys", 3, FD::TYPE_STRING, R},
          {"description_keys", 4, FD::TYPE_STRING, R}}},

        // resource.proto
        {kResourceFile,
         kResource,
         {{"attributes", 1, FD::TYPE_MESSAGE, R, "", kKeyValue},
          {"dropped_attributes_count", 2, FD::TYPE_UINT32},
          {"entity_refs", 3, FD::TYPE_MESSAGE, R, "", "opentelemetry.proto.common.v1.EntityRef"}}},

        // logs.proto
        {kLogsFile,
         "opentelemetry.proto.logs.v1.LogsData",
         {{"resource_logs", 1, FD::TYPE_MESSAGE, R, "",
           "opentelemetry.proto.logs.v1.ResourceLogs"}}},
        {kLogsFile,
         "opentelemetry.proto.logs.v1.ResourceLogs",
         {{"resource", 1, FD::TYPE_MESSAGE, false, "", kResource},
          {"scope_logs", 2, FD::TYPE_MESSAGE, R, "", "opentelemetry.proto.logs.v1.ScopeLogs"},
          {"schema_url", 3, FD::TYPE_STRING}},
         {1000}},
        {kLogsFile,
         "opentelemetry.proto.logs.v1.ScopeLogs",
         {{"scope", 1, FD::TYPE_MESSAGE, false, "", kScope},
          {"log_records", 2, FD::TYPE_MESSAGE, R, "", "opentelemetry.proto.logs.v1.LogRecord"},
          {"schema_url", 3, FD::TYPE_STRING}}},
        {kLogsFile,
         "opentelemetry.proto.logs.v1.LogRecord",
         {{"time_unix_nano", 1, FD::TYPE_FIXED64},
          {"severity_number", 2, FD::TYPE_ENUM, false, "",
           "opentelemetry.proto.logs.v1.SeverityNumber"},
          {"severity_text", 3, FD::TYPE_STRING},
          {"body", 5, FD::TYPE_MESSAGE, false, "", kAnyValue},
          {"attributes", 6, FD::TYPE_MESSAGE, R, "", kKeyValue},
          {"dropped_attributes_count", 7, FD::TYPE_UINT32},
          {"flags", 8, FD::TYPE_FIXED32},
          {"trace_id", 9, FD::TYPE_BYTES},
          {"span_id", 10, FD::TYPE_BYTES},
          {"observed_time_unix_nano", 11, FD::TYPE_FIXED64},
          {"event_name", 12, FD::TYPE_STRING}},
         {4}},

        // metrics.proto
        {kMetricsFile,
         "opentelemetry.proto.metrics.v1.MetricsData",
         {{"resource_metrics", 1, FD::TYPE_MESSAGE, R, "",
           "opentelemetry.proto.metrics.v1.ResourceMetrics"}}},
        {kMetricsFile,
         "opentelemetry.proto.metrics.v1.ResourceMetrics",
         {{"resource", 1, FD::TYPE_MESSAGE, false, "", kResource},
          {"scope_metrics", 2, FD::TYPE_MESSAGE, R, "",
           "opentelemetry.proto.metrics.v1.ScopeMetrics"},
          {"schema_url", 3, FD::TYPE_STRING}},
         {1000}},
        {kMetricsFile,
         "opentelemetry.proto.metrics.v1.ScopeMetrics",
         {{"scope", 1, FD::TYPE_MESSAGE, false, "", kScope},
          {"metrics", 2, FD::TYPE_MESSAGE, R, "", "opentelemetry.proto.metrics.v1.Metric"},
          {"schema_url", 3, FD::TYPE_STRING}}},
        {kMetricsFile,
         "opentelemetry.proto.metrics.v1.Metric",
         {{"name", 1, FD::TYPE_STRING},
          {"description", 2, FD::TYPE_STRING},
          {"unit", 3, FD::TYPE_STRING},
          {"gauge", 5, FD::TYPE_MESSAGE, false, "data", "opentelemetry.proto.metrics.v1.Gauge"},
          {"sum", 7, FD::TYPE_MESSAGE, false, "data", "opentelemetry.proto.metrics.v1.Sum"},
          {"histogram", 9, FD::TYPE_MESSAGE, false, "data",
           "opentelemetry.proto.metrics.v1.Histogram"},
          {"exponential_histogram", 10, FD::TYPE_MESSAGE, false, "data",
           "opentelemetry.proto.metrics.v1.ExponentialHistogram"},
          {"summary", 11, FD::TYPE_MESSAGE, false, "data",
           "opentelemetry.proto.metrics.v1.Summary"},
          {"metadata", 12, FD::TYPE_MESSAGE, R, "", kKeyValue}},
         {4, 6, 8}},
        {kMetricsFile,
         "opentelemetry.proto.metrics.v1.Gauge",
         {{"data_points", 1, FD::TYPE_MESSAGE, R, "", kNumberPoint}}},
        {kMetricsFile,
         "opentelemetry.proto.metrics.v1.Sum",
         {{"data_points", 1, FD::TYPE_MESSAGE, R, "", kNumberPoint},
          {"aggregation_temporality", 2, FD::TYPE_ENUM, false, "", kTemporality},
          {"is_monotonic", 3, FD::TYPE_BOOL}}},
        {kMetricsFile,
         "opentelemetry.proto.metrics.v1.Histogram",
         {{"data_points", 1, FD::TYPE_MESSAGE, R, "",
           "opentelemetry.proto.metrics.v1.HistogramDataPoint"},
          {"aggregation_temporality", 2, FD::TYPE_ENUM, false, "", kTemporality}}},
        {kMetricsFile,
         "opentelemetry.proto.metrics.v1.ExponentialHistogram",
         {{"data_points", 1, FD::TYPE_MESSAGE, R, "",
           "opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint"},
          {"aggregation_temporality", 2, FD::TYPE_ENUM, false, "", kTemporality}}},
        {kMetricsFile,
         "opentelemetry.proto.metrics.v1.Summary",
         {{"data_points", 1, FD::TYPE_MESSAGE, R, "",
           "opentelemetry.proto.metrics.v1.SummaryDataPoint"}}},
        {kMetricsFile,
         kNumberPoint,
         {{"start_time_unix_nano", 2, FD::TYPE_FIXED64},
          {"time_unix_nano", 3, FD::TYPE_FIXED64},
          {"as_double", 4, FD::TYPE_DOUBLE, false, "value"},
          {"exemplars", 5, FD::TYPE_MESSAGE, R, "", kExemplar},
          {"as_int", 6, FD::TYPE_SFIXED64, false, "value"},
          {"attributes", 7, FD::TYPE_MESSAGE, R, "", kKeyValue},
          {"flags", 8, FD::TYPE_UINT32}},
         {1}},
        {kMetricsFile,
         "opentelemetry.proto.metrics.v1.HistogramDataPoint",
         {{"start_time_unix_nano", 2, FD::TYPE_FIXED64},
          {"time_unix_nano", 3, FD::TYPE_FIXED64},
          {"count", 4, FD::TYPE_FIXED64},
          {"sum", 5, FD::TYPE_DOUBLE, false, "optional"},
          {"bucket_counts", 6, FD::TYPE_FIXED64, R},
          {"explicit_bounds", 7, FD::TYPE_DOUBLE, R},
          {"exemplars", 8, FD::TYPE_MESSAGE, R, "", kExemplar},
          {"attributes", 9, FD::TYPE_MESSAGE, R, "", kKeyValue},
          {"flags", 10, FD::TYPE_UINT32},
          {"min", 11, FD::TYPE_DOUBLE, false, "optional"},
          {"max", 12, FD::TYPE_DOUBLE, false, "optional"}},
         {1}},
        {kMetricsFile,
         "opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint",
         {{"attributes", 1, FD::TYPE_MESSAGE, R, "", kKeyValue},
          {"start_time_unix_nano", 2, FD::TYPE_FIXED64},
          {"time_unix_nano", 3, FD::TYPE_FIXED64},
          {"count", 4, FD::TYPE_FIXED64},
          {"sum", 5, FD::TYPE_DOUBLE, false, "optional"},
          {"scale", 6, FD::TYPE_SINT32},
          {"zero_count", 7, FD::TYPE_FIXED64},
          {"positive", 8, FD::TYPE_MESSAGE, false, "", kBuckets},
          {"negative", 9, FD::TYPE_MESSAGE, false, "", kBuckets},
          {"flags", 10, FD::TYPE_UINT32},
          {"exemplars", 11, FD::TYPE_MESSAGE, R, "", kExemplar},
          {"min", 12, FD::TYPE_DOUBLE, false, "optional"},
          {"max", 13, FD::TYPE_DOUBLE, false, "optional"},
          {"zero_threshold", 14, FD::TYPE_DOUBLE}}},
        {kMetricsFile,
         kBuckets,
         {{"offset", 1, FD::TYPE_SINT32}, {"bucket_counts", 2, FD::TYPE_UINT64, R}}},
        {kMetricsFile,
         "opentelemetry.proto.metrics.v1.SummaryDataPoint",
         {{"start_time_unix_nano", 2, FD::TYPE_FIXED64},
          {"time_unix_nano", 3, FD::TYPE_FIXED64},
          {"count", 4, FD::TYPE_FIXED64},
          {"sum", 5, FD::TYPE_DOUBLE},
          {"quantile_values", 6, FD::TYPE_MESSAGE, R, "",
           "opentelemetry.proto.metrics.v1.SummaryDataPoint.ValueAtQuantile"},
          {"attributes", 7, FD::TYPE_MESSAGE, R, "", kKeyValue},
          {"flags", 8, FD::TYPE_UINT32}},
         {1}},
        {kMetricsFile,
         "opentelemetry.proto.metrics.v1.SummaryDataPoint.ValueAtQuantile",
         {{"quantile", 1, FD::TYPE_DOUBLE}, {"value", 2, FD::TYPE_DOUBLE}}},
        {kMetricsFile,
         kExemplar,
         {{"time_unix_nano", 2, FD::TYPE_FIXED64},
          {"as_double", 3, FD::TYPE_DOUBLE, false, "value"},
          {"span_id", 4, FD::TYPE_BYTES},
          {"trace_id", 5, FD::TYPE_BYTES},
          {"as_int", 6, FD::TYPE_SFIXED64, false, "value"},
          {"filtered_attributes", 7, FD::TYPE_MESSAGE, R, "", kKeyValue}},
         {1}},

        // trace.proto
        {kTraceFile,
         "opentelemetry.proto.trace.v1.TracesData",
         {{"resource_spans", 1, FD::TYPE_MESSAGE, R, "",
           "opentelemetry.proto.trace.v1.ResourceSpans"}}},
        {kTraceFile,
         "opentelemetry.proto.trace.v1.ResourceSpans",
         {{"resource", 1, FD::TYPE_MESSAGE, false, "", kResource},
          {"scope_spans", 2, FD::TYPE_MESSAGE, R, "", "opentelemetry.proto.trace.v1.ScopeSpans"},
          {"schema_url", 3, FD::TYPE_STRING}},
         {1000}},
        {kTraceFile,
         "opentelemetry.proto.trace.v1.ScopeSpans",
         {{"scope", 1, FD::TYPE_MESSAGE, false, "", kScope},
          {"spans", 2, FD::TYPE_MESSAGE, R, "", "opentelemetry.proto.trace.v1.Span"},
          {"schema_url", 3, FD::TYPE_STRING}}},
        {kTraceFile,
         "opentelemetry.proto.trace.v1.Span",
         {{"trace_id", 1, FD::TYPE_BYTES},
          {"span_id", 2, FD::TYPE_BYTES},
          {"trace_state", 3, FD::TYPE_STRING},
          {"parent_span_id", 4, FD::TYPE_BYTES},
          {"name", 5, FD::TYPE_STRING},
          {"kind", 6, FD::TYPE_ENUM, false, "", "opentelemetry.proto.trace.v1.Span.SpanKind"},
          {"start_time_unix_nano", 7, FD::TYPE_FIXED64},
          {"end_time_unix_nano", 8, FD::TYPE_FIXED64},
          {"attributes", 9, FD::TYPE_MESSAGE, R, "", kKeyValue},
          {"dropped_attributes_count", 10, FD::TYPE_UINT32},
          {"events", 11, FD::TYPE_MESSAGE, R, "", "opentelemetry.proto.trace.v1.Span.Event"},
          {"dropped_events_count", 12, FD::TYPE_UINT32},
          {"links", 13, FD::TYPE_MESSAGE, R, "", "opentelemetry.proto.trace.v1.Span.Link"},
          {"dropped_links_count", 14, FD::TYPE_UINT32},
          {"status", 15, FD::TYPE_MESSAGE, false, "", "opentelemetry.proto.trace.v1.Status"},
          {"flags", 16, FD::TYPE_FIXED32}}},
        {kTraceFile,
         "opentelemetry.proto.trace.v1.Span.Event",
         {{"time_unix_nano", 1, FD::TYPE_FIXED64},
          {"name", 2, FD::TYPE_STRING},
          {"attributes", 3, FD::TYPE_MESSAGE, R, "", kKeyValue},
          {"dropped_attributes_count", 4, FD::TYPE_UINT32}}},
        {kTraceFile,
         "opentelemetry.proto.trace.v1.Span.Link",
         {{"trace_id", 1, FD::TYPE_BYTES},
          {"span_id", 2, FD::TYPE_BYTES},
          {"trace_state", 3, FD::TYPE_STRING},
          {"attributes", 4, FD::TYPE_MESSAGE, R, "", kKeyValue},
          {"dropped_attributes_count", 5, FD::TYPE_UINT32},
          {"flags", 6, FD::TYPE_FIXED32}}},
        {kTraceFile,
         "opentelemetry.proto.trace.v1.Status",
         {{"message", 2, FD::TYPE_STRING},
          {"code", 3, FD::TYPE_ENUM, false, "", "opentelemetry.proto.trace.v1.Status.StatusCode"}},
         {1}},

        // The collector files: the export messages only.
        {kLogsServiceFile,
         "opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest",
         {{"resource_logs", 1, FD::TYPE_MESSAGE, R, "",
           "opentelemetry.proto.logs.v1.ResourceLogs"}}},
        {kLogsServiceFile,
         "opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse",
         {{"partial_success", 1, FD::TYPE_MESSAGE, false, "",
           "opentelemetry.proto.collector.logs.v1.ExportLogsPartialSuccess"}}},
        {kLogsServiceFile,
         "opentelemetry.proto.collector.logs.v1.ExportLogsPartialSuccess",
         {{"rejected_log_records", 1, FD::TYPE_INT64}, {"error_message", 2, FD::TYPE_STRING}}},
        {kMetricsServiceFile,
         "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest",
         {{"resource_metrics", 1, FD::TYPE_MESSAGE, R, "",
           "opentelemetry.proto.metrics.v1.ResourceMetrics"}}},
        {kMetricsServiceFile,
         "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse",
         {{"partial_success", 1, FD::TYPE_MESSAGE, false, "",
           "opentelemetry.proto.collector.metrics.v1.ExportMetricsPartialSuccess"}}},
        {kMetricsServiceFile,
         "opentelemetry.proto.collector.metrics.v1.ExportMetricsPartialSuccess",
         {{"rejected_data_points", 1, FD::TYPE_INT64}, {"error_message", 2, FD::TYPE_STRING}}},
        {kTraceServiceFile,
         "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest",
         {{"resource_spans", 1, FD::TYPE_MESSAGE, R, "",
           "opentelemetry.proto.trace.v1.ResourceSpans"}}},
        {kTraceServiceFile,
         "opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse",
         {{"partial_success", 1, FD::TYPE_MESSAGE, false, "",
           "opentelemetry.proto.collector.trace.v1.ExportTracePartialSuccess"}}},
        {kTraceServiceFile,
         "opentelemetry.proto.collector.trace.v1.ExportTracePartialSuccess",
         {{"rejected_spans", 1, FD::TYPE_INT64}, {"error_message", 2, FD::TYPE_STRING}}},
    };
    return kUpstream;
}

struct EnumSpec {
    const char* file;
    const char* name;  // full name
    std::vector<std::pair<std::string, int>> values;
};

std::vector<std::pair<std::string, int>> severityNumbers() {
    std::vector<std::pair<std::string, int>> values = {{"SEVERITY_NUMBER_UNSPECIFIED", 0}};
    int number = 1;
    for (const char* level : {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}) {
        for (const char* step : {"", "2", "3", "4"}) {
            values.emplace_back(std::string("SEVERITY_NUMBER_") + level + step, number++);
        }
    }
    return values;
}

const std::vector<EnumSpec>& upstreamEnums() {
    static const std::vector<EnumSpec> kEnums = {
        {kLogsFile, "opentelemetry.proto.logs.v1.SeverityNumber", severityNumbers()},
        {kLogsFile,
         "opentelemetry.proto.logs.v1.LogRecordFlags",
         {{"LOG_RECORD_FLAGS_DO_NOT_USE", 0}, {"LOG_RECORD_FLAGS_TRACE_FLAGS_MASK", 0xFF}}},
        {kMetricsFile,
         kTemporality,
         {{"AGGREGATION_TEMPORALITY_UNSPECIFIED", 0},
          {"AGGREGATION_TEMPORALITY_DELTA", 1},
          {"AGGREGATION_TEMPORALITY_CUMULATIVE", 2}}},
        {kMetricsFile,
         "opentelemetry.proto.metrics.v1.DataPointFlags",
         {{"DATA_POINT_FLAGS_DO_NOT_USE", 0}, {"DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK", 1}}},
        {kTraceFile,
         "opentelemetry.proto.trace.v1.Span.SpanKind",
         {{"SPAN_KIND_UNSPECIFIED", 0},
          {"SPAN_KIND_INTERNAL", 1},
          {"SPAN_KIND_SERVER", 2},
          {"SPAN_KIND_CLIENT", 3},
          {"SPAN_KIND_PRODUCER", 4},
          {"SPAN_KIND_CONSUMER", 5}}},
        {kTraceFile,
         "opentelemetry.proto.trace.v1.Status.StatusCode",
         {{"STATUS_CODE_UNSET", 0}, {"STATUS_CODE_OK", 1}, {"STATUS_CODE_ERROR", 2}}},
        {kTraceFile,
         "opentelemetry.proto.trace.v1.SpanFlags",
         {{"SPAN_FLAGS_DO_NOT_USE", 0},
          {"SPAN_FLAGS_TRACE_FLAGS_MASK", 0xFF},
          {"SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK", 0x100},
          {"SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK", 0x200}}},
    };
    return kEnums;
}

// Every message and enum a file defines, nested ones included.
void collect(const google::protobuf::Descriptor* message, std::set<std::string>& messages,
             std::set<std::string>& enums) {
    messages.insert(message->full_name());
    for (int i = 0; i < message->nested_type_count(); ++i) {
        collect(message->nested_type(i), messages, enums);
    }
    for (int i = 0; i < message->enum_type_count(); ++i) {
        enums.insert(message->enum_type(i)->full_name());
    }
}

// ---------------------------------------------------------------------------------------------

TEST(OtlpProtoWire, HandEncodingHelpersMatchLiteralEncodings) {
    // From the protobuf encoding documentation: 150 in field 1, "testing" in field 2.
    EXPECT_EQ(hex(varintField(1, 150)), hex(bytes({0x08, 0x96, 0x01})));
    EXPECT_EQ(hex(lenField(2, "testing")),
              hex(bytes({0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'})));
    // Field 16 needs a two-byte key: (16 << 3) | 5 = 133 = 0x85 0x01.
    EXPECT_EQ(hex(fixed32Field(16, 0x01020304U)), hex(bytes({0x85, 0x01, 0x04, 0x03, 0x02, 0x01})));
    EXPECT_EQ(hex(fixed64Field(1, 0x0102030405060708ULL)),
              hex(bytes({0x09, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01})));
    EXPECT_EQ(hex(doubleField(4, 1.5)),  // 1.5 = 0x3FF8000000000000
              hex(bytes({0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f})));
    EXPECT_EQ(zigzag(0), 0U);
    EXPECT_EQ(zigzag(-1), 1U);
    EXPECT_EQ(zigzag(1), 2U);
    EXPECT_EQ(zigzag(-2), 3U);
}

TEST(OtlpProtoWire, LogRecordLiteralBytes) {
    logs::LogRecord record;
    record.set_time_unix_nano(1);
    record.set_severity_number(logs::SEVERITY_NUMBER_INFO);  // 9
    record.mutable_body()->set_string_value("hi");
    // 0x09 = field 1, I64; 0x10 = field 2, VARINT; 0x2a = field 5, LEN { 0x0a = field 1, LEN }.
    EXPECT_EQ(hex(record.SerializeAsString()),
              hex(bytes({0x09, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x09, 0x2a,
                         0x04, 0x0a, 0x02, 'h', 'i'})));
}

TEST(OtlpProtoWire, LogRecordEveryField) {
    logs::LogRecord record;
    record.set_time_unix_nano(1700000000123456789ULL);
    record.set_observed_time_unix_nano(1700000000223456789ULL);
    record.set_severity_number(logs::SEVERITY_NUMBER_ERROR3);  // 19
    record.set_severity_text("ERROR");
    record.mutable_body()->set_string_value("agent exited");
    addStringAttribute(record.mutable_attributes(), "exit.code", "3");
    record.set_dropped_attributes_count(2);
    record.set_flags(0x01);
    record.set_trace_id(kTraceId);
    record.set_span_id(kSpanId);
    record.set_event_name("agent.exit");

    // Written in field-number order, as protobuf's C++ serializer does.
    const std::string expected = fixed64Field(1, 1700000000123456789ULL) +   // time_unix_nano
                                 varintField(2, 19) +                        // severity_number
                                 lenField(3, "ERROR") +                      // severity_text
                                 lenField(5, lenField(1, "agent exited")) +  // body.string_value
                                 lenField(6, stringAttribute("exit.code", "3")) +  // attributes
                                 varintField(7, 2) +      // dropped_attributes_count
                                 fixed32Field(8, 0x01) +  // flags
                                 lenField(9, kTraceId) +  // trace_id
                                 lenField(10, kSpanId) +  // span_id
                                 fixed64Field(11, 1700000000223456789ULL) +  // observed_time
                                 lenField(12, "agent.exit");                 // event_name
    EXPECT_EQ(hex(record.SerializeAsString()), hex(expected));
}

TEST(OtlpProtoWire, AnyValueAlternatives) {
    common::AnyValue value;
    value.set_int_value(-1);  // int64: ten bytes, not zigzag
    EXPECT_EQ(hex(value.SerializeAsString()),
              hex(bytes({0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})));
    value.set_bool_value(true);
    EXPECT_EQ(hex(value.SerializeAsString()), hex(varintField(2, 1)));
    value.set_double_value(0.25);
    EXPECT_EQ(hex(value.SerializeAsString()), hex(doubleField(4, 0.25)));
    value.set_bytes_value(std::string("\x00\xff", 2));
    EXPECT_EQ(hex(value.SerializeAsString()), hex(lenField(7, std::string("\x00\xff", 2))));

    value.mutable_array_value()->add_values()->set_string_value("a");
    value.mutable_array_value()->add_values()->set_int_value(5);
    EXPECT_EQ(hex(value.SerializeAsString()),
              hex(lenField(5, lenField(1, lenField(1, "a")) + lenField(1, varintField(3, 5)))));

    auto* kv = value.mutable_kvlist_value()->add_values();
    kv->set_key("k");
    kv->mutable_value()->set_bool_value(true);
    EXPECT_EQ(hex(value.SerializeAsString()),
              hex(lenField(6, lenField(1, lenField(1, "k") + lenField(2, varintField(2, 1))))));

    // A oneof member set to its default is still written (it records which one is set).
    value.set_string_value("");
    EXPECT_EQ(hex(value.SerializeAsString()), hex(bytes({0x0a, 0x00})));
}

TEST(OtlpProtoWire, ExportLogsRequestNesting) {
    collogs::ExportLogsServiceRequest request;
    auto* resourceLogs = request.add_resource_logs();
    addStringAttribute(resourceLogs->mutable_resource()->mutable_attributes(), "service.name",
                       "opampsup");
    auto* scopeLogs = resourceLogs->add_scope_logs();
    scopeLogs->mutable_scope()->set_name("opampsup");
    scopeLogs->mutable_scope()->set_version("0.1.0");
    scopeLogs->add_log_records()->set_severity_text("INFO");
    scopeLogs->set_schema_url("https://opentelemetry.io/schemas/1.26.0");
    resourceLogs->set_schema_url("https://opentelemetry.io/schemas/1.26.0");

    const std::string resource = lenField(1, stringAttribute("service.name", "opampsup"));
    const std::string scope = lenField(1, "opampsup") + lenField(2, "0.1.0");
    const std::string scopeLogsBytes = lenField(1, scope) +                // scope
                                       lenField(2, lenField(3, "INFO")) +  // log_records
                                       lenField(3, "https://opentelemetry.io/schemas/1.26.0");
    const std::string resourceLogsBytes = lenField(1, resource) +        // resource
                                          lenField(2, scopeLogsBytes) +  // scope_logs
                                          lenField(3, "https://opentelemetry.io/schemas/1.26.0");
    EXPECT_EQ(hex(request.SerializeAsString()), hex(lenField(1, resourceLogsBytes)));

    // LogsData carries the same list in the same field.
    logs::LogsData data;
    *data.mutable_resource_logs() = request.resource_logs();
    EXPECT_EQ(hex(data.SerializeAsString()), hex(request.SerializeAsString()));
}

TEST(OtlpProtoWire, SpanEveryField) {
    trace::Span span;
    span.set_trace_id(kTraceId);
    span.set_span_id(kSpanId);
    span.set_trace_state("vendor=1");
    span.set_parent_span_id(kParentId);
    span.set_name("apply remote config");
    span.set_kind(trace::Span::SPAN_KIND_CLIENT);  // 3
    span.set_start_time_unix_nano(1000);
    span.set_end_time_unix_nano(2000);
    addStringAttribute(span.mutable_attributes(), "config.hash", "ab");
    span.set_dropped_attributes_count(1);
    auto* event = span.add_events();
    event->set_time_unix_nano(1500);
    event->set_name("written");
    addStringAttribute(event->mutable_attributes(), "path", "/etc/x");
    event->set_dropped_attributes_count(4);
    span.set_dropped_events_count(5);
    auto* link = span.add_links();
    link->set_trace_id(kTraceId);
    link->set_span_id(kParentId);
    link->set_trace_state("t=2");
    addStringAttribute(link->mutable_attributes(), "why", "retry");
    link->set_dropped_attributes_count(6);
    link->set_flags(static_cast<std::uint32_t>(trace::SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK |
                                               trace::SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK | 0x01));
    span.set_dropped_links_count(7);
    span.mutable_status()->set_message("boom");
    span.mutable_status()->set_code(trace::Status::STATUS_CODE_ERROR);  // 2
    span.set_flags(0x101);

    const std::string eventBytes = fixed64Field(1, 1500) + lenField(2, "written") +
                                   lenField(3, stringAttribute("path", "/etc/x")) +
                                   varintField(4, 4);
    const std::string linkBytes =
        lenField(1, kTraceId) + lenField(2, kParentId) + lenField(3, "t=2") +
        lenField(4, stringAttribute("why", "retry")) + varintField(5, 6) + fixed32Field(6, 0x301);
    const std::string expected = lenField(1, kTraceId) +               // trace_id
                                 lenField(2, kSpanId) +                // span_id
                                 lenField(3, "vendor=1") +             // trace_state
                                 lenField(4, kParentId) +              // parent_span_id
                                 lenField(5, "apply remote config") +  // name
                                 varintField(6, 3) +                   // kind
                                 fixed64Field(7, 1000) +               // start
                                 fixed64Field(8, 2000) +               // end
                                 lenField(9, stringAttribute("config.hash", "ab")) +  // attributes
                                 varintField(10, 1) +        // dropped_attributes_count
                                 lenField(11, eventBytes) +  // events
                                 varintField(12, 5) +        // dropped_events_count
                                 lenField(13, linkBytes) +   // links
                                 varintField(14, 7) +        // dropped_links_count
                                 lenField(15, lenField(2, "boom") + varintField(3, 2)) +  // status
                                 fixed32Field(16, 0x101);                                 // flags
    EXPECT_EQ(hex(span.SerializeAsString()), hex(expected));
}

TEST(OtlpProtoWire, ExportTraceRequestNesting) {
    coltrace::ExportTraceServiceRequest request;
    auto* resourceSpans = request.add_resource_spans();
    resourceSpans->mutable_resource()->set_dropped_attributes_count(1);
    auto* scopeSpans = resourceSpans->add_scope_spans();
    scopeSpans->mutable_scope()->set_name("s");
    scopeSpans->add_spans()->set_name("n");
    scopeSpans->set_schema_url("u");
    resourceSpans->set_schema_url("v");

    const std::string scopeSpansBytes =
        lenField(1, lenField(1, "s")) + lenField(2, lenField(5, "n")) + lenField(3, "u");
    EXPECT_EQ(hex(request.SerializeAsString()),
              hex(lenField(1, lenField(1, varintField(2, 1)) + lenField(2, scopeSpansBytes) +
                                  lenField(3, "v"))));
}

TEST(OtlpProtoWire, GaugeAndSumMetrics) {
    metrics::Metric gauge;
    gauge.set_name("opampsup.agent.restarts");
    gauge.set_description("d");
    gauge.set_unit("{restart}");
    auto* point = gauge.mutable_gauge()->add_data_points();
    point->set_start_time_unix_nano(10);
    point->set_time_unix_nano(20);
    point->set_as_double(1.5);
    addStringAttribute(point->mutable_attributes(), "k", "v");
    point->set_flags(static_cast<std::uint32_t>(metrics::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK));

    const std::string gaugePoint = fixed64Field(2, 10) + fixed64Field(3, 20) + doubleField(4, 1.5) +
                                   lenField(7, stringAttribute("k", "v")) + varintField(8, 1);
    EXPECT_EQ(hex(gauge.SerializeAsString()),
              hex(lenField(1, "opampsup.agent.restarts") + lenField(2, "d") +
                  lenField(3, "{restart}") + lenField(5, lenField(1, gaugePoint))));

    metrics::Metric sum;
    sum.set_name("c");
    sum.mutable_sum()->set_aggregation_temporality(metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
    sum.mutable_sum()->set_is_monotonic(true);
    auto* counter = sum.mutable_sum()->add_data_points();
    counter->set_time_unix_nano(30);
    counter->set_as_int(-2);  // sfixed64: eight bytes, two's complement
    auto* exemplar = counter->add_exemplars();
    exemplar->set_as_int(7);
    auto* metadata = sum.add_metadata();
    metadata->set_key("m");
    metadata->mutable_value()->set_int_value(1);

    const std::string sumPoint = fixed64Field(3, 30) +
                                 lenField(5, key(6, I64) + littleEndian(7, 8)) +  // exemplars
                                 key(6, I64) + littleEndian(static_cast<std::uint64_t>(-2), 8);
    EXPECT_EQ(hex(sum.SerializeAsString()),
              hex(lenField(1, "c") +
                  lenField(7, lenField(1, sumPoint) + varintField(2, 2) + varintField(3, 1)) +
                  lenField(12, lenField(1, "m") + lenField(2, varintField(3, 1)))));
}

TEST(OtlpProtoWire, HistogramPointsArePackedAndOptionalSumIsKept) {
    metrics::Metric metric;
    metric.set_name("h");
    auto* histogram = metric.mutable_histogram();
    histogram->set_aggregation_temporality(metrics::AGGREGATION_TEMPORALITY_DELTA);
    auto* point = histogram->add_data_points();
    point->set_time_unix_nano(5);
    point->set_count(3);
    point->set_sum(0.0);  // proto3 optional: written although zero
    point->add_bucket_counts(1);
    point->add_bucket_counts(2);
    point->add_explicit_bounds(0.5);
    point->set_min(-1.0);
    point->set_max(2.0);

    // Repeated scalars are packed: one LEN field holding the fixed-size values back to back.
    const std::string packedCounts = littleEndian(1, 8) + littleEndian(2, 8);
    const std::string packedBounds = littleEndian(doubleBits(0.5), 8);
    const std::string pointBytes = fixed64Field(3, 5) + fixed64Field(4, 3) + doubleField(5, 0.0) +
                                   lenField(6, packedCounts) + lenField(7, packedBounds) +
                                   doubleField(11, -1.0) + doubleField(12, 2.0);
    EXPECT_EQ(hex(metric.SerializeAsString()),
              hex(lenField(1, "h") + lenField(9, lenField(1, pointBytes) + varintField(2, 1))));

    // Without a sum the field is absent altogether.
    point->clear_sum();
    EXPECT_FALSE(point->has_sum());
    EXPECT_EQ(hex(point->SerializeAsString()),
              hex(fixed64Field(3, 5) + fixed64Field(4, 3) + lenField(6, packedCounts) +
                  lenField(7, packedBounds) + doubleField(11, -1.0) + doubleField(12, 2.0)));
}

TEST(OtlpProtoWire, ExponentialHistogramUsesZigZagAndVarints) {
    metrics::Metric metric;
    auto* point = metric.mutable_exponential_histogram()->add_data_points();
    point->set_count(4);
    point->set_scale(-1);  // sint32: zigzag 1
    point->set_zero_count(1);
    point->mutable_positive()->set_offset(-2);          // sint32: zigzag 3
    point->mutable_positive()->add_bucket_counts(300);  // uint64, packed varints
    point->mutable_positive()->add_bucket_counts(1);
    point->mutable_negative();
    point->set_zero_threshold(0.5);

    const std::string positive = varintField(1, zigzag(-2)) + lenField(2, varint(300) + varint(1));
    const std::string pointBytes = fixed64Field(4, 4) + varintField(6, zigzag(-1)) +
                                   fixed64Field(7, 1) + lenField(8, positive) + lenField(9, "") +
                                   doubleField(14, 0.5);
    EXPECT_EQ(hex(metric.SerializeAsString()), hex(lenField(10, lenField(1, pointBytes))));
}

TEST(OtlpProtoWire, SummaryAndExemplar) {
    metrics::Metric metric;
    auto* point = metric.mutable_summary()->add_data_points();
    point->set_count(2);
    point->set_sum(3.0);
    auto* quantile = point->add_quantile_values();
    quantile->set_quantile(1.0);
    quantile->set_value(2.0);
    point->set_flags(1);
    EXPECT_EQ(
        hex(metric.SerializeAsString()),
        hex(lenField(11, lenField(1, fixed64Field(4, 2) + doubleField(5, 3.0) +
                                         lenField(6, doubleField(1, 1.0) + doubleField(2, 2.0)) +
                                         varintField(8, 1)))));

    metrics::Exemplar exemplar;
    exemplar.set_time_unix_nano(9);
    exemplar.set_as_double(0.5);
    exemplar.set_span_id(kSpanId);
    exemplar.set_trace_id(kTraceId);
    addStringAttribute(exemplar.mutable_filtered_attributes(), "a", "b");
    EXPECT_EQ(hex(exemplar.SerializeAsString()),
              hex(fixed64Field(2, 9) + doubleField(3, 0.5) + lenField(4, kSpanId) +
                  lenField(5, kTraceId) + lenField(7, stringAttribute("a", "b"))));
}

TEST(OtlpProtoWire, ExportMetricsRequestNesting) {
    colmetrics::ExportMetricsServiceRequest request;
    auto* resourceMetrics = request.add_resource_metrics();
    auto* scopeMetrics = resourceMetrics->add_scope_metrics();
    scopeMetrics->mutable_scope()->set_name("s");
    scopeMetrics->add_metrics()->set_name("m");
    scopeMetrics->set_schema_url("u");
    resourceMetrics->set_schema_url("v");
    EXPECT_EQ(hex(request.SerializeAsString()),
              hex(lenField(1, lenField(2, lenField(1, lenField(1, "s")) +
                                              lenField(2, lenField(1, "m")) + lenField(3, "u")) +
                                  lenField(3, "v"))));
}

TEST(OtlpProtoWire, ResourceAndScopeFields) {
    common::InstrumentationScope scope;
    scope.set_name("n");
    scope.set_version("1");
    addStringAttribute(scope.mutable_attributes(), "a", "b");
    scope.set_dropped_attributes_count(2);
    EXPECT_EQ(hex(scope.SerializeAsString()),
              hex(lenField(1, "n") + lenField(2, "1") + lenField(3, stringAttribute("a", "b")) +
                  varintField(4, 2)));

    opentelemetry::proto::resource::v1::Resource resource;
    resource.set_dropped_attributes_count(3);
    auto* ref = resource.add_entity_refs();
    ref->set_schema_url("s");
    ref->set_type("service");
    ref->add_id_keys("service.name");
    ref->add_description_keys("service.version");
    EXPECT_EQ(hex(resource.SerializeAsString()),
              hex(varintField(2, 3) +
                  lenField(3, lenField(1, "s") + lenField(2, "service") +
                                  lenField(3, "service.name") + lenField(4, "service.version"))));
}

TEST(OtlpProtoWire, ParsesAHandBuiltLogsRequest) {
    const std::string record =
        fixed64Field(1, 42) + varintField(2, 13) +
        lenField(5, lenField(6, lenField(1, lenField(1, "k") + lenField(2, varintField(3, 7))))) +
        lenField(9, kTraceId) + lenField(10, kSpanId) + fixed64Field(11, 43) + lenField(12, "e");
    const std::string wire =
        lenField(1, lenField(1, lenField(1, stringAttribute("service.name", "x"))) +
                        lenField(2, lenField(1, lenField(1, "scope")) + lenField(2, record)));

    collogs::ExportLogsServiceRequest request;
    ASSERT_TRUE(request.ParseFromString(wire));
    ASSERT_EQ(request.resource_logs_size(), 1);
    const auto& resourceLogs = request.resource_logs(0);
    ASSERT_EQ(resourceLogs.resource().attributes_size(), 1);
    EXPECT_EQ(resourceLogs.resource().attributes(0).key(), "service.name");
    EXPECT_EQ(resourceLogs.resource().attributes(0).value().string_value(), "x");
    ASSERT_EQ(resourceLogs.scope_logs_size(), 1);
    EXPECT_EQ(resourceLogs.scope_logs(0).scope().name(), "scope");
    ASSERT_EQ(resourceLogs.scope_logs(0).log_records_size(), 1);
    const auto& parsed = resourceLogs.scope_logs(0).log_records(0);
    EXPECT_EQ(parsed.time_unix_nano(), 42U);
    EXPECT_EQ(parsed.severity_number(), logs::SEVERITY_NUMBER_WARN);
    ASSERT_TRUE(parsed.body().has_kvlist_value());
    ASSERT_EQ(parsed.body().kvlist_value().values_size(), 1);
    EXPECT_EQ(parsed.body().kvlist_value().values(0).key(), "k");
    EXPECT_EQ(parsed.body().kvlist_value().values(0).value().int_value(), 7);
    EXPECT_EQ(parsed.trace_id(), kTraceId);
    EXPECT_EQ(parsed.span_id(), kSpanId);
    EXPECT_EQ(parsed.observed_time_unix_nano(), 43U);
    EXPECT_EQ(parsed.event_name(), "e");
    // And it encodes back to the very same bytes.
    EXPECT_EQ(hex(request.SerializeAsString()), hex(wire));
}

TEST(OtlpProtoWire, ParsesPartialSuccessReplies) {
    // { partial_success (1) { rejected_<signal> (1) = 3, error_message (2) = "bad" } }
    const std::string reply = lenField(1, varintField(1, 3) + lenField(2, "bad"));

    collogs::ExportLogsServiceResponse logsReply;
    ASSERT_TRUE(logsReply.ParseFromString(reply));
    EXPECT_EQ(logsReply.partial_success().rejected_log_records(), 3);
    EXPECT_EQ(logsReply.partial_success().error_message(), "bad");

    colmetrics::ExportMetricsServiceResponse metricsReply;
    ASSERT_TRUE(metricsReply.ParseFromString(reply));
    EXPECT_EQ(metricsReply.partial_success().rejected_data_points(), 3);
    EXPECT_EQ(metricsReply.partial_success().error_message(), "bad");

    coltrace::ExportTraceServiceResponse traceReply;
    ASSERT_TRUE(traceReply.ParseFromString(reply));
    EXPECT_EQ(traceReply.partial_success().rejected_spans(), 3);
    EXPECT_EQ(traceReply.partial_success().error_message(), "bad");

    // An empty body is a full success.
    collogs::ExportLogsServiceResponse empty;
    ASSERT_TRUE(empty.ParseFromString(""));
    EXPECT_FALSE(empty.has_partial_success());

    // Fields a newer server adds are skipped, not an error.
    ASSERT_TRUE(logsReply.ParseFromString(varintField(99, 1) + reply));
    EXPECT_EQ(logsReply.partial_success().rejected_log_records(), 3);
}

TEST(OtlpProtoWire, GeneratedDescriptorsMatchTheUpstreamTable) {
    const auto* pool = google::protobuf::DescriptorPool::generated_pool();
    for (const auto& spec : upstream()) {
        const auto* descriptor = pool->FindMessageTypeByName(spec.name);
        ASSERT_NE(descriptor, nullptr) << spec.name;
        EXPECT_EQ(descriptor->file()->name(), spec.file) << spec.name;
        EXPECT_EQ(static_cast<std::size_t>(descriptor->field_count()), spec.fields.size())
            << spec.name;
        for (const auto& field : spec.fields) {
            const std::string where = std::string(spec.name) + "." + field.name;
            const auto* fd = descriptor->FindFieldByNumber(field.number);
            if (fd == nullptr) {
                ADD_FAILURE() << where << ": no field " << field.number;
                continue;
            }
            EXPECT_EQ(fd->name(), field.name) << spec.name << " field " << field.number;
            EXPECT_EQ(fd->type(), field.type) << where;
            EXPECT_EQ(fd->is_repeated(), field.repeated) << where;
            const std::string oneof = field.oneof;
            if (oneof == "optional") {
                EXPECT_TRUE(fd->has_optional_keyword()) << where;
            } else if (oneof.empty()) {
                EXPECT_EQ(fd->real_containing_oneof(), nullptr) << where;
                EXPECT_FALSE(fd->has_optional_keyword()) << where;
            } else {
                ASSERT_NE(fd->real_containing_oneof(), nullptr) << where;
                EXPECT_EQ(fd->real_containing_oneof()->name(), oneof) << where;
            }
            if (fd->type() == FD::TYPE_MESSAGE) {
                EXPECT_EQ(fd->message_type()->full_name(), field.carries) << where;
            } else if (fd->type() == FD::TYPE_ENUM) {
                EXPECT_EQ(fd->enum_type()->full_name(), field.carries) << where;
            } else {
                EXPECT_STREQ(field.carries, "") << where;
            }
            // Repeated numbers are packed in proto3, as upstream's are.
            if (fd->is_repeated() && fd->cpp_type() != FD::CPPTYPE_STRING &&
                fd->cpp_type() != FD::CPPTYPE_MESSAGE) {
                EXPECT_TRUE(fd->is_packed()) << where;
            }
        }
        std::set<int> reserved;
        for (int i = 0; i < descriptor->reserved_range_count(); ++i) {
            const auto* range = descriptor->reserved_range(i);
            for (int n = range->start; n < range->end; ++n) {
                reserved.insert(n);
            }
        }
        EXPECT_EQ(reserved, std::set<int>(spec.reserved.begin(), spec.reserved.end())) << spec.name;
    }
}

TEST(OtlpProtoWire, EnumValuesMatchUpstream) {
    const auto* pool = google::protobuf::DescriptorPool::generated_pool();
    for (const auto& spec : upstreamEnums()) {
        const auto* descriptor = pool->FindEnumTypeByName(spec.name);
        ASSERT_NE(descriptor, nullptr) << spec.name;
        EXPECT_EQ(descriptor->file()->name(), spec.file) << spec.name;
        EXPECT_EQ(static_cast<std::size_t>(descriptor->value_count()), spec.values.size())
            << spec.name;
        for (const auto& [name, number] : spec.values) {
            const auto* value = descriptor->FindValueByName(name);
            ASSERT_NE(value, nullptr) << spec.name << "." << name;
            EXPECT_EQ(value->number(), number) << spec.name << "." << name;
        }
    }
    EXPECT_EQ(logs::SEVERITY_NUMBER_FATAL4, 24);
    EXPECT_EQ(trace::SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK, 0x200);
}

TEST(OtlpProtoWire, FilesHoldExactlyTheTableAndNoServices) {
    const auto* pool = google::protobuf::DescriptorPool::generated_pool();
    const std::vector<std::pair<const char*, const char*>> files = {
        {kCommonFile, "opentelemetry.proto.common.v1"},
        {kResourceFile, "opentelemetry.proto.resource.v1"},
        {kLogsFile, "opentelemetry.proto.logs.v1"},
        {kMetricsFile, "opentelemetry.proto.metrics.v1"},
        {kTraceFile, "opentelemetry.proto.trace.v1"},
        {kLogsServiceFile, "opentelemetry.proto.collector.logs.v1"},
        {kMetricsServiceFile, "opentelemetry.proto.collector.metrics.v1"},
        {kTraceServiceFile, "opentelemetry.proto.collector.trace.v1"},
    };
    for (const auto& [file, package] : files) {
        const auto* fd = pool->FindFileByName(file);
        ASSERT_NE(fd, nullptr) << file;
        EXPECT_EQ(fd->package(), package) << file;
        EXPECT_EQ(fd->syntax(), google::protobuf::FileDescriptor::SYNTAX_PROTO3) << file;
        EXPECT_EQ(fd->service_count(), 0) << file;  // no gRPC

        std::set<std::string> messages;
        std::set<std::string> enums;
        for (int i = 0; i < fd->message_type_count(); ++i) {
            collect(fd->message_type(i), messages, enums);
        }
        for (int i = 0; i < fd->enum_type_count(); ++i) {
            enums.insert(fd->enum_type(i)->full_name());
        }
        std::set<std::string> expectedMessages;
        for (const auto& spec : upstream()) {
            if (std::string(spec.file) == file) {
                expectedMessages.insert(spec.name);
            }
        }
        std::set<std::string> expectedEnums;
        for (const auto& spec : upstreamEnums()) {
            if (std::string(spec.file) == file) {
                expectedEnums.insert(spec.name);
            }
        }
        EXPECT_EQ(messages, expectedMessages) << file;
        EXPECT_EQ(enums, expectedEnums) << file;
    }
}

}  // namespace
