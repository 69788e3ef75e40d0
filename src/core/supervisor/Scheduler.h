#pragma once

// What code running on the supervisor's loop needs to defer work: post a task, run one
// after a delay, cancel it. The EventLoop implements it; unit tests use a manual one and
// fire timers themselves, so nothing waits on a real clock.

#include <chrono>
#include <cstdint>
#include <functional>

namespace opampsup::supervisor {

class Scheduler {
  public:
    using Clock = std::chrono::steady_clock;
    using Task = std::function<void()>;
    using TimerId = std::uint64_t;

    virtual ~Scheduler() = default;
    virtual void post(Task task) = 0;
    virtual TimerId postAfter(Clock::duration delay, Task task) = 0;
    virtual void cancel(TimerId timer) = 0;
};

}  // namespace opampsup::supervisor
