#include "Service.h"

#include <algorithm>
#include <set>

#include "BuildInfo.h"
#include "Loader.h"
#include "Os.h"
#include "core/config/Duration.h"

namespace opampsup::standin {

namespace {

// A hop limit for data passed on by connectors (the collector rejects cycles outright).
constexpr int kMaxConnectorHops = 8;

std::vector<telemetry::LogField> componentFields(Kind kind, const std::string& id) {
    return {{"otelcol.component.id", id}, {"otelcol.component.kind", std::string(kindName(kind))}};
}

}  // namespace

Service::Service(supervisor::EventLoop& loop, CollectorConfig config, telemetry::Logger logger,
                 Callbacks callbacks)
    : loop_(loop),
      config_(std::move(config)),
      logger_(std::move(logger)),
      callbacks_(std::move(callbacks)) {
    // Every component instance the pipelines and the extension list use, for the statuses.
    for (const auto& [pid, p] : config_.pipelines) {
        const std::string scope = "pipeline:" + pid;
        auto add = [&](Kind kind, const std::string& id) {
            bool connector = config_.of(Kind::Connector).count(id) != 0;
            health_.add(scope,
                        std::string(kindName(connector ? Kind::Connector : kind)) + ":" + id);
        };
        for (const std::string& id : p.receivers) {
            add(Kind::Receiver, id);
        }
        for (const std::string& id : p.processors) {
            add(Kind::Processor, id);
        }
        for (const std::string& id : p.exporters) {
            add(Kind::Exporter, id);
        }
    }
    for (const std::string& id : config_.serviceExtensions) {
        health_.add("extensions", "extension:" + id);
    }

    for (const std::string& id : usedIds(Kind::Receiver)) {
        auto it = config_.standinReceivers.find(id);
        if (it == config_.standinReceivers.end()) {
            continue;
        }
        StandinReceiver::Hooks hooks;
        hooks.produce = [this, id, flood = it->second.floodCustomMessages](std::uint64_t seq) {
            for (const auto& [pid, p] : config_.pipelines) {
                if (std::find(p.receivers.begin(), p.receivers.end(), id) != p.receivers.end()) {
                    deliver(p, id, seq, 0);
                }
            }
            // As a component using the opamp extension's custom message API would, many times.
            for (std::int64_t i = 1; i <= flood; ++i) {
                ::opamp::proto::CustomMessage message;
                message.set_capability(StandinReceiverSettings::kFloodCustomCapability);
                message.set_type("flood");
                message.set_data(std::to_string(seq) + "." + std::to_string(i));
                for (auto& [extensionId, extension] : extensions_) {
                    if (extension) {
                        extension->sendCustomMessage(message);
                    }
                }
            }
        };
        hooks.unhealthy = [this, id](const std::string& error) {
            health_.record("receiver:" + id, Status::RecoverableError, error);
            publishHealth();
        };
        receivers_[id] =
            std::make_unique<StandinReceiver>(loop_, id, it->second, logger_, std::move(hooks));
    }
    for (const std::string& id : usedIds(Kind::Exporter)) {
        if (auto it = config_.fileExporters.find(id); it != config_.fileExporters.end()) {
            exporters_[id] = std::make_unique<FileExporter>(id, it->second);
        }
    }
    for (const std::string& id : config_.serviceExtensions) {
        auto it = config_.opampExtensions.find(id);
        if (it == config_.opampExtensions.end()) {
            extensions_.emplace_back(id, nullptr);
            continue;
        }
        auto fatal = [this, id](const std::string& error) {
            health_.record("extension:" + id, Status::FatalError, error);
            publishHealth();
            if (callbacks_.fatalError) {
                callbacks_.fatalError(error);
            }
        };
        extensions_.emplace_back(id, std::make_unique<OpampExtension>(loop_, id, it->second,
                                                                      identity(), logger_, fatal));
        for (const auto& [receiverId, receiver] : receivers_) {
            if (receiver->settings().opampNeverConnects) {
                extensions_.back().second->neverConnect();
            }
        }
    }
}

Service::~Service() {
    shutdown();
}

std::vector<std::string> Service::usedIds(Kind kind) const {
    std::set<std::string> ids;
    for (const auto& [pid, p] : config_.pipelines) {
        const auto& list = kind == Kind::Receiver ? p.receivers : p.exporters;
        for (const std::string& id : list) {
            if (config_.of(Kind::Connector).count(id) == 0) {
                ids.insert(id);
            }
        }
    }
    return {ids.begin(), ids.end()};
}

AgentIdentity Service::identity() const {
    // The service's resource: the build's name and version and a random instance ID,
    // overridden (or removed, with a null value) by service.telemetry.resource.
    std::map<std::string, std::string> resource{
        {"service.name", std::string(kCommand)},
        {"service.version", version()},
        {"service.instance.id", opamp::Uuid::generateV7().toString()}};
    for (const auto& [key, value] : config_.telemetry.resource) {
        if (value) {
            resource[key] = *value;
        } else {
            resource.erase(key);
        }
    }
    AgentIdentity id;
    id.serviceName =
        resource.count("service.name") != 0 ? resource["service.name"] : std::string(kCommand);
    id.serviceVersion =
        resource.count("service.version") != 0 ? resource["service.version"] : version();
    id.resource = resource;
    return id;
}

bool Service::ignoresStopSignals() const {
    return std::any_of(receivers_.begin(), receivers_.end(),
                       [](const auto& r) { return r.second->settings().ignoreStopSignal; });
}

std::optional<std::string> Service::start() {
    logger_.info("Starting " + std::string(kCommand) + "...",
                 {{"Version", version()}, {"NumCPU", std::to_string(os::cpuCount())}});
    std::chrono::nanoseconds slow{0};
    for (const auto& [id, r] : receivers_) {
        slow = std::max(slow, r->settings().slowStart);
    }
    if (slow.count() == 0) {
        return startComponents();
    }
    logger_.info("standin receiver delays the start",
                 {{"slow_start", config::formatGoDuration(slow)}});
    slowStartTimer_ = loop_.postAfter(
        std::chrono::duration_cast<supervisor::EventLoop::Clock::duration>(slow), [this] {
            slowStartTimer_.reset();
            if (auto error = startComponents(); error && callbacks_.startFailed) {
                callbacks_.startFailed(*error);
            }
        });
    return std::nullopt;
}

std::optional<std::string> Service::startComponents() {
    started_ = true;
    health_.recordAll(Status::Starting);
    logger_.info("Starting extensions...");
    for (auto& [id, extension] : extensions_) {
        auto fields = componentFields(Kind::Extension, id);
        logger_.info("Extension is starting...", fields);
        if (extension) {
            try {
                extension->start();
            } catch (const std::exception& e) {
                return std::string(e.what());
            }
        }
        logger_.info("Extension started.", fields);
    }
    publishHealth();
    const std::string yaml = effectiveConfigYaml(config_);
    for (auto& [id, extension] : extensions_) {
        if (extension) {
            extension->notifyConfig(yaml);
        }
    }
    for (auto& [id, exporter] : exporters_) {
        if (auto error = exporter->start()) {
            return "cannot start pipelines: " + *error;
        }
    }
    for (auto& [id, receiver] : receivers_) {
        receiver->start();
        if (receiver->settings().floodCustomMessages > 0) {
            for (auto& [extensionId, extension] : extensions_) {
                if (extension) {
                    extension->registerCustomCapability(
                        StandinReceiverSettings::kFloodCustomCapability,
                        [](const ::opamp::proto::CustomMessage&) {});
                }
            }
        }
        const std::string& capability = receiver->settings().echoCustomCapability;
        for (auto& [extensionId, extension] : extensions_) {
            if (!extension || capability.empty()) {
                continue;
            }
            OpampExtension* to = extension.get();
            to->registerCustomCapability(capability, [to](const ::opamp::proto::CustomMessage& in) {
                ::opamp::proto::CustomMessage echo = in;
                echo.set_type("echo");
                to->sendCustomMessage(echo);
            });
        }
    }
    readySinceUnixNano_ =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    health_.recordAll(Status::Ok);
    publishHealth();
    logger_.info("Everything is ready. Begin running and processing data.");
    return std::nullopt;
}

void Service::deliver(const PipelineConfig& pipeline, const std::string& receiver,
                      std::uint64_t seq, int depth) {
    for (const std::string& e : pipeline.exporters) {
        if (auto it = exporters_.find(e); it != exporters_.end()) {
            it->second->write(receiver, pipeline.id, seq);
            continue;
        }
        if (config_.of(Kind::Connector).count(e) == 0 || depth >= kMaxConnectorHops) {
            continue;
        }
        // A connector passes the batch to the pipelines it is a receiver of.
        const ComponentType* type = findType(Kind::Connector, CollectorConfig::typeOf(e));
        auto from = parseSignal(pipeline.signal);
        for (const auto& [pid, next] : config_.pipelines) {
            auto to = parseSignal(next.signal);
            bool receives =
                std::find(next.receivers.begin(), next.receivers.end(), e) != next.receivers.end();
            if (receives && type != nullptr && from && to && type->connects(*from, *to)) {
                deliver(next, receiver, seq, depth + 1);
            }
        }
    }
}

void Service::publishHealth() {
    auto health = health_.toProto(readySinceUnixNano_);
    for (auto& [id, extension] : extensions_) {
        if (extension) {
            extension->setHealth(health);
        }
    }
}

void Service::shutdown() {
    if (stopped_) {
        return;
    }
    stopped_ = true;
    if (slowStartTimer_) {
        loop_.cancel(*slowStartTimer_);
        slowStartTimer_.reset();
    }
    logger_.info("Starting shutdown...");
    if (started_) {
        // The pipelines are no longer ready (PipelineWatcher.NotReady).
        readySinceUnixNano_ = 0;
        health_.recordAll(Status::Stopping);
        publishHealth();
    }
    for (auto& [id, receiver] : receivers_) {
        receiver->shutdown();
    }
    for (auto& [id, exporter] : exporters_) {
        exporter->shutdown();
    }
    logger_.info("Stopping extensions...");
    for (auto it = extensions_.rbegin(); it != extensions_.rend(); ++it) {
        auto fields = componentFields(Kind::Extension, it->first);
        logger_.info("Extension is shutting down...", fields);
        if (it->second) {
            it->second->shutdown();
        }
        logger_.info("Extension shut down.", fields);
    }
    logger_.info("Shutdown complete.");
}

}  // namespace opampsup::standin
