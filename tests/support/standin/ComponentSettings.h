#pragma once

// The configs of the components whose behaviour the stand-in implements: its own `standin`
// receiver, the `file` exporter and the `opamp` extension. Each decodes from its YAML map
// (DecodeError on bad keys or types) and checks itself as the real component's Validate()
// does (an error text, or nullopt).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <yaml-cpp/yaml.h>

#include "core/config/SupervisorConfig.h"
#include "core/opamp/Uuid.h"

namespace opampsup::standin {

// receivers: {standin: {...}}: a receiver that produces data and misbehaves on request.
struct StandinReceiverSettings {
    std::optional<std::chrono::nanoseconds> crashAfter;  // exit with exitCode after this
    std::int64_t exitCode = 2;                           // a Go panic's exit code
    std::optional<std::chrono::nanoseconds> unhealthyAfter;
    std::chrono::nanoseconds slowStart{0};  // delays the whole service start
    bool ignoreStopSignal = false;          // SIGTERM and SIGINT are logged and ignored
    std::int64_t logLines = 0;              // written through the logger at start
    std::int64_t logLinesPerInterval = 0;   // written through the logger every interval
    std::int64_t memoryHogMib = 0;          // allocated and touched at start
    std::chrono::nanoseconds interval{std::chrono::seconds(1)};  // between data batches
    // Registers this custom capability with the opamp extension (as components do through
    // its custom message API) and answers each message of it with an "echo" message.
    std::string echoCustomCapability;
    // Sends this many custom messages (capability kFloodCustomCapability, type "flood")
    // through the opamp extension's custom message API every interval.
    std::int64_t floodCustomMessages = 0;
    // Keeps the opamp extension from connecting to its server, as when something filters
    // loopback; the pipelines run.
    bool opampNeverConnects = false;

    static constexpr const char* kFloodCustomCapability = "io.opentelemetry.standin.flood";

    static StandinReceiverSettings decode(const YAML::Node& node);
    std::optional<std::string> validate() const;
};

// exporters: {file: {path: ...}}: writes one JSON line per batch it receives.
struct FileExporterSettings {
    std::string path;
    bool append = false;  // as the real exporter: truncate at start unless set

    static FileExporterSettings decode(const YAML::Node& node);
    std::optional<std::string> validate() const;
};

// extensions: {opamp: {...}}: the contrib opamp extension's keys and defaults.
struct OpampExtensionSettings {
    std::string instanceUid;  // as written; empty means not set
    bool ws = false;          // server.ws is set
    bool http = false;        // server.http is set
    std::string endpoint;
    config::Headers headers;
    config::TlsClientSettings tls;
    std::chrono::nanoseconds pollingInterval{std::chrono::seconds(30)};
    bool reportsEffectiveConfig = true;
    bool reportsHealth = true;
    bool reportsAvailableComponents = true;
    std::map<std::string, std::string> nonIdentifyingAttributes;
    bool includeResourceAttributes = false;
    std::int64_t ppid = 0;  // 0: no orphan detection
    std::chrono::nanoseconds ppidPollInterval{std::chrono::seconds(5)};

    static OpampExtensionSettings decode(const YAML::Node& node);
    std::optional<std::string> validate() const;
    // instance_uid as a UUID (canonical or 32 hex digits) or a ULID; nullopt when invalid.
    std::optional<opamp::Uuid> parsedInstanceUid() const;
};

// A UUID in Go uuid.Parse's forms, or a ULID.
std::optional<opamp::Uuid> parseInstanceId(const std::string& text);

}  // namespace opampsup::standin
