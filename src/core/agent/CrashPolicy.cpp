#include "core/agent/CrashPolicy.h"

#include <algorithm>
#include <cmath>

namespace opampsup::agent {

CrashPolicy::CrashPolicy(Options options, std::function<double()> random)
    : options_(options), random_(std::move(random)) {}

void CrashPolicy::started(Clock::time_point at) {
    startedAt_ = at;
    running_ = true;
}

CrashPolicy::Decision CrashPolicy::crashed(Clock::time_point at) {
    if (running_ && at - startedAt_ >= options_.resetAfter) {
        failures_ = 0;
    }
    running_ = false;
    ++failures_;
    double step = static_cast<double>(options_.initial.count()) *
                  std::pow(options_.multiplier, static_cast<double>(failures_ - 1));
    step = std::min(step, static_cast<double>(options_.max.count()));
    double jitter = std::clamp(random_(), 0.0, 1.0);
    auto delay = static_cast<std::int64_t>(step / 2.0 + step / 2.0 * jitter);
    return {std::chrono::milliseconds(delay), failures_};
}

void CrashPolicy::reset() {
    failures_ = 0;
    running_ = false;
}

std::string CrashPolicy::describe(const Decision& decision) {
    auto ms = decision.delay.count();
    std::string when =
        ms < 1000 ? std::to_string(ms) + " ms" : std::to_string((ms + 500) / 1000) + " s";
    return "restarting in " + when + ", attempt " + std::to_string(decision.attempt);
}

}  // namespace opampsup::agent
