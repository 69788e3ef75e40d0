#pragma once

// persistent_state.yaml: what the supervisor must remember across restarts, in the Go
// supervisor's format (`instance_id: <uuid>`, `last_remote_config_status: {status: <enum
// number>, last_remote_config_hash: <hex>, error_message: ...}`). Keys this version does not
// know are kept as they are when the file is rewritten.

#include <optional>
#include <string>
#include <vector>

#include "core/opamp/Uuid.h"
#include "core/storage/StateStore.h"
#include "opamp.pb.h"

namespace opampsup::storage {

inline constexpr const char* kPersistentStateFile = "persistent_state.yaml";

struct PersistentState {
    opamp::Uuid instanceId;
    // Sent in the first message after a restart, so the server does not resend the config.
    std::optional<::opamp::proto::RemoteConfigStatus> lastRemoteConfigStatus;
    std::string otherKeysYaml;  // other top-level keys, verbatim, preserved on save
};

struct LoadedPersistentState {
    PersistentState state;
    bool created = false;            // no usable file existed; a new one was written
    std::vector<std::string> notes;  // what happened, for the log (corrupt file set aside...)
};

// Reads the state, or creates and saves it: the instance ID comes from the file, else from
// `configuredInstanceId` (agent.instance_id) when it is a UUID, else a new UUIDv7. A file
// that cannot be parsed or lacks a valid instance_id is set aside and replaced.
// Throws std::system_error when the directory cannot be read or written.
LoadedPersistentState loadOrCreatePersistentState(const StateStore& store,
                                                  const std::string& configuredInstanceId);

void savePersistentState(const StateStore& store, const PersistentState& state);

}  // namespace opampsup::storage
