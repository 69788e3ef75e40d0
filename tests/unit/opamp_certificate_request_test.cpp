// The agent's CSR and its checks on the certificate that comes back, against a throwaway CA
// made here with OpenSSL, as the server would sign the CSR.

#include <memory>
#include <ostream>
#include <stdexcept>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/opamp/CertificateRequest.h"
#include "core/opamp/OpenSslHandles.h"

namespace opampsup::opamp {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

using namespace ossl;

Bio readBio(const std::string& pem) {
    return memoryBio(pem);
}

Request parseRequest(const std::string& pem) {
    return Request(PEM_read_bio_X509_REQ(readBio(pem).get(), nullptr, nullptr, nullptr));
}

std::string nameEntry(const X509_NAME* name, int nid, int lastPos = -1) {
    int index = X509_NAME_get_index_by_NID(name, nid, lastPos);
    if (index < 0) {
        return "";
    }
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                       static_cast<std::size_t>(ASN1_STRING_length(data)));
}

std::string pem(X509* cert) {
    Bio bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(bio.get(), cert);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

// A CA that signs whatever it is given, as the test's stand-in for a server.
class TestCa {
  public:
    TestCa() : key_(EVP_EC_gen("P-256")), cert_(X509_new()) {
        X509_set_version(cert_.get(), X509_VERSION_3);
        ASN1_INTEGER_set(X509_get_serialNumber(cert_.get()), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert_.get()), -60);
        X509_gmtime_adj(X509_getm_notAfter(cert_.get()), 24 * 3600);
        X509_NAME* name = X509_get_subject_name(cert_.get());
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("test CA"), -1, -1, 0);
        X509_set_issuer_name(cert_.get(), name);
        X509_set_pubkey(cert_.get(), key_.get());
        X509_sign(cert_.get(), key_.get(), EVP_sha256());
    }

    // A certificate for the CSR's key and subject, valid for `validity` from now.
    std::string sign(const std::string& csrPem, std::chrono::seconds validity) {
        Request request = parseRequest(csrPem);
        if (!request) {
            throw std::runtime_error("the CSR does not parse");
        }
        Cert cert(X509_new());
        X509_set_version(cert.get(), X509_VERSION_3);
        ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), ++serial_);
        X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
        X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(validity.count()));
        X509_set_subject_name(cert.get(), X509_REQ_get_subject_name(request.get()));
        X509_set_issuer_name(cert.get(), X509_get_subject_name(cert_.get()));
        X509_set_pubkey(cert.get(), X509_REQ_get0_pubkey(request.get()));
        X509_sign(cert.get(), key_.get(), EVP_sha256());
        return pem(cert.get());
    }

    // The same, with notAfter given as ASN.1 time text.
    std::string signUntil(const std::string& csrPem, const char* notAfter) {
        Cert cert(PEM_read_bio_X509(readBio(sign(csrPem, 60s)).get(), nullptr, nullptr, nullptr));
        ASN1_TIME_set_string(X509_getm_notAfter(cert.get()), notAfter);
        resign(cert.get());
        return pem(cert.get());
    }

    // Signs again after a change, which also drops the cached encoding.
    void resign(X509* cert) { X509_sign(cert, key_.get(), EVP_sha256()); }

    std::string certPem() { return pem(cert_.get()); }

  private:
    Key key_;
    Cert cert_;
    long serial_ = 1;
};

TEST(CertificateRequest, KeyTypesByTheirConfigNames) {
    EXPECT_EQ(keyTypeNamed("ecdsa-p256"), KeyType::EcP256);
    EXPECT_EQ(keyTypeNamed("ecdsa-p384"), KeyType::EcP384);
    EXPECT_EQ(keyTypeNamed("rsa-2048"), KeyType::Rsa2048);
    EXPECT_EQ(keyTypeNamed("rsa-3072"), KeyType::Rsa3072);
    EXPECT_EQ(keyTypeNamed("ed25519"), KeyType::Ed25519);
    for (const char* name : {"", "ECDSA-P256", "ecdsa-p521", "rsa", "rsa-4096", "ed448"}) {
        EXPECT_FALSE(keyTypeNamed(name)) << name;
    }
    for (KeyType type :
         {KeyType::EcP256, KeyType::EcP384, KeyType::Rsa2048, KeyType::Rsa3072, KeyType::Ed25519}) {
        EXPECT_EQ(keyTypeNamed(keyTypeName(type)), type);
    }
}

struct KeyCase {
    const char* name;
    KeyType type;
    const char* algorithm;
    int bits;
};

// Names the case in test listings instead of dumping its bytes.
void PrintTo(const KeyCase& c, std::ostream* out) {
    *out << c.name;
}

class CertificateRequestByKey : public ::testing::TestWithParam<KeyCase> {};

TEST_P(CertificateRequestByKey, MakesASelfSignedCsrNamingTheAgent) {
    const std::string uid = "018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f";
    CertificateRequest csr =
        makeCertificateRequest(GetParam().type, uid, {"Example", "Ops"}, {"agent.example.com"});
    EXPECT_THAT(csr.privateKeyPem, StartsWith("-----BEGIN PRIVATE KEY-----\n"));  // PKCS#8
    EXPECT_THAT(csr.csrPem, StartsWith("-----BEGIN CERTIFICATE REQUEST-----\n"));

    Request request = parseRequest(csr.csrPem);
    ASSERT_TRUE(request);
    EVP_PKEY* publicKey = X509_REQ_get0_pubkey(request.get());
    ASSERT_NE(publicKey, nullptr);
    EXPECT_EQ(X509_REQ_verify(request.get(), publicKey), 1);
    EXPECT_TRUE(EVP_PKEY_is_a(publicKey, GetParam().algorithm));
    EXPECT_EQ(EVP_PKEY_get_bits(publicKey), GetParam().bits);
    // The private key is the CSR's.
    Key privateKey(
        PEM_read_bio_PrivateKey(readBio(csr.privateKeyPem).get(), nullptr, nullptr, nullptr));
    ASSERT_TRUE(privateKey);
    EXPECT_EQ(EVP_PKEY_eq(publicKey, privateKey.get()), 1);

    const X509_NAME* subject = X509_REQ_get_subject_name(request.get());
    EXPECT_EQ(nameEntry(subject, NID_commonName), uid);
    EXPECT_EQ(nameEntry(subject, NID_organizationName), "Example");
    EXPECT_EQ(nameEntry(subject, NID_organizationName,
                        X509_NAME_get_index_by_NID(subject, NID_organizationName, -1)),
              "Ops");

    STACK_OF(X509_EXTENSION)* extensions = X509_REQ_get_extensions(request.get());
    ASSERT_NE(extensions, nullptr);
    GeneralNames names(static_cast<GENERAL_NAMES*>(
        X509V3_get_d2i(extensions, NID_subject_alt_name, nullptr, nullptr)));
    sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
    ASSERT_TRUE(names);
    ASSERT_EQ(sk_GENERAL_NAME_num(names.get()), 1);
    int type = 0;
    auto* dns = static_cast<ASN1_IA5STRING*>(
        GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names.get(), 0), &type));
    EXPECT_EQ(type, GEN_DNS);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                          static_cast<std::size_t>(ASN1_STRING_length(dns))),
              "agent.example.com");
}

TEST_P(CertificateRequestByKey, TheSignedCertificateMatchesItsKeyAndNoOther) {
    TestCa ca;
    CertificateRequest csr = makeCertificateRequest(GetParam().type, "agent-1", {}, {});
    CertificateRequest other = makeCertificateRequest(GetParam().type, "agent-1", {}, {});
    auto before = std::chrono::system_clock::now();
    std::string cert = ca.sign(csr.csrPem, std::chrono::hours(24 * 10));

    EXPECT_TRUE(certificateMatchesKey(cert, csr.privateKeyPem));
    EXPECT_FALSE(certificateMatchesKey(cert, other.privateKeyPem));
    EXPECT_FALSE(certificateMatchesKey(ca.certPem(), csr.privateKeyPem));
    EXPECT_EQ(certificateCommonName(cert), "agent-1");
    auto notAfter = certificateNotAfter(cert);
    ASSERT_TRUE(notAfter);
    // OpenSSL stamps the time from time(), whole seconds from a coarse clock that can lag
    // system_clock by a tick: allow the whole second before `before`.
    EXPECT_GE(*notAfter,
              std::chrono::floor<std::chrono::seconds>(before) + std::chrono::hours(24 * 10) - 1s);
    EXPECT_LE(*notAfter, std::chrono::system_clock::now() + std::chrono::hours(24 * 10) + 1s);
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, CertificateRequestByKey,
                         ::testing::Values(KeyCase{"EcP256", KeyType::EcP256, "EC", 256},
                                           KeyCase{"EcP384", KeyType::EcP384, "EC", 384},
                                           KeyCase{"Rsa2048", KeyType::Rsa2048, "RSA", 2048},
                                           KeyCase{"Rsa3072", KeyType::Rsa3072, "RSA", 3072},
                                           KeyCase{"Ed25519", KeyType::Ed25519, "ED25519", 256}),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(CertificateRequest, NoSubjectAltNameWhenNoDnsNames) {
    CertificateRequest csr = makeCertificateRequest(KeyType::EcP256, "agent", {}, {});
    Request request = parseRequest(csr.csrPem);
    ASSERT_TRUE(request);
    STACK_OF(X509_EXTENSION)* extensions = X509_REQ_get_extensions(request.get());
    EXPECT_EQ(sk_X509_EXTENSION_num(extensions), extensions == nullptr ? -1 : 0);
    sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
    EXPECT_EQ(X509_NAME_entry_count(X509_REQ_get_subject_name(request.get())), 1);
}

TEST(CertificateRequest, ACommonNameOpenSslRefusesIsAnErrorWithItsReason) {
    // X.520 limits a common name to 64 characters.
    try {
        makeCertificateRequest(KeyType::EcP256, std::string(65, 'a'), {}, {});
        FAIL() << "no error";
    } catch (const std::runtime_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("common name"));
        EXPECT_THAT(e.what(), HasSubstr("string too long"));
    }
}

TEST(CertificateRequest, GarbageIsNoCertificate) {
    CertificateRequest csr = makeCertificateRequest(KeyType::EcP256, "agent", {}, {});
    TestCa ca;
    std::string cert = ca.sign(csr.csrPem, 60s);
    for (const std::string& bad :
         {std::string(), std::string("garbage"), csr.csrPem, csr.privateKeyPem,
          std::string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")}) {
        EXPECT_FALSE(certificateMatchesKey(bad, csr.privateKeyPem));
        EXPECT_FALSE(certificateNotAfter(bad));
        EXPECT_FALSE(certificateCommonName(bad));
    }
    EXPECT_FALSE(certificateMatchesKey(cert, ""));
    EXPECT_FALSE(certificateMatchesKey(cert, "garbage"));
    EXPECT_FALSE(certificateMatchesKey(csr.privateKeyPem, cert));  // swapped
    EXPECT_TRUE(certificateMatchesKey(cert, csr.privateKeyPem));
}

TEST(CertificateRequest, AnEncryptedKeyDoesNotPromptAndDoesNotMatch) {
    CertificateRequest csr = makeCertificateRequest(KeyType::EcP256, "agent", {}, {});
    TestCa ca;
    std::string cert = ca.sign(csr.csrPem, 60s);
    Key key(PEM_read_bio_PrivateKey(readBio(csr.privateKeyPem).get(), nullptr, nullptr, nullptr));
    ASSERT_TRUE(key);
    Bio out(BIO_new(BIO_s_mem()));
    char passphrase[] = "secret";
    ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(out.get(), key.get(), EVP_aes_256_cbc(), passphrase, 6,
                                            nullptr, nullptr),
              1);
    char* data = nullptr;
    long size = BIO_get_mem_data(out.get(), &data);
    std::string encrypted(data, static_cast<std::size_t>(size));
    EXPECT_THAT(encrypted, HasSubstr("ENCRYPTED PRIVATE KEY"));
    EXPECT_FALSE(certificateMatchesKey(cert, encrypted));
}

TEST(CertificateRequest, NotAfterBeyondTheClockIsItsEnd) {
    CertificateRequest csr = makeCertificateRequest(KeyType::EcP256, "agent", {}, {});
    TestCa ca;
    // RFC 5280's "no well-defined expiration date".
    EXPECT_EQ(certificateNotAfter(ca.signUntil(csr.csrPem, "99991231235959Z")),
              std::chrono::system_clock::time_point::max());
    auto exact = certificateNotAfter(ca.signUntil(csr.csrPem, "20300102030405Z"));
    ASSERT_TRUE(exact);
    EXPECT_EQ(std::chrono::system_clock::to_time_t(*exact), 1893553445);
}

TEST(CertificateRequest, NoCommonNameIsNone) {
    TestCa ca;
    CertificateRequest csr = makeCertificateRequest(KeyType::EcP256, "agent", {"Example"}, {});
    // A certificate for the same key whose subject has only the organization.
    Cert cert(
        PEM_read_bio_X509(readBio(ca.sign(csr.csrPem, 60s)).get(), nullptr, nullptr, nullptr));
    ASSERT_TRUE(cert);
    X509_NAME* subject = X509_get_subject_name(cert.get());
    X509_NAME_ENTRY_free(
        X509_NAME_delete_entry(subject, X509_NAME_get_index_by_NID(subject, NID_commonName, -1)));
    ASSERT_EQ(X509_NAME_entry_count(subject), 1);
    ca.resign(cert.get());
    EXPECT_FALSE(certificateCommonName(pem(cert.get())));
    EXPECT_TRUE(certificateMatchesKey(pem(cert.get()), csr.privateKeyPem));
}

}  // namespace
}  // namespace opampsup::opamp
