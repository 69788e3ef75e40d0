#pragma once

// The remote configs and their status kept in the storage directory (binary protobuf, as the
// Go supervisor keeps them): the last config received, the last one that ran healthy, and
// the status last reported, so a restart resumes where the supervisor left off.

#include <map>
#include <optional>
#include <string>

#include "core/storage/StateStore.h"
#include "opamp.pb.h"

namespace opampsup::remoteconfig {

inline constexpr const char* kLastReceivedFile = "last_recv_remote_config.dat";
inline constexpr const char* kLastWorkingFile = "last_working_remote_config.dat";
// Ours: the Go supervisor keeps the status in persistent_state.yaml.
inline constexpr const char* kStatusFile = "remote_config_status.dat";

struct Loaded {
    std::optional<::opamp::proto::AgentRemoteConfig> lastReceived;
    std::optional<::opamp::proto::AgentRemoteConfig> lastWorking;
    std::optional<::opamp::proto::RemoteConfigStatus> status;
    // What could not be used (a file that does not decode is set aside), for the log.
    std::vector<std::string> notes;
};

Loaded loadRemoteConfigFiles(const storage::StateStore& store);

// Each write is atomic. Throw std::system_error.
void saveRemoteConfig(const storage::StateStore& store, const char* file,
                      const ::opamp::proto::AgentRemoteConfig& config);
void saveRemoteConfigStatus(const storage::StateStore& store,
                            const ::opamp::proto::RemoteConfigStatus& status);

// The config files by name, as the composer takes them.
std::map<std::string, std::string> configFiles(const ::opamp::proto::AgentRemoteConfig& config);

}  // namespace opampsup::remoteconfig
