#include "OpampExtension.h"

#include "BuildInfo.h"
#include "Components.h"
#include "Os.h"

namespace opampsup::standin {

namespace pb = ::opamp::proto;

namespace {

void addString(google::protobuf::RepeatedPtrField<pb::KeyValue>* list, const std::string& key,
               const std::string& value) {
    pb::KeyValue* kv = list->Add();
    kv->set_key(key);
    kv->mutable_value()->set_string_value(value);
}

}  // namespace

OpampExtension::OpampExtension(supervisor::EventLoop& loop, std::string id,
                               OpampExtensionSettings settings, AgentIdentity identity,
                               telemetry::Logger logger,
                               std::function<void(const std::string&)> fatalError)
    : loop_(loop),
      id_(std::move(id)),
      settings_(std::move(settings)),
      identity_(std::move(identity)),
      logger_(std::move(logger)),
      fatalError_(std::move(fatalError)) {
    // The configured UID, else the resource's service.instance.id, else a new one.
    if (auto configured = settings_.parsedInstanceUid()) {
        uid_ = *configured;
    } else if (auto it = identity_.resource.find("service.instance.id");
               it != identity_.resource.end() && parseInstanceId(it->second)) {
        uid_ = *parseInstanceId(it->second);
    } else {
        uid_ = opamp::Uuid::generateV7();
    }
}

OpampExtension::~OpampExtension() {
    shutdown();
}

std::uint64_t OpampExtension::capabilities() const {
    std::uint64_t caps = pb::AgentCapabilities_ReportsStatus;
    if (settings_.reportsEffectiveConfig) {
        caps |= pb::AgentCapabilities_ReportsEffectiveConfig;
    }
    if (settings_.reportsHealth) {
        caps |= pb::AgentCapabilities_ReportsHealth;
    }
    if (settings_.reportsAvailableComponents) {
        caps |= pb::AgentCapabilities_ReportsAvailableComponents;
    }
    return caps;
}

pb::AgentDescription OpampExtension::description() const {
    pb::AgentDescription d;
    addString(d.mutable_identifying_attributes(), "service.instance.id", uid_.toString());
    addString(d.mutable_identifying_attributes(), "service.name", identity_.serviceName);
    addString(d.mutable_identifying_attributes(), "service.version", identity_.serviceVersion);
    // Host facts, then the configured attributes, then (when asked) the resource's; sorted.
    std::map<std::string, std::string> other{{"os.type", os::osType()},
                                             {"host.arch", os::hostArch()},
                                             {"host.name", os::hostName()},
                                             {"os.description", os::osDescription()}};
    for (const auto& [key, value] : settings_.nonIdentifyingAttributes) {
        other[key] = value;
    }
    if (settings_.includeResourceAttributes) {
        for (const auto& [key, value] : identity_.resource) {
            if (key != "service.name" && key != "service.version" && key != "service.instance.id") {
                other[key] = value;
            }
        }
    }
    for (const auto& [key, value] : other) {
        addString(d.mutable_non_identifying_attributes(), key, value);
    }
    return d;
}

void OpampExtension::start() {
    if (neverConnect_) {
        logger_.warn("standin receiver keeps the opamp extension from connecting",
                     {{"otelcol.component.id", id_},
                      {"otelcol.component.kind", "extension"},
                      {"endpoint", settings_.endpoint}});
        if (settings_.ppid != 0) {
            watchParent();
        }
        return;
    }
    opamp::AgentState state(uid_, capabilities());
    state.setAgentDescription(description());
    if (settings_.reportsAvailableComponents) {
        state.setAvailableComponents(availableComponents());
    }
    if (settings_.reportsHealth) {
        // Not healthy until the pipelines are ready.
        pb::ComponentHealth initial;
        initial.set_healthy(false);
        state.setHealth(initial);
    }
    opamp::Client::Settings cs;
    cs.endpoint = settings_.endpoint;
    cs.headers = settings_.headers;
    cs.userAgent = std::string(kCommand) + "/" + version();
    if (settings_.endpoint.rfind("wss:", 0) == 0 || settings_.endpoint.rfind("https:", 0) == 0) {
        cs.tls = settings_.tls;
    }
    // The opamp-go client sends no heartbeats unless asked; HTTP polls at polling_interval.
    cs.heartbeatInterval =
        settings_.http ? std::chrono::duration_cast<std::chrono::seconds>(settings_.pollingInterval)
                       : std::chrono::seconds(0);
    // Reconnect soon: the supervisor's local server may restart at any time.
    cs.backoff = {std::chrono::milliseconds(500), std::chrono::seconds(10), 1.5};
    opamp::Client::Handlers handlers;
    handlers.newInstanceUid = [this](const opamp::Uuid& uid) { uid_ = uid; };
    handlers.customMessage = [this](const pb::CustomMessage& message) {
        if (auto it = custom_.find(message.capability()); it != custom_.end()) {
            it->second(message);
        }
    };
    try {
        client_ = std::make_unique<opamp::Client>(loop_, cs, std::move(state), handlers, logger_,
                                                  opamp::systemUnitRandom());
    } catch (const std::exception& e) {
        // An endpoint scheme no transport handles: the extension fails to start.
        throw std::runtime_error("failed to start extensions: " + std::string(e.what()));
    }
    client_->start();
    if (settings_.ppid != 0) {
        watchParent();
    }
}

void OpampExtension::watchParent() {
    ppidTimer_.reset();
    if (!os::processExists(settings_.ppid)) {
        std::string error = "collector was orphaned, process with pid " +
                            std::to_string(settings_.ppid) + " does not exist";
        if (fatalError_) {
            fatalError_(error);
        }
        return;
    }
    ppidTimer_ = loop_.postAfter(std::chrono::duration_cast<supervisor::EventLoop::Clock::duration>(
                                     settings_.ppidPollInterval),
                                 [this, alive = std::weak_ptr<bool>(alive_)] {
                                     if (auto a = alive.lock(); a && *a) {
                                         watchParent();
                                     }
                                 });
}

void OpampExtension::notifyConfig(const std::string& yaml) {
    if (!client_ || !settings_.reportsEffectiveConfig) {
        return;
    }
    pb::EffectiveConfig config;
    pb::AgentConfigFile& file = (*config.mutable_config_map()->mutable_config_map())[""];
    file.set_body(yaml);
    file.set_content_type("text/yaml");
    client_->state().setEffectiveConfig(config);
    client_->flush();
}

void OpampExtension::setHealth(const pb::ComponentHealth& health) {
    if (!client_ || !settings_.reportsHealth) {
        return;
    }
    client_->state().setHealth(health);
    client_->flush();
}

void OpampExtension::registerCustomCapability(
    const std::string& capability, std::function<void(const pb::CustomMessage&)> onMessage) {
    custom_[capability] = std::move(onMessage);
    if (!client_) {
        return;
    }
    pb::CustomCapabilities capabilities;
    for (const auto& [name, handler] : custom_) {
        capabilities.add_capabilities(name);
    }
    client_->state().setCustomCapabilities(capabilities);
    client_->flush();
}

void OpampExtension::sendCustomMessage(const pb::CustomMessage& message) {
    if (client_) {
        client_->sendCustomMessage(message);
    }
}

void OpampExtension::shutdown() {
    if (alive_) {
        *alive_ = false;
    }
    if (ppidTimer_) {
        loop_.cancel(*ppidTimer_);
        ppidTimer_.reset();
    }
    if (client_) {
        client_->flush();
        client_->stop();
        client_.reset();
    }
}

}  // namespace opampsup::standin
