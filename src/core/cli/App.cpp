#include "core/cli/App.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <system_error>
#include <vector>

#include <Poco/Environment.h>
#include <Poco/Process.h>

#include "core/agent/ProcessLauncher.h"
#include "core/cli/CommandLine.h"
#include "core/cli/StatusCommand.h"
#include "core/config/ConfigLoader.h"
#include "core/config/Duration.h"
#include "core/config/Expansion.h"
#include "core/opamp/Capabilities.h"
#include "core/otlp/OwnTelemetry.h"
#include "core/otlp/TelemetryConfig.h"
#include "core/remoteconfig/ConfigValidator.h"
#include "core/storage/PersistentState.h"
#include "core/storage/StateStore.h"
#include "core/supervisor/EventLoop.h"
#include "core/supervisor/Supervisor.h"
#include "core/telemetry/Logger.h"
#include "core/telemetry/Redact.h"
#include "opampsup/version.h"
#include "platform/account.h"
#include "platform/os.h"
#include "platform/service.h"
#include "platform/shutdown.h"

namespace opampsup::cli {
namespace {

void printWarnings(const std::vector<config::ConfigProblem>& warnings, std::ostream& err) {
    for (const config::ConfigProblem& w : warnings) {
        err << "warning: " << w.str() << '\n';
    }
}

config::LoadResult load(const CommandLine& cmd) {
    config::LoadOptions options;
    options.featureGates = cmd.featureGates;
    config::LoadResult loaded = config::loadConfigFile(cmd.configPath, options);
    otlp::checkTelemetry(loaded.config.telemetry, config::processExpansionSources().env);
    return loaded;
}

telemetry::Logger makeLogger(const config::LogSettings& settings) {
    telemetry::LoggerOptions options;
    options.level = telemetry::parseLogLevel(settings.level);
    options.encoding = settings.encoding == "console" ? telemetry::LogEncoding::Console
                                                      : telemetry::LogEncoding::Json;
    options.outputPaths = settings.outputPaths;
    options.errorOutputPaths = settings.errorOutputPaths;
    return telemetry::Logger::create(options);
}

std::string hex(std::uint64_t value) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    do {
        out.insert(out.begin(), kDigits[value & 0xFU]);
        value >>= 4;
    } while (value != 0);
    return "0x" + out;
}

// OpenTelemetry's host.arch spelling of the machine type.
std::string hostArch() {
    std::string machine = Poco::Environment::osArchitecture();
    if (machine == "x86_64" || machine == "AMD64") {
        return "amd64";
    }
    if (machine == "aarch64" || machine == "ARM64") {
        return "arm64";
    }
    return machine;
}

std::string collectorCommandLine(const config::SupervisorConfig& cfg) {
    std::string line = cfg.agent.executable.string() + " --config " +
                       (cfg.storage.directory / "effective.yaml").string();
    for (const std::string& arg : cfg.agent.args) {
        line += " " + arg;
    }
    return line;
}

// As upstream, agent.startup_fallback_configs must pass the collector's own validate
// before the supervisor starts: a fallback that cannot run is no fallback.
std::optional<std::string> refusedFallbackConfigs(const config::SupervisorConfig& cfg,
                                                  agent::Launcher& launcher,
                                                  const telemetry::Logger& logger) {
    const auto& files = cfg.agent.startupFallbackConfigs;
    if (files.empty()) {
        return std::nullopt;
    }
    supervisor::EventLoop loop;
    remoteconfig::ConfigValidator validator(loop, launcher, cfg.agent.executable, cfg.agent.args);
    remoteconfig::Validation result;
    loop.post([&] {
        validator.validate(files, [&](remoteconfig::Validation v) {
            result = std::move(v);
            loop.stop();
        });
    });
    loop.run();
    using Outcome = remoteconfig::Validation::Outcome;
    switch (result.outcome) {
        case Outcome::Valid:
            return std::nullopt;
        case Outcome::Unsupported:
            logger.warn(
                "The collector has no validate command: agent.startup_fallback_configs "
                "are not checked");
            return std::nullopt;
        case Outcome::Invalid:
            return "agent.startup_fallback_configs: the collector refused them: " + result.detail;
        case Outcome::Failed:
            break;
    }
    return "agent.startup_fallback_configs: cannot validate them: " + result.detail;
}

int run(const CommandLine& cmd, std::ostream& err) {
    config::LoadResult loaded = load(cmd);
    printWarnings(loaded.warnings, err);
    const config::SupervisorConfig& cfg = loaded.config;

    telemetry::Logger logger = makeLogger(cfg.telemetry.logs).named("supervisor");
    auto metrics = std::make_shared<telemetry::OwnMetrics>();
    std::unique_ptr<otlp::OwnTelemetry> ownTelemetry;
    try {
        ownTelemetry = std::make_unique<otlp::OwnTelemetry>(cfg.telemetry, logger, metrics);
    } catch (const std::exception& e) {
        logger.error("Cannot export the supervisor's own telemetry", {{"error", e.what()}});
        return kExitFailure;
    }
    std::optional<long> collectorGroup;
    if (cfg.agent.runAs) {
        if (std::string why = platform::whyCannotRunAs(*cfg.agent.runAs); !why.empty()) {
            logger.error("Cannot start the supervisor", {{"error", "agent.run_as: " + why}});
            return kExitFailure;
        }
        collectorGroup = cfg.agent.runAs->gid;
    }
    storage::StateStore store(cfg.storage.directory, collectorGroup);
    storage::LoadedPersistentState state;
    std::vector<std::string> leftovers;
    try {
        store.prepare();
        leftovers = store.removeLeftovers({supervisor::kValidationConfigPrefix});
        state = storage::loadOrCreatePersistentState(store, cfg.agent.instanceId);
    } catch (const std::system_error& e) {
        logger.error("Cannot prepare the storage directory",
                     {{"directory", cfg.storage.directory.string()}, {"error", e.what()}});
        return kExitFailure;
    }
    if (!leftovers.empty()) {
        std::string names;
        for (const std::string& name : leftovers) {
            names += (names.empty() ? "" : ", ") + name;
        }
        logger.info("Removed what an interrupted run left in storage", {{"files", names}});
    }
    for (const std::string& note : state.notes) {
        logger.warn(note);
    }
    logger.info("Supervisor configuration loaded",
                {{"config", cmd.configPath},
                 {"version", kVersion},
                 {"server", cfg.server.endpoint},
                 {"headers", telemetry::describeHeaders(cfg.server.headers)},
                 {"storage", cfg.storage.directory.string()},
                 {"instance_uid", state.state.instanceId.toString()},
                 {"capabilities", hex(opamp::agentCapabilities(cfg.capabilities))}});
    logger.info("Collector command line",
                {{"command", collectorCommandLine(cfg)},
                 {"user", cfg.agent.runAs ? cfg.agent.runAs->user + ":" + cfg.agent.runAs->group
                                          : std::string("(the supervisor's)")},
                 {"config_apply_timeout", config::formatGoDuration(cfg.agent.configApplyTimeout)},
                 {"bootstrap_timeout", config::formatGoDuration(cfg.agent.bootstrapTimeout)}});
    agent::ProcessLauncher launcher(cfg.agent.runAs);
    if (std::optional<std::string> refused = refusedFallbackConfigs(cfg, launcher, logger)) {
        logger.error("Cannot start the supervisor", {{"error", *refused}});
        return kExitFailure;
    }
    platform::returnLargeBuffersToTheOs();
    supervisor::EventLoop loop;
    supervisor::Supervisor::Platform platform{launcher, static_cast<long>(Poco::Process::id()),
                                              Poco::Environment::nodeName(),
                                              std::string(platform::osType()), hostArch()};
    platform.metrics = metrics;
    platform.tracer = ownTelemetry->tracer();
    platform::ServiceNotifier serviceManager;
    bool toldReady = false;
    platform.serviceStatus = [&](const supervisor::ServiceStatus& status) {
        if (status.stopping) {
            serviceManager.stopping(status.line);
        } else if (status.ready && !toldReady) {
            toldReady = true;
            serviceManager.ready(status.line);
        } else {
            serviceManager.status(status.line);
        }
    };
    // The watchdog is fed from the loop, so a loop that hangs stops feeding it and the
    // service manager restarts the supervisor. Half the interval, as systemd advises.
    std::function<void()> feedWatchdog;
    if (auto interval = serviceManager.watchdogInterval()) {
        auto every =
            std::max<std::chrono::microseconds>(*interval / 2, std::chrono::milliseconds(1));
        logger.info("Sending the service manager a sign of life",
                    {{"every", config::formatGoDuration(every)}});
        feedWatchdog = [&, every] {
            serviceManager.watchdog();
            loop.postAfter(every, feedWatchdog);
        };
        loop.post(feedWatchdog);
    }
    int exitCode = kExitOk;
    {
        supervisor::Supervisor supervisor(loop, cfg, store, state.state, platform, logger);
        bool shuttingDown = false;
        platform::ShutdownWatcher watcher([&](const std::string& request) {
            loop.post([&, request] {
                logger.info("Received a request to stop", {{"signal", request}});
                if (shuttingDown) {
                    return;
                }
                shuttingDown = true;
                supervisor.shutdown([&] { loop.stop(); });
            });
        });
        loop.post([&] {
            try {
                supervisor.start();
            } catch (const std::exception& e) {
                logger.error("Cannot start the supervisor", {{"error", e.what()}});
                exitCode = kExitFailure;
                loop.stop();
            }
        });
        loop.run();
    }
    ownTelemetry.reset();  // its last words (drops, failures) reach the log file too
    logger.flush();
    return exitCode;
}

// Registers the service to run this executable with this config, once the config is
// known to be valid: a service that cannot start is worse than a refusal now.
int installService(const CommandLine& cmd, std::ostream& out) {
    load(cmd);
    platform::ServiceDefinition service;
    service.executable = platform::currentExecutable();
    service.arguments = {"--config", std::filesystem::absolute(cmd.configPath).string()};
    if (!cmd.featureGates.empty()) {
        std::string gates;
        for (const std::string& gate : cmd.featureGates) {
            gates += (gates.empty() ? "" : ",") + gate;
        }
        service.arguments.insert(service.arguments.end(), {"--feature-gates", gates});
    }
    platform::installService(service);
    out << "Installed the service " << platform::kServiceName << " running "
        << service.executable.string() << " --config " << service.arguments[1]
        << "\nIt starts at the next boot; to start it now: sc start " << platform::kServiceName
        << '\n';
    return kExitOk;
}

}  // namespace

int runApp(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    CommandLine cmd;
    try {
        cmd = parseCommandLine(args);
    } catch (const UsageError& e) {
        err << kProgramName << ": " << e.what() << "\n\n" << usageText();
        return kExitUsage;
    }
    try {
        switch (cmd.action) {
            case Action::Help:
                out << usageText();
                return kExitOk;
            case Action::Version:
                out << kProgramName << " version " << kVersion << '\n';
                return kExitOk;
            case Action::Validate: {
                config::LoadResult loaded = load(cmd);
                printWarnings(loaded.warnings, err);
                out << cmd.configPath << ": configuration is valid\n";
                return kExitOk;
            }
            case Action::Status: {
                config::LoadResult loaded = load(cmd);
                return showStatus(loaded.config, cmd.json, out, err);
            }
            case Action::ServiceInstall:
                return installService(cmd, out);
            case Action::ServiceUninstall:
                platform::uninstallService();
                out << "Removed the service " << platform::kServiceName << '\n';
                return kExitOk;
            case Action::Run:
                return platform::runUnderServiceManager([&] { return run(cmd, err); });
        }
    } catch (const config::ConfigError& e) {
        err << kProgramName << ": " << e.what() << '\n';
        return kExitFailure;
    } catch (const std::exception& e) {
        err << kProgramName << ": " << e.what() << '\n';
        return kExitFailure;
    }
    return kExitFailure;
}

}  // namespace opampsup::cli
