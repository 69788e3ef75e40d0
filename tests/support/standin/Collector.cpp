#include "Collector.h"

#include "Loader.h"

namespace opampsup::standin {

Collector::Collector(CliRequest request, FeatureGates gates)
    : request_(std::move(request)), gates_(std::move(gates)) {}

std::optional<std::string> Collector::run() {
    os::SignalWatcher signals([this](os::Signal s) { loop_.post([this, s] { onSignal(s); }); });
    loop_.post([this] {
        if (auto error = setup()) {
            finish(error);
        }
    });
    loop_.run();
    service_.reset();
    if (logger_) {
        logger_->flush();
    }
    return result_;
}

std::optional<std::string> Collector::setup() {
    LoadedConfig loaded;
    try {
        loaded = loadConfig(request_, gates_, LoadMode::Run);
    } catch (const LoadError& e) {
        return std::string(e.what());
    }
    const TelemetryConfig& t = loaded.config.telemetry;
    telemetry::LoggerOptions options;
    options.level = telemetry::parseLogLevel(t.logLevel);
    if (t.logEncoding == "json") {
        options.encoding = telemetry::LogEncoding::Json;
    } else if (t.logEncoding == "console") {
        options.encoding = telemetry::LogEncoding::Console;
    } else {
        return "failed to create logger: no encoder registered for name \"" + t.logEncoding + "\"";
    }
    options.outputPaths = t.outputPaths;
    options.errorOutputPaths = t.errorOutputPaths;
    try {
        logger_ = telemetry::Logger::create(options);
    } catch (const std::exception& e) {
        return "failed to create logger: " + std::string(e.what());
    }
    for (const std::string& name : loaded.unsetEnvVars) {
        logger_->warn("Configuration references unset environment variable", {{"name", name}});
    }
    Service::Callbacks callbacks;
    // Both come from inside the service: act on them once its call has returned.
    callbacks.fatalError = [this](const std::string& error) {
        loop_.post([this, error] {
            logger_->error("Asynchronous error received, terminating process", {{"error", error}});
            finish(std::nullopt);
        });
    };
    callbacks.startFailed = [this](const std::string& error) {
        loop_.post([this, error] { finish(error); });
    };
    service_ = std::make_unique<Service>(loop_, std::move(loaded.config), *logger_, callbacks);
    if (auto error = service_->start()) {
        service_->shutdown();
        return error;
    }
    return std::nullopt;
}

void Collector::onSignal(os::Signal signal) {
    if (finished_ || !logger_) {
        return;
    }
    logger_->info("Received signal from OS", {{"signal", os::signalName(signal)}});
    if (signal == os::Signal::Hangup) {
        reload();
        return;
    }
    if (service_ && service_->ignoresStopSignals()) {
        logger_->warn("Ignoring the signal: a standin receiver has ignore_stop_signal set",
                      {{"signal", os::signalName(signal)}});
        return;
    }
    finish(std::nullopt);
}

void Collector::reload() {
    logger_->warn("Config updated, restart service");
    if (service_) {
        service_->shutdown();
        service_.reset();
    }
    if (auto error = setup()) {
        finish("failed to setup configuration components: " + *error);
    }
}

void Collector::finish(std::optional<std::string> error) {
    if (finished_) {
        return;
    }
    finished_ = true;
    result_ = std::move(error);
    if (service_) {
        service_->shutdown();
    }
    loop_.stop();
}

}  // namespace opampsup::standin
