#pragma once

// A Scheduler for unit tests: nothing runs until the test says so, and timers fire when the
// test fires them, so time-dependent logic is tested without waiting.

#include <algorithm>
#include <deque>
#include <map>
#include <optional>

#include "core/supervisor/Scheduler.h"

namespace opampsup::testing {

class ManualScheduler : public supervisor::Scheduler {
  public:
    void post(Task task) override { posted_.push_back(std::move(task)); }
    TimerId postAfter(Clock::duration delay, Task task) override {
        TimerId id = next_++;
        timers_[id] = {delay, std::move(task)};
        return id;
    }
    void cancel(TimerId timer) override { timers_.erase(timer); }

    // Runs posted tasks (and tasks they post) until none is left.
    void runPosted() {
        while (!posted_.empty()) {
            Task task = std::move(posted_.front());
            posted_.pop_front();
            task();
        }
    }
    std::size_t timerCount() const { return timers_.size(); }
    // The delay of the earliest-created pending timer.
    std::optional<Clock::duration> nextDelay() const {
        if (timers_.empty()) {
            return std::nullopt;
        }
        return timers_.begin()->second.first;
    }
    // Fires the earliest-created pending timer; false when there is none.
    bool fireNext() {
        if (timers_.empty()) {
            return false;
        }
        Task task = std::move(timers_.begin()->second.second);
        timers_.erase(timers_.begin());
        task();
        runPosted();
        return true;
    }

  private:
    std::deque<Task> posted_;
    std::map<TimerId, std::pair<Clock::duration, Task>> timers_;
    TimerId next_ = 1;
};

}  // namespace opampsup::testing
