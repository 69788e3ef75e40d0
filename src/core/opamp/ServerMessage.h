#pragma once

// What a ServerToAgent asks of the agent, checked against the spec's rules before anything
// acts on it: a message for another instance is ignored, an error_response stands alone,
// a command stands alone, a new instance UID must be 16 bytes.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/opamp/Uuid.h"
#include "opamp.pb.h"

namespace opampsup::opamp {

struct ServerError {
    ::opamp::proto::ServerErrorResponseType type = ::opamp::proto::ServerErrorResponseType_Unknown;
    std::string message;
    std::optional<std::chrono::nanoseconds> retryAfter;  // from retry_info
    // Only Unavailable is worth retrying; Unknown and BadRequest are not.
    bool retryable() const { return type == ::opamp::proto::ServerErrorResponseType_Unavailable; }
};

struct ServerInstructions {
    std::vector<std::string> problems;  // what was wrong with the message, for the log
    bool ignored = false;               // nothing below is to be acted on
    std::optional<ServerError> error;
    std::optional<std::uint64_t> serverCapabilities;
    bool reportFullState = false;
    bool reportAvailableComponents = false;
    std::optional<Uuid> newInstanceUid;
    bool restart = false;
    std::optional<::opamp::proto::AgentRemoteConfig> remoteConfig;
    std::optional<::opamp::proto::ConnectionSettingsOffers> connectionSettings;
    std::optional<::opamp::proto::PackagesAvailable> packagesAvailable;
    std::optional<::opamp::proto::CustomCapabilities> customCapabilities;
    std::optional<::opamp::proto::CustomMessage> customMessage;
};

// Takes the message by value: its parts (a remote config may be megabytes) move out.
ServerInstructions interpretServerMessage(::opamp::proto::ServerToAgent message,
                                          const Uuid& instanceUid);

}  // namespace opampsup::opamp
