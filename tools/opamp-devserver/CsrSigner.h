#pragma once

// The dev server's CA for the OpAMP agent-initiated CSR flow: it signs an agent's
// certificate signing request (ConnectionSettingsRequest.opamp.certificate_request.csr)
// into a client certificate, so the agent can use mTLS with a key that never left it.
//
// Thread-safe once made: sign() only reads the CA.

#include <chrono>
#include <memory>
#include <string>

namespace opampsup::devserver {

class CsrSigner {
  public:
    // Loads the CA certificate and its key (PEM files). Throws std::runtime_error naming the
    // file when one does not load, or when the key is not the certificate's.
    CsrSigner(const std::string& caCertFile, const std::string& caKeyFile,
              std::chrono::seconds validity);
    ~CsrSigner();
    CsrSigner(const CsrSigner&) = delete;
    CsrSigner& operator=(const CsrSigner&) = delete;

    // The PEM client certificate for `csrPem`. The CSR must carry a valid self-signature and
    // exactly one subject common name, equal to `instanceUid` (the sender's UID in its text
    // form): an agent may only ask for its own certificate. The certificate keeps the CSR's
    // subject and DNS/IP names, is valid from a minute ago for the validity given, and is
    // for client authentication only. Throws std::invalid_argument saying why a CSR is
    // refused, std::runtime_error when OpenSSL fails.
    std::string sign(const std::string& csrPem, const std::string& instanceUid) const;

    // The CA certificate, PEM, as agents are told to trust it (ca_cert).
    const std::string& caCertPem() const { return caCertPem_; }

  private:
    struct Ca;
    std::unique_ptr<Ca> ca_;
    std::string caCertPem_;
    std::chrono::seconds validity_;
};

}  // namespace opampsup::devserver
