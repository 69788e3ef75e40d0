#pragma once

// What both transports need from HTTP: a session for the endpoint (TLS for wss:// and
// https://) and a request carrying the configured headers and the User-Agent.

#include <memory>
#include <string>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>

#include "core/opamp/Transport.h"

namespace opampsup::opamp {

// A session for the endpoint with the connect timeout applied: plain for ws:// and http://,
// TLS for wss:// and https://. Throws std::runtime_error when the TLS settings cannot be
// applied.
std::unique_ptr<Poco::Net::HTTPClientSession> makeHttpSession(const Transport::Settings& settings);

// A request for the endpoint's path with server.headers and the User-Agent set.
Poco::Net::HTTPRequest makeRequest(const Transport::Settings& settings, const std::string& method);

}  // namespace opampsup::opamp
