#pragma once

// The contrib `opamp` extension at run time: an OpAMP agent that reports the collector's
// description, health, effective config and available components to the server in
// `server.ws.endpoint` (the supervisor's local server), and watches `ppid`. The OpAMP
// client itself (state, sequencing, reconnects, ReportFullState) is the project's
// opamp::Client.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "ComponentSettings.h"
#include "core/opamp/Client.h"
#include "core/supervisor/EventLoop.h"
#include "core/telemetry/Logger.h"
#include "opamp.pb.h"

namespace opampsup::standin {

// The service's resource, which the extension takes its identity from.
struct AgentIdentity {
    std::string serviceName;
    std::string serviceVersion;
    std::map<std::string, std::string> resource;  // every resource attribute
};

class OpampExtension {
  public:
    OpampExtension(supervisor::EventLoop& loop, std::string id, OpampExtensionSettings settings,
                   AgentIdentity identity, telemetry::Logger logger,
                   std::function<void(const std::string& error)> fatalError);
    ~OpampExtension();
    OpampExtension(const OpampExtension&) = delete;
    OpampExtension& operator=(const OpampExtension&) = delete;

    void start();
    // Before start(): the extension never connects to its server (opamp_never_connects).
    void neverConnect() { neverConnect_ = true; }
    // The collector's config, reported as the effective config (ConfigWatcher).
    void notifyConfig(const std::string& yaml);
    // The service's aggregated component status.
    void setHealth(const ::opamp::proto::ComponentHealth& health);
    // Sends what is pending and then AgentDisconnect, and closes the connection.
    void shutdown();

    // The extension's custom message API (opampcustommessages): a component registers a
    // capability, which is reported in custom_capabilities, receives the messages of that
    // capability, and sends its own.
    void registerCustomCapability(
        const std::string& capability,
        std::function<void(const ::opamp::proto::CustomMessage&)> onMessage);
    void sendCustomMessage(const ::opamp::proto::CustomMessage& message);

    const opamp::Uuid& instanceUid() const { return uid_; }

  private:
    std::uint64_t capabilities() const;
    ::opamp::proto::AgentDescription description() const;
    void watchParent();

    supervisor::EventLoop& loop_;
    std::string id_;
    OpampExtensionSettings settings_;
    AgentIdentity identity_;
    telemetry::Logger logger_;
    std::function<void(const std::string&)> fatalError_;
    opamp::Uuid uid_;
    std::unique_ptr<opamp::Client> client_;
    std::optional<supervisor::EventLoop::TimerId> ppidTimer_;
    std::map<std::string, std::function<void(const ::opamp::proto::CustomMessage&)>> custom_;
    bool neverConnect_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace opampsup::standin
