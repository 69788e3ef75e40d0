#pragma once

// An OpAMP connection-settings offer (ConnectionSettingsOffers.opamp) applied to the
// client's settings: the endpoint, headers, client certificate, CA and TLS settings, proxy
// and heartbeat the server wants the agent to use from now on. What the offer leaves out
// stays as it was; the supervisor's own settings (user agent, backoff) always stay.

#include <cstdint>
#include <optional>
#include <string>

#include "core/opamp/Client.h"
#include "core/opamp/Proxy.h"
#include "opamp.pb.h"

namespace opampsup::opamp {

// The longest heartbeat interval taken from a server: a day.
inline constexpr std::uint64_t kMaxHeartbeatSeconds = 86400;

// Throws std::invalid_argument when the offer cannot be used (an endpoint that is not
// ws://, wss://, http:// or https://, a proxy URL that does not parse), naming the field.
Client::Settings withConnectionOffer(Client::Settings base,
                                     const ::opamp::proto::OpAMPConnectionSettings& offer,
                                     const EnvLookup& env);

// The offer that results from `offer` arriving on top of `base`, with the same rule: what
// the new offer leaves out stays as `base` has it. Kept and persisted, so the settings in
// use can always be rebuilt from the config and one offer.
::opamp::proto::OpAMPConnectionSettings mergeConnectionOffer(
    ::opamp::proto::OpAMPConnectionSettings base,
    const ::opamp::proto::OpAMPConnectionSettings& offer);

// Whether two settings reach the server the same way (endpoint, headers, TLS, proxy):
// then an offer needs no reconnection.
bool sameConnection(const Client::Settings& a, const Client::Settings& b);

}  // namespace opampsup::opamp
