#pragma once

// The authenticators behind server.auth, one per auth extension type the Go supervisor
// accepts: bearertokenauth, basicauth, oauth2client (client credentials) and nop.

#include <chrono>
#include <functional>
#include <memory>

#include "core/config/SupervisorConfig.h"
#include "core/opamp/Authenticator.h"
#include "core/telemetry/Logger.h"

namespace opampsup::auth {

using Clock = std::chrono::steady_clock;

std::shared_ptr<opamp::Authenticator> makeAuthenticator(const config::AuthExtension& extension,
                                                        telemetry::Logger logger);

// For tests: the OAuth2 authenticator with the clock it reads expiry from.
std::shared_ptr<opamp::Authenticator> makeOAuth2Authenticator(
    const config::OAuth2ClientAuth& settings, telemetry::Logger logger,
    std::function<Clock::time_point()> now);

}  // namespace opampsup::auth
