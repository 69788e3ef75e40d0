#pragma once

// Offline checks of the signature an OpAMP server sends with a package (the `signature` of
// its DownloadableFile), over the downloaded file's bytes. Two kinds:
//
// - "public_key" (ours): detached Ed25519, ECDSA (P-256/P-384/P-521, DER over SHA-256) or
//   RSA (PKCS#1 v1.5, SHA-256) signatures, as `openssl dgst -sha256 -sign` or
//   `openssl pkeyutl -sign -rawin` make them, by any of the pinned keys. The signature is
//   its raw bytes or their base64 text.
// - "cosign" (upstream's format, cosign keyless style): "<base64 certificate> <base64
//   signature>", the certificate (PEM or DER) chaining to configured roots and naming one
//   of the configured identities.
//
// The file's SHA-256 content hash is checked elsewhere.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config/SupervisorConfig.h"

namespace opampsup::packages {

// Why a package's signature is refused; the message is short enough for a package status.
class VerificationError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class SignatureVerifier {
  public:
    virtual ~SignatureVerifier() = default;

    // Returns when `signature` signs the content of `file`; throws VerificationError naming
    // why not (no signature, malformed, no key verifies, chain, identity...) otherwise.
    virtual void verify(const std::filesystem::path& file, const std::string& signature) const = 0;

    // "public_key" or "cosign", for logs and statuses.
    virtual std::string name() const = 0;
};

// A verifier accepting signatures by any key of the PEM files `keyFiles` (SubjectPublicKeyInfo
// blocks, "-----BEGIN PUBLIC KEY-----", any number per file). Ed25519 signs the message itself,
// so a package is read into memory for it, and refused when larger than `maxInMemoryBytes`.
// Throws std::runtime_error naming the file when one cannot be read, holds no key, or holds a
// key of a type not supported.
std::unique_ptr<SignatureVerifier> makePublicKeyVerifier(
    const std::vector<std::filesystem::path>& keyFiles, std::uint64_t maxInMemoryBytes);

// A verifier of "<base64 certificate> <base64 signature>" signatures. `rootFiles` are PEM
// files: their self-signed certificates are the trust anchors, the others untrusted
// intermediates. A certificate must match one of `identities`, and when
// `githubWorkflowRepository` is set ("owner/repo"), come from that repository. Throws
// std::runtime_error when a root file cannot be read or holds no certificate, when no
// self-signed certificate is given, or when `identities` is empty or invalid.
std::unique_ptr<SignatureVerifier> makeCertificateVerifier(
    const std::vector<std::filesystem::path>& rootFiles,
    const std::vector<config::CosignIdentity>& identities,
    const std::string& githubWorkflowRepository, std::uint64_t maxInMemoryBytes);

}  // namespace opampsup::packages
