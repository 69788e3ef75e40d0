#pragma once

// Reconnect delays: exponential growth with "full jitter" (a uniformly random delay between
// zero and the current ceiling), so a fleet that lost its server does not reconnect in
// lock-step. A server's explicit retry hint (Retry-After, retry_info) takes precedence
// and is never shortened.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

namespace opampsup::opamp {

class Backoff {
  public:
    using Duration = std::chrono::milliseconds;
    // Returns a uniformly distributed number in [0, 1); injectable for deterministic tests.
    using UnitRandom = std::function<double()>;

    struct Options {
        Duration initial{1000};
        Duration max{std::chrono::minutes(5)};
        double multiplier = 2.0;
    };

    Backoff(Options options, UnitRandom random);

    // The delay before the next attempt; grows the ceiling for the one after.
    Duration next();

    // The delay before the next attempt when the server said how long to wait: the hint
    // itself, or the jittered delay when that is longer. Grows the ceiling too.
    Duration nextWithHint(Duration serverHint);

    // After a successful connection: start again from the initial ceiling.
    void reset();

    Duration currentCeiling() const { return ceiling_; }
    std::uint32_t attempts() const { return attempts_; }

  private:
    Options options_;
    UnitRandom random_;
    Duration ceiling_;
    std::uint32_t attempts_ = 0;
};

// A random source for Backoff seeded from the OS.
Backoff::UnitRandom systemUnitRandom();

}  // namespace opampsup::opamp
