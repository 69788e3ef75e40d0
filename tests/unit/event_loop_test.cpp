#include <atomic>
#include <future>
#include <vector>

#include <gtest/gtest.h>

#include "core/supervisor/EventLoop.h"

namespace opampsup::supervisor {
namespace {

using namespace std::chrono_literals;

class EventLoopTest : public ::testing::Test {
  protected:
    EventLoopTest() : thread_([this] { loop_.run(); }) {}
    ~EventLoopTest() override {
        loop_.stop();
        thread_.join();
    }

    // Runs `task` on the loop and waits for it.
    template <typename F>
    auto onLoop(F task) {
        std::promise<decltype(task())> done;
        auto future = done.get_future();
        loop_.post([&] { done.set_value(task()); });
        return future.get();
    }

    EventLoop loop_;
    std::thread thread_;
};

TEST_F(EventLoopTest, RunsPostedTasksInOrderOnItsThread) {
    std::vector<int> order;
    for (int i = 0; i < 100; ++i) {
        loop_.post([&order, i] { order.push_back(i); });
    }
    std::vector<int> seen = onLoop([&] { return order; });
    ASSERT_EQ(seen.size(), 100U);
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(seen[static_cast<std::size_t>(i)], i);
    }
    EXPECT_TRUE(onLoop([&] { return loop_.inLoopThread(); }));
    EXPECT_FALSE(loop_.inLoopThread());
}

TEST_F(EventLoopTest, TimersFireInDeadlineOrder) {
    std::promise<std::vector<int>> done;
    auto result = done.get_future();
    auto order = std::make_shared<std::vector<int>>();
    loop_.postAfter(30ms, [order, &done] {
        order->push_back(3);
        done.set_value(*order);
    });
    loop_.postAfter(10ms, [order] { order->push_back(1); });
    loop_.postAfter(20ms, [order] { order->push_back(2); });
    EXPECT_EQ(result.get(), (std::vector<int>{1, 2, 3}));
}

TEST_F(EventLoopTest, CancelledTimerNeverFires) {
    std::atomic<bool> fired{false};
    EventLoop::TimerId id = loop_.postAfter(20ms, [&] { fired = true; });
    loop_.cancel(id);
    std::promise<void> later;
    loop_.postAfter(60ms, [&] { later.set_value(); });
    later.get_future().get();
    EXPECT_FALSE(fired);
    loop_.cancel(id);      // already gone: no-op
    loop_.cancel(999999);  // unknown: no-op
}

TEST_F(EventLoopTest, TasksPostedFromManyThreadsAllRun) {
    std::atomic<int> count{0};
    std::vector<std::thread> posters;
    for (int t = 0; t < 4; ++t) {
        posters.emplace_back([&] {
            for (int i = 0; i < 250; ++i) {
                loop_.post([&] { ++count; });
            }
        });
    }
    for (auto& p : posters) {
        p.join();
    }
    EXPECT_EQ(onLoop([&] { return count.load(); }), 1000);
}

}  // namespace
}  // namespace opampsup::supervisor
