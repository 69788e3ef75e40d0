#pragma once

// The remote configs kept in the storage directory (binary protobuf, as the Go supervisor
// keeps them): the last config received and the last one that ran healthy, so a restart
// resumes where the supervisor left off. The status is in persistent_state.yaml.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/storage/StateStore.h"
#include "opamp.pb.h"

namespace opampsup::remoteconfig {

inline constexpr const char* kLastReceivedFile = "last_recv_remote_config.dat";
inline constexpr const char* kLastWorkingFile = "last_working_remote_config.dat";
// The own-telemetry offers (ConnectionSettingsOffers), as the Go supervisor keeps them.
inline constexpr const char* kOwnTelemetryFile = "last_recv_own_telemetry_config.dat";
// Ours: the OpAMP connection settings the server offered and that connected (hash + opamp).
inline constexpr const char* kOpampConnectionFile = "opamp_connection_settings.dat";
// Ours: the other connections the server offered (other_connections only).
inline constexpr const char* kOtherConnectionsFile = "other_connections.dat";

struct Loaded {
    std::optional<::opamp::proto::AgentRemoteConfig> lastReceived;
    std::optional<::opamp::proto::AgentRemoteConfig> lastWorking;
    std::optional<::opamp::proto::ConnectionSettingsOffers> ownTelemetry;
    std::optional<::opamp::proto::ConnectionSettingsOffers> opampConnection;
    std::optional<::opamp::proto::ConnectionSettingsOffers> otherConnections;
    // What could not be used (a file that does not decode is set aside), for the log.
    std::vector<std::string> notes;
};

Loaded loadRemoteConfigFiles(const storage::StateStore& store);

// Each write is atomic. Throw std::system_error.
void saveRemoteConfig(const storage::StateStore& store, const char* file,
                      const ::opamp::proto::AgentRemoteConfig& config);
// `file` is kOwnTelemetryFile, kOpampConnectionFile or kOtherConnectionsFile.
void saveConnectionOffers(const storage::StateStore& store, const char* file,
                          const ::opamp::proto::ConnectionSettingsOffers& offers);

// Whether the config asks for no collector at all: no files, or only blank ones.
bool isEmptyConfigMap(const ::opamp::proto::AgentRemoteConfig& config);

// The config files by name, as the composer takes them.
std::map<std::string, std::string> configFiles(const ::opamp::proto::AgentRemoteConfig& config);

}  // namespace opampsup::remoteconfig
