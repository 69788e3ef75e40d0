#pragma once

// The supervisor's side of the OpAMP agent-initiated CSR flow (server.certificate_request):
// decides when the OpAMP connection needs a certificate from the server (none issued yet,
// the one in use expires within renew_before, or it names another instance UID), makes the
// key and the request, and pairs the certificate the server offers back with that key.
// The key waits in <storage>/opamp_csr_key.pem (0600) until the certificate arrives, then
// lives in the committed connection settings; it is never sent.
//
// Not thread-safe: owned by the supervisor loop.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/config/SupervisorConfig.h"
#include "core/storage/StateStore.h"
#include "core/telemetry/Logger.h"
#include "opamp.pb.h"

namespace opampsup::supervisor {

class CertificateRequester {
  public:
    static constexpr const char* kKeyFile = "opamp_csr_key.pem";

    CertificateRequester(const config::CertificateRequestSettings& settings,
                         const storage::StateStore& store, telemetry::Logger logger);

    // The request to send on this connection, or nullopt: not enabled, the server does not
    // take requests, one was already sent on this connection, or the certificate in use
    // (`issuedCert`, from the committed offer) is good. Logs why it asks.
    std::optional<::opamp::proto::ConnectionSettingsRequest> requestIfNeeded(
        const std::optional<std::string>& issuedCert, const std::string& instanceUid,
        std::uint64_t serverCapabilities, std::chrono::system_clock::time_point now);

    // For an offered certificate without its private key (the CSR flow's answer): adds the
    // key of the request it answers, or the committed key when it is the certificate in use
    // sent again. Returns the problem when there is no such key; offers that carry their own
    // key, or no certificate, pass untouched.
    std::optional<std::string> pairWithKey(::opamp::proto::OpAMPConnectionSettings& offer,
                                           const ::opamp::proto::TLSCertificate* committed) const;

    // The certificate is in use and committed with its key: the waiting key file goes.
    void committed(const ::opamp::proto::OpAMPConnectionSettings& offer);
    // A request may go out again: on a new connection, or under a new instance UID.
    void mayAskAgain() { sentOnThisConnection_ = false; }

  private:
    std::optional<std::string> reasonToRequest(const std::optional<std::string>& issuedCert,
                                               const std::string& expectedName,
                                               std::chrono::system_clock::time_point now) const;

    const config::CertificateRequestSettings& settings_;
    const storage::StateStore& store_;
    telemetry::Logger logger_;
    std::string pendingKey_;  // the key of the last request, until its certificate arrives
    bool sentOnThisConnection_ = false;
};

}  // namespace opampsup::supervisor
