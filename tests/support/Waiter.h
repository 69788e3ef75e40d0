#pragma once

// A thread-safe queue that tests wait on with a deadline, instead of sleeping.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace opampsup::testing {

template <typename T>
class Waiter {
  public:
    // Notifies under the lock: a test that pops the item may destroy the Waiter at once,
    // and a notify still running after the unlock would then touch a destroyed variable.
    void push(T value) {
        std::lock_guard<std::mutex> lock(mutex_);
        items_.push_back(std::move(value));
        cv_.notify_all();
    }

    // The oldest item, waiting up to `timeout` for one; nullopt on timeout.
    std::optional<T> pop(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!cv_.wait_for(lock, timeout, [this] { return !items_.empty(); })) {
            return std::nullopt;
        }
        T value = std::move(items_.front());
        items_.pop_front();
        return value;
    }

    std::size_t size() {
        std::lock_guard<std::mutex> lock(mutex_);
        return items_.size();
    }

  private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<T> items_;
};

}  // namespace opampsup::testing
