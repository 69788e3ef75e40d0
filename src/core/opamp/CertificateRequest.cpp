#include "core/opamp/CertificateRequest.h"

#include <climits>
#include <ctime>
#include <memory>
#include <stdexcept>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/opamp/OpenSslHandles.h"

namespace opampsup::opamp {
namespace {

using namespace ossl;

struct KeyTypeInfo {
    KeyType type;
    std::string_view name;
    const char* algorithm;
    const char* group;  // EC only
    int bits;           // RSA only
};

constexpr KeyTypeInfo kKeyTypes[] = {
    {KeyType::EcP256, "ecdsa-p256", "EC", "P-256", 0},
    {KeyType::EcP384, "ecdsa-p384", "EC", "P-384", 0},
    {KeyType::Rsa2048, "rsa-2048", "RSA", nullptr, 2048},
    {KeyType::Rsa3072, "rsa-3072", "RSA", nullptr, 3072},
    {KeyType::Ed25519, "ed25519", "ED25519", nullptr, 0},
};

const KeyTypeInfo& infoOf(KeyType type) {
    for (const auto& info : kKeyTypes) {
        if (info.type == type) {
            return info;
        }
    }
    throw std::invalid_argument("unknown key type");
}

// Throws with every reason OpenSSL queued, and leaves its queue empty for the next caller.
[[noreturn]] void fail(const std::string& what) {
    std::string reasons;
    while (unsigned long code = ERR_get_error()) {
        char buffer[256];
        ERR_error_string_n(code, buffer, sizeof buffer);
        reasons += (reasons.empty() ? "" : "; ") + std::string(buffer);
    }
    throw std::runtime_error(what + ": " + (reasons.empty() ? "unknown OpenSSL error" : reasons));
}

// Refuses instead of asking: by default OpenSSL prompts on the terminal for the
// passphrase of an encrypted key.
int noPassphrase(char*, int, int, void*) {
    return -1;
}

Bio readBio(const std::string& pem) {
    if (pem.size() > static_cast<std::size_t>(INT_MAX)) {
        return nullptr;
    }
    return memoryBio(pem);
}

Cert readCert(const std::string& pem) {
    Bio bio = readBio(pem);
    Cert cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr) : nullptr);
    if (!cert) {
        ERR_clear_error();
    }
    return cert;
}

Key readPrivateKey(const std::string& pem) {
    Bio bio = readBio(pem);
    Key key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr) : nullptr);
    if (!key) {
        ERR_clear_error();
    }
    return key;
}

std::string memoryText(BIO* bio) {
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

Key generateKey(const KeyTypeInfo& info) {
    std::string what = "cannot generate an " + std::string(info.name) + " key";
    KeyContext context(EVP_PKEY_CTX_new_from_name(nullptr, info.algorithm, nullptr));
    if (!context || EVP_PKEY_keygen_init(context.get()) <= 0) {
        fail(what);
    }
    if (info.group != nullptr && EVP_PKEY_CTX_set_group_name(context.get(), info.group) <= 0) {
        fail(what);
    }
    if (info.bits != 0 && EVP_PKEY_CTX_set_rsa_keygen_bits(context.get(), info.bits) <= 0) {
        fail(what);
    }
    EVP_PKEY* key = nullptr;
    if (EVP_PKEY_generate(context.get(), &key) <= 0) {
        fail(what);
    }
    return Key(key);
}

void addNameEntry(X509_NAME* name, int nid, const std::string& value, const char* what) {
    if (value.size() > static_cast<std::size_t>(INT_MAX) ||
        X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
        fail(std::string("cannot put ") + what + " \"" + value + "\" in the CSR");
    }
}

// The subjectAltName extension request for `dnsNames`, built name by name so a name with
// a comma cannot turn into two.
void requestDnsNames(X509_REQ* request, const std::vector<std::string>& dnsNames) {
    GeneralNames names(GENERAL_NAMES_new());
    if (!names) {
        fail("cannot make the CSR's subjectAltName");
    }
    for (const std::string& dns : dnsNames) {
        GeneralName name(GENERAL_NAME_new());
        Ia5String text(ASN1_IA5STRING_new());
        if (!name || !text || dns.size() > static_cast<std::size_t>(INT_MAX) ||
            ASN1_STRING_set(text.get(), dns.data(), static_cast<int>(dns.size())) != 1) {
            fail("cannot put DNS name \"" + dns + "\" in the CSR");
        }
        GENERAL_NAME_set0_value(name.get(), GEN_DNS, text.release());
        if (sk_GENERAL_NAME_push(names.get(), name.get()) <= 0) {
            fail("cannot put DNS name \"" + dns + "\" in the CSR");
        }
        name.release();  // owned by `names` now
    }
    Extension extension(X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get()));
    Extensions extensions(sk_X509_EXTENSION_new_null());
    if (!extension || !extensions ||
        sk_X509_EXTENSION_push(extensions.get(), extension.get()) <= 0) {
        fail("cannot make the CSR's subjectAltName");
    }
    extension.release();  // owned by `extensions` now
    if (X509_REQ_add_extensions(request, extensions.get()) != 1) {
        fail("cannot add the subjectAltName to the CSR");
    }
}

}  // namespace

std::optional<KeyType> keyTypeNamed(std::string_view name) {
    for (const auto& info : kKeyTypes) {
        if (info.name == name) {
            return info.type;
        }
    }
    return std::nullopt;
}

std::string_view keyTypeName(KeyType type) {
    return infoOf(type).name;
}

CertificateRequest makeCertificateRequest(KeyType type, const std::string& commonName,
                                          const std::vector<std::string>& organization,
                                          const std::vector<std::string>& dnsNames) {
    ERR_clear_error();  // so a failure reports only its own reasons
    const KeyTypeInfo& info = infoOf(type);
    Key key = generateKey(info);

    Request request(X509_REQ_new());
    if (!request || X509_REQ_set_version(request.get(), X509_REQ_VERSION_1) != 1) {
        fail("cannot make a CSR");
    }
    X509_NAME* subject = X509_REQ_get_subject_name(request.get());
    for (const std::string& org : organization) {
        addNameEntry(subject, NID_organizationName, org, "organization");
    }
    addNameEntry(subject, NID_commonName, commonName, "common name");
    if (!dnsNames.empty()) {
        requestDnsNames(request.get(), dnsNames);
    }
    if (X509_REQ_set_pubkey(request.get(), key.get()) != 1) {
        fail("cannot put the public key in the CSR");
    }
    // Ed25519 hashes internally and takes no digest.
    const EVP_MD* digest = type == KeyType::Ed25519 ? nullptr : EVP_sha256();
    if (X509_REQ_sign(request.get(), key.get(), digest) <= 0) {
        fail("cannot sign the CSR");
    }

    CertificateRequest out;
    Bio keyBio(BIO_new(BIO_s_mem()));
    if (!keyBio || PEM_write_bio_PKCS8PrivateKey(keyBio.get(), key.get(), nullptr, nullptr, 0,
                                                 nullptr, nullptr) != 1) {
        fail("cannot write the private key as PEM");
    }
    out.privateKeyPem = memoryText(keyBio.get());
    Bio csrBio(BIO_new(BIO_s_mem()));
    if (!csrBio || PEM_write_bio_X509_REQ(csrBio.get(), request.get()) != 1) {
        fail("cannot write the CSR as PEM");
    }
    out.csrPem = memoryText(csrBio.get());
    return out;
}

bool certificateMatchesKey(const std::string& certPem, const std::string& privateKeyPem) {
    Cert cert = readCert(certPem);
    Key key = readPrivateKey(privateKeyPem);
    if (!cert || !key) {
        return false;
    }
    EVP_PKEY* certKey = X509_get0_pubkey(cert.get());
    bool same = certKey != nullptr && EVP_PKEY_eq(certKey, key.get()) == 1;
    ERR_clear_error();
    return same;
}

namespace {

std::optional<std::chrono::system_clock::time_point> timeOf(const ASN1_TIME* asn1) {
    using namespace std::chrono;
    std::tm tm{};
    if (asn1 == nullptr || ASN1_TIME_to_tm(asn1, &tm) != 1) {
        ERR_clear_error();
        return std::nullopt;
    }
    year_month_day date{year{tm.tm_year + 1900}, month{static_cast<unsigned>(tm.tm_mon + 1)},
                        day{static_cast<unsigned>(tm.tm_mday)}};
    sys_seconds when = sys_days(date) + hours(tm.tm_hour) + minutes(tm.tm_min) + seconds(tm.tm_sec);
    // The clock counts nanoseconds in 64 bits: about the years 1678 to 2262.
    if (when >= time_point_cast<seconds>(system_clock::time_point::max())) {
        return system_clock::time_point::max();
    }
    if (when <= time_point_cast<seconds>(system_clock::time_point::min())) {
        return system_clock::time_point::min();
    }
    return time_point_cast<system_clock::duration>(when);
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> certificateNotAfter(
    const std::string& certPem) {
    Cert cert = readCert(certPem);
    return cert ? timeOf(X509_get0_notAfter(cert.get())) : std::nullopt;
}

std::optional<std::chrono::system_clock::time_point> certificateNotBefore(
    const std::string& certPem) {
    Cert cert = readCert(certPem);
    return cert ? timeOf(X509_get0_notBefore(cert.get())) : std::nullopt;
}

std::optional<std::string> certificateCommonName(const std::string& certPem) {
    Cert cert = readCert(certPem);
    if (!cert) {
        return std::nullopt;
    }
    const X509_NAME* subject = X509_get_subject_name(cert.get());
    int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (index < 0) {
        return std::nullopt;
    }
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    unsigned char* utf8 = nullptr;
    int length = ASN1_STRING_to_UTF8(&utf8, data);
    if (length < 0) {
        ERR_clear_error();
        return std::nullopt;
    }
    std::string name(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
    OPENSSL_free(utf8);
    return name;
}

}  // namespace opampsup::opamp
