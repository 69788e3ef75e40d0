#pragma once

// When to restart a collector that exited on its own. The delay grows exponentially from
// `initial` to `max` with each consecutive failure, with "equal jitter" (between half and
// all of the step) so a fleet does not restart in lockstep yet never restarts at once; a
// run that lasted `resetAfter` or longer counts as healthy and starts the count afresh.
// The Go supervisor waits a fixed 5 s instead.
//
// Pure logic: time and randomness come from the caller, so tests need no waiting.

#include <chrono>
#include <functional>
#include <string>

namespace opampsup::agent {

class CrashPolicy {
  public:
    using Clock = std::chrono::steady_clock;

    struct Options {
        std::chrono::milliseconds initial{std::chrono::seconds(1)};
        std::chrono::milliseconds max{std::chrono::seconds(60)};
        double multiplier = 2.0;
        std::chrono::milliseconds resetAfter{std::chrono::seconds(60)};
    };

    struct Decision {
        std::chrono::milliseconds delay{0};
        int attempt = 0;  // 1 for the first restart after a healthy run
    };

    // `random` returns a value in [0, 1).
    CrashPolicy(Options options, std::function<double()> random);

    void started(Clock::time_point at);
    Decision crashed(Clock::time_point at);
    // A deliberate stop or a new config: the next failure is the first again.
    void reset();

    int consecutiveFailures() const { return failures_; }
    const Options& options() const { return options_; }

    // "restarting in 4 s, attempt 3", for health and logs.
    static std::string describe(const Decision& decision);

  private:
    Options options_;
    std::function<double()> random_;
    Clock::time_point startedAt_{};
    bool running_ = false;
    int failures_ = 0;
};

}  // namespace opampsup::agent
