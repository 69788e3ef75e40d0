#include "core/supervisor/EventLoop.h"

namespace opampsup::supervisor {

void EventLoop::post(Task task) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        tasks_.push_back(std::move(task));
    }
    wake_.notify_one();
}

EventLoop::TimerId EventLoop::postAfter(Clock::duration delay, Task task) {
    TimerId id = 0;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        id = nextTimer_++;
        timers_.emplace(Clock::now() + delay, std::make_pair(id, std::move(task)));
    }
    wake_.notify_one();
    return id;
}

void EventLoop::cancel(TimerId timer) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
        if (it->second.first == timer) {
            timers_.erase(it);
            return;
        }
    }
}

void EventLoop::run() {
    loopThread_ = std::this_thread::get_id();
    std::unique_lock<std::mutex> lock(mutex_);
    stopping_ = false;
    while (!stopping_) {
        if (!tasks_.empty()) {
            Task task = std::move(tasks_.front());
            tasks_.pop_front();
            lock.unlock();
            task();
            lock.lock();
            continue;
        }
        if (!timers_.empty() && timers_.begin()->first <= Clock::now()) {
            Task task = std::move(timers_.begin()->second.second);
            timers_.erase(timers_.begin());
            lock.unlock();
            task();
            lock.lock();
            continue;
        }
        if (timers_.empty()) {
            wake_.wait(lock);
        } else {
            wake_.wait_until(lock, timers_.begin()->first);
        }
    }
    tasks_.clear();
}

void EventLoop::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
}

}  // namespace opampsup::supervisor
