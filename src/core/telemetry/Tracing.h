#pragma once

// Spans of the supervisor's own work (the bootstrap, each server message, remote config
// applies), as telemetry.traces asks. The supervisor only sees this interface; without a
// configured exporter every span is a no-op.

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/telemetry/Logger.h"

namespace opampsup::telemetry {

class Span {
  public:
    virtual ~Span() = default;
    virtual void setAttribute(const std::string& key, const std::string& value) = 0;
    // Ends the span; a non-empty error marks it failed. Ending twice changes nothing, and a
    // span destroyed without end() ends then, without error.
    virtual void end(const std::string& error = "") = 0;
    // For children: the trace and span IDs (empty for a no-op span).
    virtual std::pair<std::string, std::string> context() const = 0;
};

class Tracer {
  public:
    virtual ~Tracer() = default;
    // A root span, or a child of `parent` (a span of this tracer).
    virtual std::unique_ptr<Span> start(const std::string& name, const Span* parent = nullptr) = 0;
};

// The tracer of a supervisor with no span exporter.
std::shared_ptr<Tracer> noopTracer();

}  // namespace opampsup::telemetry
