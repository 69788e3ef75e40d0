#include "core/opamp/Backoff.h"

#include <algorithm>
#include <mutex>
#include <random>

namespace opampsup::opamp {

Backoff::Backoff(Options options, UnitRandom random)
    : options_(options), random_(std::move(random)), ceiling_(options.initial) {}

Backoff::Duration Backoff::next() {
    double fraction = std::clamp(random_(), 0.0, 1.0);
    auto delay =
        Duration{static_cast<Duration::rep>(static_cast<double>(ceiling_.count()) * fraction)};
    auto grown = static_cast<double>(ceiling_.count()) * options_.multiplier;
    ceiling_ = grown >= static_cast<double>(options_.max.count())
                   ? options_.max
                   : Duration{static_cast<Duration::rep>(grown)};
    ++attempts_;
    return delay;
}

Backoff::Duration Backoff::nextWithHint(Duration serverHint) {
    return std::max(next(), serverHint);
}

void Backoff::reset() {
    ceiling_ = options_.initial;
    attempts_ = 0;
}

Backoff::UnitRandom systemUnitRandom() {
    // One engine shared by every Backoff; the mutex makes it safe from any thread.
    struct Source {
        std::mutex mutex;
        std::mt19937_64 engine{std::random_device{}()};
        std::uniform_real_distribution<double> uniform{0.0, 1.0};
    };
    static Source source;
    return [] {
        std::lock_guard<std::mutex> lock(source.mutex);
        return source.uniform(source.engine);
    };
}

}  // namespace opampsup::opamp
