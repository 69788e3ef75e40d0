#pragma once

// The agent's side of the OpAMP agent-initiated CSR flow: a fresh key pair and a PEM
// certificate signing request for the server to sign (sent in
// ConnectionSettingsRequest.opamp.certificate_request.csr), and checks on the certificate
// that comes back. The private key never leaves the agent, so the offer carrying the
// certificate has none and the agent pairs the two itself.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opampsup::opamp {

enum class KeyType { EcP256, EcP384, Rsa2048, Rsa3072, Ed25519 };

// The config names: "ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "ed25519";
// nullopt for anything else.
std::optional<KeyType> keyTypeNamed(std::string_view name);
std::string_view keyTypeName(KeyType type);

struct CertificateRequest {
    std::string privateKeyPem;  // PKCS#8, unencrypted
    std::string csrPem;
};

// A new key of `type` and a CSR for it, signed with SHA-256 (Ed25519 signs without a
// separate digest). The subject is O=<each of `organization`>, CN=<commonName>; `dnsNames`
// go into a subjectAltName extension when there are any. Throws std::runtime_error with
// OpenSSL's reason when OpenSSL fails.
CertificateRequest makeCertificateRequest(KeyType type, const std::string& commonName,
                                          const std::vector<std::string>& organization,
                                          const std::vector<std::string>& dnsNames);

// Whether the certificate's public key is that of the private key; false when either does
// not parse (an encrypted key does not: nothing may prompt for a passphrase).
bool certificateMatchesKey(const std::string& certPem, const std::string& privateKeyPem);

// The certificate's notAfter (clamped to the clock's range, as 9999-12-31 exceeds it);
// nullopt when it does not parse.
std::optional<std::chrono::system_clock::time_point> certificateNotAfter(
    const std::string& certPem);

// The certificate's notBefore, the same way.
std::optional<std::chrono::system_clock::time_point> certificateNotBefore(
    const std::string& certPem);

// The first commonName of the certificate's subject, as UTF-8; nullopt when it does not
// parse or has none.
std::optional<std::string> certificateCommonName(const std::string& certPem);

}  // namespace opampsup::opamp
