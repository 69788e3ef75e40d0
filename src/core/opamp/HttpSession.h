#pragma once

// What both transports need from HTTP: a session for the endpoint (TLS for wss:// and
// https://) and a request carrying the configured headers and the User-Agent.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>

#include "core/opamp/Transport.h"

namespace opampsup::opamp {

// A session for the endpoint with the connect timeout applied: plain for ws:// and http://,
// TLS for wss:// and https://. Throws std::runtime_error when the TLS settings cannot be
// applied.
std::unique_ptr<Poco::Net::HTTPClientSession> makeHttpSession(const Transport::Settings& settings);

// The reason a connection attempt on this thread failed with `e`: the certificate the TLS
// handshake refused and why, when it refused one, else the exception's text.
std::string connectionFailureText(const Poco::Exception& e);

// A request for the endpoint's path with server.headers, the authenticator's headers (which
// replace configured ones of the same name) and the User-Agent set. Throws AuthError.
Poco::Net::HTTPRequest makeRequest(const Transport::Settings& settings, const std::string& method);

// The server refused the credentials (HTTP 401): the authenticator drops what it cached,
// and the next attempt, with fresh credentials, is worth making soon. Returns whether the
// refusal is one that fresh credentials may cure.
bool credentialsRefused(const Transport::Settings& settings, int httpStatus);

// An HTTP Basic credential: "Basic " and base64 of "user:password".
std::string basicCredential(const std::string& userColonPassword);

// From another thread than the one using the session: ends its connection's reads and
// writes by shutting the TCP socket down. Under TLS the TLS layer is left alone: OpenSSL
// lets only the thread reading from a connection touch it (an orderly TLS shutdown from
// here would race with that read).
void shutdownConnection(Poco::Net::HTTPClientSession& session);

// Lets a transport's close() end an I/O thread that waits on a server which accepted the
// connection but never answers: the thread says which session it is blocked on, and
// close() gives it a grace period to finish, then shuts that session's socket down so the
// blocked read returns. Without it the supervisor's loop would wait for the timeout.
// How long close() lets an exchange in progress finish before cutting it.
inline constexpr std::chrono::milliseconds kCloseGrace{2000};

class InFlight {
  public:
    // On the I/O thread.
    void start();  // before the thread runs
    void use(Poco::Net::HTTPClientSession* session);
    void finished();
    // On the closing thread: returns once finished() was called, or after `grace` with
    // the session's socket shut down.
    void stopWithin(std::chrono::milliseconds grace);

  private:
    std::mutex mutex_;
    std::condition_variable done_;
    Poco::Net::HTTPClientSession* session_ = nullptr;
    bool finished_ = true;
};

}  // namespace opampsup::opamp
