#pragma once

// The fixed catalog of component types the stand-in knows, as a collector distribution's
// factories: each type with its Go module and its stability per signal. A signal whose
// stability is "Undefined" is not supported, as in the collector.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opamp.pb.h"

namespace opampsup::standin {

enum class Kind { Receiver, Processor, Exporter, Connector, Extension };
enum class Signal { Traces, Metrics, Logs };

inline constexpr Kind kAllKinds[] = {Kind::Receiver, Kind::Processor, Kind::Exporter,
                                     Kind::Connector, Kind::Extension};
inline constexpr Signal kAllSignals[] = {Signal::Traces, Signal::Metrics, Signal::Logs};

std::string_view kindName(Kind kind);     // "receiver"
std::string_view sectionName(Kind kind);  // "receivers"
std::string_view signalName(Signal signal);
std::optional<Signal> parseSignal(std::string_view name);

struct ComponentType {
    Kind kind;
    std::string type;
    std::string module;  // "<go module> <version>", the collector's BuilderRef
    // Receivers, processors, exporters: traces, metrics, logs. Connectors: one per
    // (exported signal, received signal) pair. Extensions: one.
    std::vector<std::pair<std::string, std::string>> stability;

    bool supports(Signal signal) const;
    bool connects(Signal from, Signal to) const;
};

const std::vector<ComponentType>& catalog();
const ComponentType* findType(Kind kind, std::string_view type);
// The types of one kind, sorted.
std::vector<std::string> typeNames(Kind kind);

// The `components` subcommand's YAML.
std::string componentsYaml();

// What the opamp extension reports: the hash over every type and module, and the map.
::opamp::proto::AvailableComponents availableComponents();

}  // namespace opampsup::standin
