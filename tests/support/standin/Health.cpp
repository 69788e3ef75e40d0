#include "Health.h"

#include <set>

namespace opampsup::standin {

namespace pb = ::opamp::proto;

namespace {

bool isError(Status s) {
    return s == Status::RecoverableError || s == Status::PermanentError || s == Status::FatalError;
}

std::uint64_t unixNanos(HealthModel::Clock::time_point t) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

}  // namespace

std::string_view statusName(Status status) {
    switch (status) {
        case Status::None:
            return "StatusNone";
        case Status::Starting:
            return "StatusStarting";
        case Status::Ok:
            return "StatusOK";
        case Status::RecoverableError:
            return "StatusRecoverableError";
        case Status::PermanentError:
            return "StatusPermanentError";
        case Status::FatalError:
            return "StatusFatalError";
        case Status::Stopping:
            return "StatusStopping";
        case Status::Stopped:
            return "StatusStopped";
    }
    return "StatusNone";
}

void HealthModel::add(const std::string& scope, const std::string& component) {
    scopes_[scope].emplace(component, Event{});
}

void HealthModel::record(const std::string& component, Status status, std::string error) {
    Event event{status, std::move(error), Clock::now()};
    for (auto& [scope, members] : scopes_) {
        auto it = members.find(component);
        if (it != members.end()) {
            it->second = event;
        }
    }
}

void HealthModel::recordAll(Status status) {
    Event event{status, {}, Clock::now()};
    for (auto& [scope, members] : scopes_) {
        for (auto& [component, current] : members) {
            current = event;
        }
    }
}

HealthModel::Event HealthModel::aggregate(const std::map<std::string, Event>& members) {
    std::set<Status> seen;
    for (const auto& [name, e] : members) {
        seen.insert(e.status);
    }
    Status status = Status::None;
    if (seen.size() == 1) {
        status = *seen.begin();
    } else {
        for (Status candidate :
             {Status::FatalError, Status::Starting, Status::Stopping, Status::Stopped,
              Status::PermanentError, Status::RecoverableError}) {
            if (seen.count(candidate) != 0) {
                // A mix with a stopped component is still stopping.
                status = candidate == Status::Stopped ? Status::Stopping : candidate;
                break;
            }
        }
    }
    const Event* last = nullptr;
    const Event* matching = nullptr;
    for (const auto& [name, e] : members) {
        if (last == nullptr || last->time < e.time) {
            last = &e;
        }
        if (e.status != status) {
            continue;
        }
        // An error dates from its first occurrence; a good status from its latest.
        if (matching == nullptr ||
            (isError(status) ? e.time < matching->time : e.time > matching->time)) {
            matching = &e;
        }
    }
    if (isError(status) && matching != nullptr) {
        return *matching;
    }
    if (last != nullptr && last->status == status) {
        return *last;
    }
    return Event{status, {}, last != nullptr ? last->time : Clock::time_point{}};
}

pb::ComponentHealth HealthModel::toProto(std::uint64_t startTimeUnixNano) const {
    auto fill = [](pb::ComponentHealth& h, const Event& e) {
        h.set_healthy(e.status == Status::Ok);
        h.set_status(std::string(statusName(e.status)));
        h.set_status_time_unix_nano(unixNanos(e.time));
        if (!e.error.empty()) {
            h.set_last_error(e.error);
        }
    };
    pb::ComponentHealth top;
    std::map<std::string, Event> scopeEvents;
    for (const auto& [scope, members] : scopes_) {
        if (members.empty()) {
            continue;
        }
        Event scopeEvent = aggregate(members);
        scopeEvents[scope] = scopeEvent;
        pb::ComponentHealth& s = (*top.mutable_component_health_map())[scope];
        fill(s, scopeEvent);
        for (const auto& [component, e] : members) {
            fill((*s.mutable_component_health_map())[component], e);
        }
    }
    if (scopeEvents.empty()) {
        top.set_healthy(false);
        return top;
    }
    fill(top, aggregate(scopeEvents));
    top.set_start_time_unix_nano(startTimeUnixNano);
    return top;
}

}  // namespace opampsup::standin
