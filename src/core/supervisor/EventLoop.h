#pragma once

// The one thread that owns the supervisor's state. Other threads (transports, the local
// server, process watchers) never touch that state: they post tasks here, and timers fire
// here too. post(), postAfter(), cancel() and stop() may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "core/supervisor/Scheduler.h"

namespace opampsup::supervisor {

class EventLoop : public Scheduler {
  public:
    void post(Task task) override;
    TimerId postAfter(Clock::duration delay, Task task) override;
    // A timer that has not fired yet will not; cancelling a fired or unknown timer is a no-op.
    void cancel(TimerId timer) override;

    // Runs tasks and timers on the calling thread until stop().
    void run();
    // run() returns after the task in progress; tasks still queued are dropped.
    void stop();

    bool inLoopThread() const { return std::this_thread::get_id() == loopThread_; }

  private:
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Task> tasks_;
    std::multimap<Clock::time_point, std::pair<TimerId, Task>> timers_;
    TimerId nextTimer_ = 1;
    bool stopping_ = false;
    std::thread::id loopThread_;
};

}  // namespace opampsup::supervisor
