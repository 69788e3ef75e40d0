#include "CsrSigner.h"

#include <climits>
#include <optional>
#include <stdexcept>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/opamp/OpenSslHandles.h"

namespace opampsup::devserver {
namespace {

using namespace opamp::ossl;
using Names = GeneralNames;
using BigNum = std::unique_ptr<BIGNUM, Deleter<BN_free>>;

// OpenSSL's queued reasons, joined; the queue is left empty for the next caller.
std::string openSslReasons() {
    std::string reasons;
    while (unsigned long code = ERR_get_error()) {
        char buffer[256];
        ERR_error_string_n(code, buffer, sizeof buffer);
        reasons += (reasons.empty() ? "" : "; ") + std::string(buffer);
    }
    return reasons.empty() ? "unknown OpenSSL error" : reasons;
}

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + openSslReasons());
}

[[noreturn]] void refuse(const std::string& why) {
    ERR_clear_error();
    throw std::invalid_argument(why);
}

// Refuses instead of asking: by default OpenSSL prompts on the terminal for the
// passphrase of an encrypted key.
int noPassphrase(char*, int, int, void*) {
    return -1;
}

Bio openFile(const std::string& path, const std::string& what) {
    Bio bio(BIO_new_file(path.c_str(), "r"));
    if (!bio) {
        fail("cannot read the " + what + " " + path);
    }
    return bio;
}

std::string pemOf(X509* cert) {
    Bio bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
        fail("cannot write a certificate as PEM");
    }
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

// The subject's only common name, as UTF-8; nullopt when there is none or more than one.
std::optional<std::string> onlyCommonName(const X509_NAME* subject) {
    int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (index < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, index) >= 0) {
        return std::nullopt;
    }
    unsigned char* utf8 = nullptr;
    int length =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
    if (length < 0) {
        return std::nullopt;
    }
    std::string name(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
    OPENSSL_free(utf8);
    return name;
}

void addExtension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
    Extension extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
    if (!extension || X509_add_ext(cert, extension.get(), -1) != 1) {
        fail(std::string("cannot add extension ") + value);
    }
}

// A positive 127-bit random serial, so certificates from restarted servers never collide.
void setRandomSerial(X509* cert) {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
        fail("cannot make a serial number");
    }
    bytes[0] = static_cast<unsigned char>((bytes[0] & 0x7F) | 0x40);
    BigNum serial(BN_bin2bn(bytes, sizeof bytes, nullptr));
    if (!serial || BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
        fail("cannot set the serial number");
    }
}

}  // namespace

struct CsrSigner::Ca {
    Cert cert;
    Key key;
};

CsrSigner::CsrSigner(const std::string& caCertFile, const std::string& caKeyFile,
                     std::chrono::seconds validity)
    : ca_(std::make_unique<Ca>()), validity_(validity) {
    ERR_clear_error();
    if (validity_ <= std::chrono::seconds(0)) {
        throw std::invalid_argument("the certificate validity must be positive");
    }
    Bio certBio = openFile(caCertFile, "CSR CA certificate");
    ca_->cert.reset(PEM_read_bio_X509(certBio.get(), nullptr, noPassphrase, nullptr));
    if (!ca_->cert) {
        fail("cannot read the CSR CA certificate " + caCertFile);
    }
    Bio keyBio = openFile(caKeyFile, "CSR CA key");
    ca_->key.reset(PEM_read_bio_PrivateKey(keyBio.get(), nullptr, noPassphrase, nullptr));
    if (!ca_->key) {
        fail("cannot read the CSR CA key " + caKeyFile + " (it must not be encrypted)");
    }
    if (EVP_PKEY_eq(X509_get0_pubkey(ca_->cert.get()), ca_->key.get()) != 1) {
        ERR_clear_error();
        throw std::runtime_error("the CSR CA key " + caKeyFile + " is not the key of " +
                                 caCertFile);
    }
    if (X509_check_ca(ca_->cert.get()) == 0) {
        ERR_clear_error();
        throw std::runtime_error("the CSR CA certificate " + caCertFile +
                                 " is not a CA certificate");
    }
    caCertPem_ = pemOf(ca_->cert.get());
}

CsrSigner::~CsrSigner() = default;

std::string CsrSigner::sign(const std::string& csrPem, const std::string& instanceUid) const {
    ERR_clear_error();
    if (csrPem.size() > static_cast<std::size_t>(INT_MAX)) {
        refuse("the CSR is too large");
    }
    Bio csrBio = memoryBio(csrPem);
    Request request(csrBio ? PEM_read_bio_X509_REQ(csrBio.get(), nullptr, noPassphrase, nullptr)
                           : nullptr);
    if (!request) {
        refuse("the CSR is not a PEM certificate request");
    }
    EVP_PKEY* publicKey = X509_REQ_get0_pubkey(request.get());
    if (publicKey == nullptr) {
        refuse("the CSR's public key is not usable");
    }
    if (X509_REQ_verify(request.get(), publicKey) != 1) {
        refuse("the CSR's signature does not verify");
    }
    const X509_NAME* subject = X509_REQ_get_subject_name(request.get());
    auto commonName = onlyCommonName(subject);
    if (!commonName) {
        refuse("the CSR's subject must have exactly one common name, the instance UID " +
               instanceUid);
    }
    if (*commonName != instanceUid) {
        refuse("the CSR's common name \"" + *commonName + "\" is not the sender's instance UID " +
               instanceUid);
    }

    Cert cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
        fail("cannot make a certificate");
    }
    setRandomSerial(cert.get());
    auto days = validity_.count() / 86400;
    auto seconds = validity_.count() % 86400;
    if (days > INT_MAX || X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60) == nullptr ||
        X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(days),
                         static_cast<long>(seconds), nullptr) == nullptr) {
        fail("cannot set the certificate's validity");
    }
    // The subject is the agent's UID and nothing else it asked for (an O or OU of its
    // choosing would let it claim more than its identity).
    Name issuedSubject(X509_NAME_new());
    if (!issuedSubject ||
        X509_NAME_add_entry_by_NID(issuedSubject.get(), NID_commonName, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(instanceUid.c_str()), -1,
                                   -1, 0) != 1 ||
        X509_set_subject_name(cert.get(), issuedSubject.get()) != 1 ||
        X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_->cert.get())) != 1 ||
        X509_set_pubkey(cert.get(), publicKey) != 1) {
        fail("cannot fill in the certificate");
    }
    X509* issuer = ca_->cert.get();
    addExtension(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
    addExtension(cert.get(), issuer, NID_key_usage, "critical,digitalSignature");
    addExtension(cert.get(), issuer, NID_ext_key_usage, "clientAuth");
    addExtension(cert.get(), issuer, NID_subject_key_identifier, "hash");
    addExtension(cert.get(), issuer, NID_authority_key_identifier, "keyid,issuer");
    // Only DNS names and IP addresses of the names asked for: any other extension (CA:TRUE,
    // say) and any other kind of name (a URI, an e-mail address) is not granted.
    Extensions requested(X509_REQ_get_extensions(request.get()));
    for (int i = 0; requested && i < sk_X509_EXTENSION_num(requested.get()); ++i) {
        X509_EXTENSION* extension = sk_X509_EXTENSION_value(requested.get(), i);
        if (OBJ_obj2nid(X509_EXTENSION_get_object(extension)) != NID_subject_alt_name) {
            continue;
        }
        Names asked(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(extension)));
        Names granted(sk_GENERAL_NAME_new_null());
        if (!asked || !granted) {
            refuse("the CSR's subjectAltName does not decode");
        }
        for (int n = 0; n < sk_GENERAL_NAME_num(asked.get()); ++n) {
            GENERAL_NAME* name = sk_GENERAL_NAME_value(asked.get(), n);
            if (name->type != GEN_DNS && name->type != GEN_IPADD) {
                continue;
            }
            GENERAL_NAME* copy = GENERAL_NAME_dup(name);
            if (copy == nullptr || sk_GENERAL_NAME_push(granted.get(), copy) == 0) {
                GENERAL_NAME_free(copy);
                fail("cannot copy the CSR's names");
            }
        }
        if (sk_GENERAL_NAME_num(granted.get()) > 0 &&
            X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, granted.get(), 0,
                              X509V3_ADD_DEFAULT) != 1) {
            fail("cannot add the subjectAltName");
        }
    }
    // Ed25519 and Ed448 CA keys sign without a separate digest.
    bool pure = EVP_PKEY_is_a(ca_->key.get(), "ED25519") || EVP_PKEY_is_a(ca_->key.get(), "ED448");
    if (X509_sign(cert.get(), ca_->key.get(), pure ? nullptr : EVP_sha256()) <= 0) {
        fail("cannot sign the certificate");
    }
    return pemOf(cert.get());
}

}  // namespace opampsup::devserver
