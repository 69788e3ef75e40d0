#include "Validation.h"

#include <map>
#include <set>

namespace opampsup::standin {

namespace {

std::string goQuote(const std::string& s) {
    return "\"" + s + "\"";
}

bool hasId(const CollectorConfig& cfg, Kind kind, const std::string& id) {
    return cfg.of(kind).count(id) != 0;
}

// The config's own Validate(): it stops at the first problem.
std::optional<std::string> validateTopLevel(const CollectorConfig& cfg, bool allowNoPipelines) {
    bool allEmpty = true;
    for (Kind kind : kAllKinds) {
        allEmpty = allEmpty && cfg.of(kind).empty();
    }
    if (allEmpty) {
        return "empty configuration file";
    }
    if (!allowNoPipelines && cfg.of(Kind::Receiver).empty()) {
        return "no receiver configuration specified in config";
    }
    if (!allowNoPipelines && cfg.of(Kind::Exporter).empty()) {
        return "no exporter configuration specified in config";
    }
    for (const auto& [id, node] : cfg.of(Kind::Connector)) {
        for (Kind other : {Kind::Exporter, Kind::Receiver}) {
            if (hasId(cfg, other, id)) {
                return "connectors::" + id + ": ambiguous ID: Found both " + goQuote(id) + " " +
                       std::string(kindName(other)) + " and " + goQuote(id) +
                       " connector. Change one of the components' IDs to eliminate ambiguity "
                       "(e.g. rename " +
                       goQuote(id) + " connector to " + goQuote(id + "/connector") + ")";
            }
        }
    }
    for (const std::string& ref : cfg.serviceExtensions) {
        if (!hasId(cfg, Kind::Extension, ref)) {
            return "service::extensions: references extension " + goQuote(ref) +
                   " which is not configured";
        }
    }
    for (const auto& [pid, p] : cfg.pipelines) {
        const std::string where = "service::pipelines::" + pid + ": references ";
        for (const std::string& ref : p.receivers) {
            if (!hasId(cfg, Kind::Receiver, ref) && !hasId(cfg, Kind::Connector, ref)) {
                return where + "receiver " + goQuote(ref) + " which is not configured";
            }
        }
        for (const std::string& ref : p.processors) {
            if (!hasId(cfg, Kind::Processor, ref)) {
                return where + "processor " + goQuote(ref) + " which is not configured";
            }
        }
        for (const std::string& ref : p.exporters) {
            if (!hasId(cfg, Kind::Exporter, ref) && !hasId(cfg, Kind::Connector, ref)) {
                return where + "exporter " + goQuote(ref) + " which is not configured";
            }
        }
    }
    return std::nullopt;
}

template <typename Settings>
void validateComponents(const std::map<std::string, Settings>& settings, Kind kind,
                        std::vector<std::string>& errors) {
    for (const auto& [id, s] : settings) {
        if (auto problem = s.validate()) {
            errors.push_back(std::string(sectionName(kind)) + "::" + id + ": " + *problem);
        }
    }
}

void validatePipelines(const CollectorConfig& cfg, const FeatureGates& gates,
                       std::vector<std::string>& errors) {
    if (!gates.enabled(kAllowNoPipelines) && cfg.pipelines.empty()) {
        errors.push_back("service::pipelines: service must have at least one pipeline");
    }
    for (const auto& [pid, p] : cfg.pipelines) {
        if (p.signal == "profiles") {
            if (!gates.enabled(kProfilesSupport)) {
                errors.push_back("service::pipelines: pipeline " + goQuote(pid) +
                                 ": profiling signal support is at alpha level, gated under the " +
                                 goQuote(std::string(kProfilesSupport)) + " feature gate");
                break;
            }
        } else if (!parseSignal(p.signal)) {
            errors.push_back("service::pipelines: pipeline " + goQuote(pid) + ": unknown signal " +
                             goQuote(p.signal));
            break;
        }
    }
    for (const auto& [pid, p] : cfg.pipelines) {
        const std::string where = "service::pipelines::" + pid + ": ";
        if (p.receivers.empty()) {
            errors.push_back(where + "must have at least one receiver");
            continue;
        }
        if (p.exporters.empty()) {
            errors.push_back(where + "must have at least one exporter");
            continue;
        }
        std::set<std::string> seen;
        for (const std::string& ref : p.processors) {
            if (!seen.insert(ref).second) {
                errors.push_back(where + "references processor " + goQuote(ref) +
                                 " multiple times");
                break;
            }
        }
    }
}

// Go prints a []string as "[a b]".
std::string goList(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
        out += (i == 0 ? "" : " ") + items[i];
    }
    return out + "]";
}

std::optional<std::string> checkConnectors(const CollectorConfig& cfg) {
    for (const auto& [cid, node] : cfg.of(Kind::Connector)) {
        const ComponentType* type = findType(Kind::Connector, CollectorConfig::typeOf(cid));
        // The pipelines (by signal) that export to the connector and that receive from it.
        std::map<std::string, std::vector<std::string>> asExporter;
        std::map<std::string, std::vector<std::string>> asReceiver;
        for (const auto& [pid, p] : cfg.pipelines) {
            for (const std::string& e : p.exporters) {
                if (e == cid) {
                    asExporter[p.signal].push_back(pid);
                }
            }
            for (const std::string& r : p.receivers) {
                if (r == cid) {
                    asReceiver[p.signal].push_back(pid);
                }
            }
        }
        if (asExporter.empty() && asReceiver.empty()) {
            continue;
        }
        auto linked = [&](const std::string& from, const std::string& to) {
            auto f = parseSignal(from);
            auto t = parseSignal(to);
            return f && t && type != nullptr && type->connects(*f, *t);
        };
        for (const auto& [signal, pids] : asExporter) {
            bool used = false;
            for (const auto& [to, unused] : asReceiver) {
                used = used || linked(signal, to);
            }
            if (!used) {
                return "connector " + goQuote(cid) + " used as exporter in " + goList(pids) +
                       " pipeline but not used in any supported receiver pipeline";
            }
        }
        for (const auto& [signal, pids] : asReceiver) {
            bool used = false;
            for (const auto& [from, unused] : asExporter) {
                used = used || linked(from, signal);
            }
            if (!used) {
                return "connector " + goQuote(cid) + " used as receiver in " + goList(pids) +
                       " pipeline but not used in any supported exporter pipeline";
            }
        }
    }
    return std::nullopt;
}

}  // namespace

std::vector<std::string> validateConfig(const CollectorConfig& cfg, const FeatureGates& gates) {
    std::vector<std::string> errors;
    if (auto problem = validateTopLevel(cfg, gates.enabled(kAllowNoPipelines))) {
        errors.push_back(*problem);
    }
    // Then each field of the config struct: component configs, then the service.
    validateComponents(cfg.standinReceivers, Kind::Receiver, errors);
    validateComponents(cfg.fileExporters, Kind::Exporter, errors);
    validateComponents(cfg.opampExtensions, Kind::Extension, errors);
    validatePipelines(cfg, gates, errors);
    return errors;
}

std::optional<std::string> checkPipelineGraph(const CollectorConfig& cfg) {
    const std::string prefix = "failed to build pipelines: ";
    if (auto problem = checkConnectors(cfg)) {
        return prefix + *problem;
    }
    for (const auto& [pid, p] : cfg.pipelines) {
        auto signal = parseSignal(p.signal);
        auto unsupported = [&](Kind kind, const std::string& id) {
            const ComponentType* type = findType(kind, CollectorConfig::typeOf(id));
            return type != nullptr && (!signal || !type->supports(*signal));
        };
        for (const std::string& r : p.receivers) {
            if (!hasId(cfg, Kind::Connector, r) && unsupported(Kind::Receiver, r)) {
                return prefix + "failed to create " + goQuote(r) + " receiver for data type " +
                       goQuote(p.signal) + ": telemetry type is not supported";
            }
        }
        for (const std::string& id : p.processors) {
            if (unsupported(Kind::Processor, id)) {
                return prefix + "failed to create " + goQuote(id) + " processor, in pipeline " +
                       goQuote(pid) + ": telemetry type is not supported";
            }
        }
        for (const std::string& e : p.exporters) {
            if (!hasId(cfg, Kind::Connector, e) && unsupported(Kind::Exporter, e)) {
                return prefix + "failed to create " + goQuote(e) + " exporter for data type " +
                       goQuote(p.signal) + ": telemetry type is not supported";
            }
        }
    }
    return std::nullopt;
}

}  // namespace opampsup::standin
