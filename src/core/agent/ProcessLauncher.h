#pragma once

// The Launcher that starts real processes through the platform backend.

#include "core/agent/Launcher.h"

namespace opampsup::agent {

class ProcessLauncher : public Launcher {
  public:
    std::unique_ptr<RunningCollector> launch(const LaunchSpec& spec,
                                             LaunchCallbacks callbacks) override;
};

}  // namespace opampsup::agent
