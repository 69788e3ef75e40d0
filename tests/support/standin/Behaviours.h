#pragma once

// The `standin` receiver at run time: it produces a batch of data every `interval` and
// misbehaves as its config asks (see StandinReceiverSettings): crash, turn unhealthy, hog
// memory, flood the log (at start, or every interval). Everything runs on the service's event loop.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ComponentSettings.h"
#include "core/supervisor/EventLoop.h"
#include "core/telemetry/Logger.h"

namespace opampsup::standin {

class StandinReceiver {
  public:
    struct Hooks {
        std::function<void(std::uint64_t seq)> produce;           // one batch, numbered from 1
        std::function<void(const std::string& error)> unhealthy;  // report a status error
    };

    StandinReceiver(supervisor::EventLoop& loop, std::string id, StandinReceiverSettings settings,
                    telemetry::Logger logger, Hooks hooks);
    ~StandinReceiver();
    StandinReceiver(const StandinReceiver&) = delete;
    StandinReceiver& operator=(const StandinReceiver&) = delete;

    void start();
    void shutdown();

    const StandinReceiverSettings& settings() const { return settings_; }

  private:
    supervisor::EventLoop::TimerId schedule(std::chrono::nanoseconds delay,
                                            std::function<void()> task);
    void produceNext();

    supervisor::EventLoop& loop_;
    std::string id_;
    StandinReceiverSettings settings_;
    telemetry::Logger logger_;
    Hooks hooks_;
    std::uint64_t seq_ = 0;
    std::vector<char> hog_;
    std::vector<supervisor::EventLoop::TimerId> timers_;  // the one-shot behaviours
    std::optional<supervisor::EventLoop::TimerId> produceTimer_;
    // Timer tasks check it, so none acts after shutdown.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace opampsup::standin
