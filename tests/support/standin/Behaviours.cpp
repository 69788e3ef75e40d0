#include "Behaviours.h"

#include <cstring>

#include "Os.h"
#include "core/config/Duration.h"

namespace opampsup::standin {

StandinReceiver::StandinReceiver(supervisor::EventLoop& loop, std::string id,
                                 StandinReceiverSettings settings, telemetry::Logger logger,
                                 Hooks hooks)
    : loop_(loop),
      id_(std::move(id)),
      settings_(settings),
      logger_(std::move(logger)),
      hooks_(std::move(hooks)) {}

StandinReceiver::~StandinReceiver() {
    shutdown();
}

supervisor::EventLoop::TimerId StandinReceiver::schedule(std::chrono::nanoseconds delay,
                                                         std::function<void()> task) {
    return loop_.postAfter(
        std::chrono::duration_cast<supervisor::EventLoop::Clock::duration>(delay),
        [alive = std::weak_ptr<bool>(alive_), task = std::move(task)] {
            if (auto a = alive.lock(); a && *a) {
                task();
            }
        });
}

void StandinReceiver::start() {
    const std::vector<telemetry::LogField> who{{"otelcol.component.id", id_},
                                               {"otelcol.component.kind", "receiver"}};
    for (std::int64_t i = 1; i <= settings_.logLines; ++i) {
        auto fields = who;
        fields.push_back({"line", std::to_string(i)});
        logger_.info("standin receiver log line", fields);
    }
    if (settings_.memoryHogMib > 0) {
        // Touch every page, so the memory is resident and not only reserved.
        hog_.resize(static_cast<std::size_t>(settings_.memoryHogMib) * 1024 * 1024);
        std::memset(hog_.data(), 0x5A, hog_.size());
        auto fields = who;
        fields.push_back({"MiB", std::to_string(settings_.memoryHogMib)});
        logger_.info("standin receiver allocated memory", fields);
    }
    if (settings_.crashAfter) {
        timers_.push_back(schedule(*settings_.crashAfter, [this] {
            os::crash("standin receiver \"" + id_ + "\" crashed: crash_after " +
                          config::formatGoDuration(*settings_.crashAfter) + " elapsed",
                      static_cast<int>(settings_.exitCode));
        }));
    }
    if (settings_.unhealthyAfter) {
        timers_.push_back(schedule(*settings_.unhealthyAfter, [this, who] {
            std::string error = "standin receiver \"" + id_ + "\" became unhealthy after " +
                                config::formatGoDuration(*settings_.unhealthyAfter);
            auto fields = who;
            fields.push_back({"error", error});
            logger_.error("Component reported an error", fields);
            if (hooks_.unhealthy) {
                hooks_.unhealthy(error);
            }
        }));
    }
    produceTimer_ = schedule(settings_.interval, [this] { produceNext(); });
}

void StandinReceiver::produceNext() {
    ++seq_;
    for (std::int64_t i = 1; i <= settings_.logLinesPerInterval; ++i) {
        logger_.info("standin receiver log line", {{"otelcol.component.id", id_},
                                                   {"otelcol.component.kind", "receiver"},
                                                   {"batch", std::to_string(seq_)},
                                                   {"line", std::to_string(i)}});
    }
    if (hooks_.produce) {
        hooks_.produce(seq_);
    }
    produceTimer_ = schedule(settings_.interval, [this] { produceNext(); });
}

void StandinReceiver::shutdown() {
    if (alive_) {
        *alive_ = false;
    }
    for (auto timer : timers_) {
        loop_.cancel(timer);
    }
    timers_.clear();
    if (produceTimer_) {
        loop_.cancel(*produceTimer_);
        produceTimer_.reset();
    }
    hog_.clear();
    hog_.shrink_to_fit();
}

}  // namespace opampsup::standin
