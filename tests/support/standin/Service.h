#pragma once

// One running configuration, as the collector's service: it starts the extensions, tells
// them the config, starts the pipelines' components, reports "ready", and moves data from
// the standin receivers through the pipelines (and connectors) to the file exporters. It
// keeps the component statuses the opamp extension reports. A reload replaces the whole
// Service. Runs on the event loop.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "Behaviours.h"
#include "ConfigModel.h"
#include "FileExporter.h"
#include "Health.h"
#include "OpampExtension.h"
#include "core/supervisor/EventLoop.h"
#include "core/telemetry/Logger.h"

namespace opampsup::standin {

class Service {
  public:
    struct Callbacks {
        // A component reported a fatal error: the collector shuts down.
        std::function<void(const std::string& error)> fatalError;
        // The start failed after it had been delayed (slow_start); the collector exits.
        std::function<void(const std::string& error)> startFailed;
    };

    Service(supervisor::EventLoop& loop, CollectorConfig config, telemetry::Logger logger,
            Callbacks callbacks);
    ~Service();
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    // Starts now, or after the longest slow_start. The error when it fails at once.
    std::optional<std::string> start();
    void shutdown();

    // Some standin receiver in a pipeline has ignore_stop_signal set.
    bool ignoresStopSignals() const;

  private:
    std::optional<std::string> startComponents();
    void deliver(const PipelineConfig& pipeline, const std::string& receiver, std::uint64_t seq,
                 int depth);
    void publishHealth();
    AgentIdentity identity() const;
    std::vector<std::string> usedIds(Kind kind) const;

    supervisor::EventLoop& loop_;
    CollectorConfig config_;
    telemetry::Logger logger_;
    Callbacks callbacks_;
    HealthModel health_;
    std::uint64_t readySinceUnixNano_ = 0;
    bool started_ = false;
    bool stopped_ = false;
    std::optional<supervisor::EventLoop::TimerId> slowStartTimer_;

    std::vector<std::pair<std::string, std::unique_ptr<OpampExtension>>> extensions_;
    std::map<std::string, std::unique_ptr<StandinReceiver>> receivers_;
    std::map<std::string, std::unique_ptr<FileExporter>> exporters_;
};

}  // namespace opampsup::standin
