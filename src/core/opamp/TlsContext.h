#pragma once

// The TLS side of an OpAMP client connection (wss://, https://), built from the supervisor's
// `server.tls` settings. OpenSSL is initialised the first time a context is made, so a
// supervisor that never uses TLS never pays for it.

#include <string>

#include <Poco/Net/Context.h>

#include "core/config/SupervisorConfig.h"

namespace opampsup::opamp {

// Verification is on unless insecure_skip_verify: the chain must lead to ca_file/ca_pem
// (or the system CAs when neither is given, or include_system_ca_certs_pool is set) and
// the certificate must name `host` (or server_name_override), as a DNS name or an IP
// address. TLS 1.2 is the minimum unless min_version says otherwise. One context serves
// one connection attempt, so the expected name is exact. Throws std::runtime_error naming
// the setting that could not be applied.
Poco::Net::Context::Ptr makeClientTlsContext(const config::TlsClientSettings& settings,
                                             const std::string& host);

// Starts a connection attempt on this thread: forgets an earlier certificate rejection, and
// records the next one only when `verifying` (false with insecure_skip_verify, where
// OpenSSL's objections do not stop the handshake and must not be reported later).
void recordCertificateRejections(bool verifying);

// Why the last TLS handshake on this thread refused the server's certificate, in OpenSSL's
// words ("certificate verify failed: certificate signature failure (the certificate of
// ... at depth 0 of the chain)"), or empty. Taking it forgets it.
std::string takeCertificateRejection();

// The server side (the health check endpoint): the certificate and key from files or PEM,
// client certificates required when client_ca_file is set, TLS 1.2 minimum unless
// min_version says otherwise. `section` names the settings in errors ("healthcheck.tls").
Poco::Net::Context::Ptr makeServerTlsContext(const config::TlsServerSettings& settings,
                                             const std::string& section);

}  // namespace opampsup::opamp
