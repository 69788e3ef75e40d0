#pragma once

// What the e2e tests that offer packages share: the SHA-256 the offers carry, and an
// Ed25519 key that signs the packages, whose public half the supervisor's config pins.

#include <filesystem>
#include <memory>
#include <string>

#include <Poco/SHA2Engine.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

namespace opampsup::e2e {

inline std::string sha256(const std::string& content) {
    Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
    sha.update(content.data(), static_cast<unsigned>(content.size()));
    const auto& digest = sha.digest();
    return std::string(digest.begin(), digest.end());
}

// An Ed25519 key that signs the packages the tests offer; its public half is the one the
// supervisor's config pins.
class Signer {
  public:
    Signer() : key_(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free) {}

    std::filesystem::path writePublicKey(const std::filesystem::path& file) const {
        std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new_file(file.c_str(), "w"), BIO_free);
        PEM_write_bio_PUBKEY(out.get(), key_.get());
        return file;
    }

    std::string sign(const std::string& content) const {
        std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                    EVP_MD_CTX_free);
        EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get());
        std::size_t size = 0;
        const auto* data = reinterpret_cast<const unsigned char*>(content.data());
        EVP_DigestSign(ctx.get(), nullptr, &size, data, content.size());
        std::string signature(size, '\0');
        EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, data,
                       content.size());
        return signature;
    }

  private:
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_;
};

}  // namespace opampsup::e2e
