#pragma once

// OpenSSL objects owned by std::unique_ptr, each freed with its own OpenSSL function, for
// the code that makes and reads keys, CSRs and certificates (and its tests).

#include <memory>
#include <string>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace opampsup::opamp::ossl {

template <auto Free>
struct Deleter {
    template <typename T>
    void operator()(T* p) const {
        Free(p);
    }
};

using Bio = std::unique_ptr<BIO, Deleter<BIO_free>>;
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using KeyContext = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509_free>>;
using Request = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using Name = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using GeneralName = std::unique_ptr<GENERAL_NAME, Deleter<GENERAL_NAME_free>>;
using GeneralNames = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using Ia5String = std::unique_ptr<ASN1_IA5STRING, Deleter<ASN1_IA5STRING_free>>;
using Extension = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

struct ExtensionsDeleter {
    void operator()(STACK_OF(X509_EXTENSION) * extensions) const {
        sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
    }
};
using Extensions = std::unique_ptr<STACK_OF(X509_EXTENSION), ExtensionsDeleter>;

// A read-only memory BIO over `text`, which must outlive it.
inline Bio memoryBio(const std::string& text) {
    return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

}  // namespace opampsup::opamp::ossl
