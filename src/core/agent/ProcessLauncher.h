#pragma once

// The Launcher that starts real processes through the platform backend.

#include <optional>

#include "core/agent/Launcher.h"
#include "platform/account.h"

namespace opampsup::agent {

// Every run of the collector goes through here (bootstrap, validate, the real run), so with
// agent.run_as none of them runs with the supervisor's own privileges.
class ProcessLauncher : public Launcher {
  public:
    explicit ProcessLauncher(std::optional<platform::Account> runAs = std::nullopt)
        : runAs_(std::move(runAs)) {}

    std::unique_ptr<RunningCollector> launch(const LaunchSpec& spec,
                                             LaunchCallbacks callbacks) override;

  private:
    std::optional<platform::Account> runAs_;
};

}  // namespace opampsup::agent
