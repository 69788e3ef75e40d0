#pragma once

// Credentials for the OpAMP server (server.auth). The transports ask for them at every
// WebSocket (re)connect and every HTTP request, so a rotated token file or a renewed OAuth2
// token is used from the next one on. core/auth has the implementations.

#include <stdexcept>
#include <string>

#include "core/config/SupervisorConfig.h"

namespace opampsup::opamp {

// No credentials could be had: the reason names the source (a token file, a token server).
class AuthError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class Authenticator {
  public:
    virtual ~Authenticator() = default;
    // The headers to send now. Called on a transport's I/O thread, and may block there
    // (fetching a token). Throws AuthError.
    virtual config::Headers headers() = 0;
    // The server answered 401: cached credentials are not to be used again. Returns whether
    // new ones may follow (a fetched token, a token file), so trying again soon is worth it;
    // fixed credentials will be refused again.
    virtual bool rejected() { return false; }
};

}  // namespace opampsup::opamp
