#pragma once

// The collector's run loop: start the service for the loaded config, then wait for a stop
// signal (SIGINT, SIGTERM: shut down, exit 0), SIGHUP (reload the config files; a bad
// config ends the process with an error, as the collector does) or a component's fatal
// error (shut down, exit 0). One event loop thread does all of it.

#include <memory>
#include <optional>
#include <string>

#include "Cli.h"
#include "FeatureGates.h"
#include "Os.h"
#include "Service.h"
#include "core/supervisor/EventLoop.h"
#include "core/telemetry/Logger.h"

namespace opampsup::standin {

class Collector {
  public:
    Collector(CliRequest request, FeatureGates gates);

    // Returns the error to print after "Error: ", or nullopt after a clean shutdown.
    std::optional<std::string> run();

  private:
    std::optional<std::string> setup();
    void onSignal(os::Signal signal);
    void reload();
    void finish(std::optional<std::string> error);

    CliRequest request_;
    FeatureGates gates_;
    supervisor::EventLoop loop_;
    std::optional<telemetry::Logger> logger_;
    std::unique_ptr<Service> service_;
    std::optional<std::string> result_;
    bool finished_ = false;
};

}  // namespace opampsup::standin
