#pragma once

// Component status as the collector tracks it and the opamp extension reports it: each
// component instance has a status event; statuses aggregate per pipeline ("pipeline:<id>",
// extensions under "extensions") and overall, with the contrib status aggregator's rules
// (lifecycle states first, then permanent before recoverable errors; an error keeps the
// time it first happened).

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "opamp.pb.h"

namespace opampsup::standin {

enum class Status {
    None,
    Starting,
    Ok,
    RecoverableError,
    PermanentError,
    FatalError,
    Stopping,
    Stopped
};

std::string_view statusName(Status status);  // "StatusOK", ...

class HealthModel {
  public:
    using Clock = std::chrono::system_clock;

    // Adds a component instance ("receiver:otlp") to a scope ("pipeline:traces",
    // "extensions"); it starts in StatusNone.
    void add(const std::string& scope, const std::string& component);
    // Sets the status of a component in every scope it is in.
    void record(const std::string& component, Status status, std::string error = {});
    void recordAll(Status status);

    // The ComponentHealth tree; healthy is true only for StatusOK.
    ::opamp::proto::ComponentHealth toProto(std::uint64_t startTimeUnixNano) const;

  private:
    struct Event {
        Status status = Status::None;
        std::string error;
        Clock::time_point time{};
    };

    static Event aggregate(const std::map<std::string, Event>& members);

    std::map<std::string, std::map<std::string, Event>> scopes_;
};

}  // namespace opampsup::standin
