// Package signatures checked offline, with keys, certificates and signatures made here with
// OpenSSL as a release pipeline would make them: pinned keys of each type, and certificates
// shaped like Fulcio's (OIDC issuer and source repository extensions, a workflow URI as
// subjectAltName) under a root and an intermediate.

#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/opamp/OpenSslHandles.h"
#include "core/packages/SignatureVerifier.h"
#include "support/TempDir.h"

namespace opampsup::packages {
namespace {

namespace fs = std::filesystem;
using namespace opamp::ossl;
using ::testing::AllOf;
using ::testing::HasSubstr;
using TempDir = opampsup::testing::TempDir;

using DigestContext = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using Object = std::unique_ptr<ASN1_OBJECT, Deleter<ASN1_OBJECT_free>>;
using OctetString = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING_free>>;
using Utf8String = std::unique_ptr<ASN1_UTF8STRING, Deleter<ASN1_UTF8STRING_free>>;

constexpr std::uint64_t kNoLimit = 1 << 30;
const std::string kContent = "otelcol-contrib 0.120.0 for linux/amd64\n";

// Sanity for the helpers below: a test stops at the first step OpenSSL refuses.
template <typename T>
T required(T value, const char* what) {
    if (!value) {
        throw std::runtime_error(std::string("test setup: ") + what);
    }
    return value;
}

void requireOk(int result, const char* what) {
    if (result <= 0) {
        throw std::runtime_error(std::string("test setup: ") + what);
    }
}

// Keys

enum class KeyKind { Ed25519, EcP256, Rsa2048 };

Key generateKey(KeyKind kind) {
    switch (kind) {
        case KeyKind::Ed25519:
            return required(Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")), "Ed25519 key");
        case KeyKind::EcP256:
            return required(Key(EVP_EC_gen("P-256")), "P-256 key");
        case KeyKind::Rsa2048:
            return required(Key(EVP_RSA_gen(2048)), "RSA key");
    }
    throw std::invalid_argument("key kind");
}

// RSA keys take a while to make: each test gets the same few keys of each kind.
EVP_PKEY* sharedKey(KeyKind kind, int index = 0) {
    static std::map<std::pair<KeyKind, int>, Key> keys;
    Key& key = keys[{kind, index}];
    if (!key) {
        key = generateKey(kind);
    }
    return key.get();
}

std::string memoryText(BIO* bio) {
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(size));
}

std::string publicKeyPem(EVP_PKEY* key) {
    Bio bio(BIO_new(BIO_s_mem()));
    requireOk(PEM_write_bio_PUBKEY(bio.get(), key), "public key PEM");
    return memoryText(bio.get());
}

// A detached signature as `openssl dgst -sha256 -sign` (ECDSA, RSA) or `openssl pkeyutl
// -sign -rawin` (Ed25519, which takes no digest) makes it.
std::string sign(EVP_PKEY* key, const std::string& content) {
    const EVP_MD* digest = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
    DigestContext context(EVP_MD_CTX_new());
    requireOk(EVP_DigestSignInit(context.get(), nullptr, digest, nullptr, key), "sign init");
    const auto* data = reinterpret_cast<const unsigned char*>(content.data());
    std::size_t length = 0;
    requireOk(EVP_DigestSign(context.get(), nullptr, &length, data, content.size()), "sign size");
    std::string signature(length, '\0');
    requireOk(EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()),
                             &length, data, content.size()),
              "sign");
    signature.resize(length);
    return signature;
}

std::string base64(const std::string& bytes) {
    std::string text(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()),
                                 reinterpret_cast<const unsigned char*>(bytes.data()),
                                 static_cast<int>(bytes.size()));
    text.resize(static_cast<std::size_t>(length));
    return text;
}

// Certificates

const std::string kIssuer = "https://token.actions.githubusercontent.com";
const std::string kRepository = "open-telemetry/opentelemetry-collector-releases";
const std::string kWorkflow =
    "https://github.com/open-telemetry/opentelemetry-collector-releases/.github/workflows/"
    "base-release.yaml@refs/tags/v0.120.0";
constexpr const char* kOidcIssuerOid = "1.3.6.1.4.1.57264.1.8";
constexpr const char* kLegacyOidcIssuerOid = "1.3.6.1.4.1.57264.1.1";
constexpr const char* kLegacyWorkflowRepositoryOid = "1.3.6.1.4.1.57264.1.5";
constexpr const char* kSourceRepositoryUriOid = "1.3.6.1.4.1.57264.1.12";

struct CertSpec {
    std::string commonName;
    bool ca = false;
    std::string extendedKeyUsage;  // OpenSSL config text: "codeSigning", "serverAuth"; "" for none
    std::string keyUsage;          // OpenSSL config text; "" for the usual one of a CA or a leaf
    std::string sanUri;
    std::vector<std::pair<std::string, std::string>> extensions;  // OID, the extension's value
    long notBeforeSeconds = -60;                                  // from now
    long notAfterSeconds = 600;
};

// The DER UTF8String of `text`, as Fulcio's newer extensions hold their values.
std::string utf8Der(const std::string& text) {
    Utf8String value(ASN1_UTF8STRING_new());
    requireOk(ASN1_STRING_set(value.get(), text.data(), static_cast<int>(text.size())), "utf8");
    int length = i2d_ASN1_UTF8STRING(value.get(), nullptr);
    requireOk(length, "utf8 der");
    std::string der(static_cast<std::size_t>(length), '\0');
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    i2d_ASN1_UTF8STRING(value.get(), &out);
    return der;
}

void addConfiguredExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX context;
    X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
    Extension extension(X509V3_EXT_nconf_nid(nullptr, &context, nid, value.c_str()));
    requireOk(extension ? X509_add_ext(cert, extension.get(), -1) : 0, value.c_str());
}

void addRawExtension(X509* cert, const std::string& oid, const std::string& value) {
    Object object(OBJ_txt2obj(oid.c_str(), 1));
    OctetString data(ASN1_OCTET_STRING_new());
    requireOk(object && data ? ASN1_OCTET_STRING_set(
                                   data.get(), reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()))
                             : 0,
              "extension value");
    Extension extension(X509_EXTENSION_create_by_OBJ(nullptr, object.get(), 0, data.get()));
    requireOk(extension ? X509_add_ext(cert, extension.get(), -1) : 0, oid.c_str());
}

// A certificate for `key` as `spec` says, signed by `issuer` with `issuerKey`, or self-signed
// when `issuer` is null.
Cert makeCert(const CertSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuerKey) {
    static long serial = 0;
    Cert cert(required(X509_new(), "certificate"));
    X509_set_version(cert.get(), X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), ++serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.notBeforeSeconds);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.notAfterSeconds);
    if (!spec.commonName.empty()) {
        X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(spec.commonName.c_str()),
                                   -1, -1, 0);
    }
    X509* signer = issuer != nullptr ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
    X509_set_pubkey(cert.get(), key);
    addConfiguredExtension(cert.get(), signer, NID_basic_constraints,
                           spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    addConfiguredExtension(cert.get(), signer, NID_key_usage,
                           !spec.keyUsage.empty() ? spec.keyUsage
                           : spec.ca              ? "critical,keyCertSign,cRLSign"
                                                  : "critical,digitalSignature");
    if (!spec.extendedKeyUsage.empty()) {
        addConfiguredExtension(cert.get(), signer, NID_ext_key_usage, spec.extendedKeyUsage);
    }
    if (!spec.sanUri.empty()) {
        addConfiguredExtension(cert.get(), signer, NID_subject_alt_name, "URI:" + spec.sanUri);
    }
    for (const auto& [oid, value] : spec.extensions) {
        addRawExtension(cert.get(), oid, value);
    }
    requireOk(X509_sign(cert.get(), issuerKey != nullptr ? issuerKey : key, EVP_sha256()),
              "certificate signature");
    return cert;
}

std::string certPem(X509* cert) {
    Bio bio(BIO_new(BIO_s_mem()));
    requireOk(PEM_write_bio_X509(bio.get(), cert), "certificate PEM");
    return memoryText(bio.get());
}

std::string certDer(X509* cert) {
    int length = i2d_X509(cert, nullptr);
    requireOk(length, "certificate DER");
    std::string der(static_cast<std::size_t>(length), '\0');
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    i2d_X509(cert, &out);
    return der;
}

// What a refused signature is refused for; "" when it verifies.
std::string refusal(const SignatureVerifier& verifier, const fs::path& file,
                    const std::string& signature) {
    try {
        verifier.verify(file, signature);
        return "";
    } catch (const VerificationError& e) {
        return e.what();
    }
}

// The startup error making a verifier gives; "" when it is made.
std::string startupError(const std::function<std::unique_ptr<SignatureVerifier>()>& make) {
    try {
        return make() ? "" : "null verifier";
    } catch (const VerificationError& e) {
        return std::string("a VerificationError at startup: ") + e.what();
    } catch (const std::runtime_error& e) {
        return e.what();
    }
}

// Pinned public keys

struct KeyCase {
    const char* name;
    KeyKind kind;
};

void PrintTo(const KeyCase& c, std::ostream* out) {
    *out << c.name;
}

class PublicKeyByType : public ::testing::TestWithParam<KeyCase> {
  protected:
    EVP_PKEY* key() const { return sharedKey(GetParam().kind); }
    EVP_PKEY* otherKey() const { return sharedKey(GetParam().kind, 1); }

    std::unique_ptr<SignatureVerifier> verifier() const {
        return makePublicKeyVerifier({dir.write("key.pem", publicKeyPem(key()))}, kNoLimit);
    }

    TempDir dir;
    fs::path package = dir.write("otelcol-contrib", kContent);
};

TEST_P(PublicKeyByType, RawSignatureVerifies) {
    EXPECT_EQ(refusal(*verifier(), package, sign(key(), kContent)), "");
}

TEST_P(PublicKeyByType, Base64SignatureVerifies) {
    std::string text = base64(sign(key(), kContent));
    EXPECT_EQ(refusal(*verifier(), package, text), "");
    EXPECT_EQ(refusal(*verifier(), package, " " + text + "\n"), "") << "surrounding whitespace";
}

TEST_P(PublicKeyByType, TamperedFileIsRefused) {
    std::string signature = sign(key(), kContent);
    fs::path tampered = dir.write("tampered", "otelcol-contrib 0.120.0 for linux/arm64\n");
    EXPECT_EQ(refusal(*verifier(), tampered, signature),
              "no key in agent.package.verifier.public_key.keys verifies the signature");
}

TEST_P(PublicKeyByType, SignatureByAnotherKeyIsRefused) {
    EXPECT_EQ(refusal(*verifier(), package, base64(sign(otherKey(), kContent))),
              "no key in agent.package.verifier.public_key.keys verifies the signature");
}

INSTANTIATE_TEST_SUITE_P(Keys, PublicKeyByType,
                         ::testing::Values(KeyCase{"Ed25519", KeyKind::Ed25519},
                                           KeyCase{"EcP256", KeyKind::EcP256},
                                           KeyCase{"Rsa2048", KeyKind::Rsa2048}),
                         [](const auto& test) { return std::string(test.param.name); });

TEST(PublicKey, NameIsPublicKey) {
    TempDir dir;
    auto verifier = makePublicKeyVerifier(
        {dir.write("key.pem", publicKeyPem(sharedKey(KeyKind::EcP256)))}, kNoLimit);
    EXPECT_EQ(verifier->name(), "public_key");
}

TEST(PublicKey, Base64WrappedInLinesVerifies) {
    TempDir dir;
    EVP_PKEY* key = sharedKey(KeyKind::Rsa2048);
    auto verifier = makePublicKeyVerifier({dir.write("key.pem", publicKeyPem(key))}, kNoLimit);
    std::string text = base64(sign(key, kContent));  // 344 characters
    std::string wrapped;
    for (std::size_t i = 0; i < text.size(); i += 64) {
        wrapped += text.substr(i, 64) + "\n";  // as `openssl base64` prints it
    }
    EXPECT_EQ(refusal(*verifier, dir.write("pkg", kContent), wrapped), "");
}

TEST(PublicKey, AnyKeyOfAnyFileVerifies) {
    TempDir dir;
    EVP_PKEY* ed = sharedKey(KeyKind::Ed25519);
    EVP_PKEY* ec = sharedKey(KeyKind::EcP256);
    EVP_PKEY* rsa = sharedKey(KeyKind::Rsa2048);
    auto verifier = makePublicKeyVerifier({dir.write("a.pem", publicKeyPem(ed) + publicKeyPem(ec)),
                                           dir.write("b.pem", publicKeyPem(rsa))},
                                          kNoLimit);
    fs::path package = dir.write("pkg", kContent);
    for (EVP_PKEY* key : {ed, ec, rsa}) {
        EXPECT_EQ(refusal(*verifier, package, sign(key, kContent)), "")
            << EVP_PKEY_get0_type_name(key);
    }
    EXPECT_THAT(refusal(*verifier, package, sign(sharedKey(KeyKind::EcP256, 1), kContent)),
                HasSubstr("no key"));
}

TEST(PublicKey, MissingSignatureIsRefused) {
    TempDir dir;
    auto verifier = makePublicKeyVerifier(
        {dir.write("key.pem", publicKeyPem(sharedKey(KeyKind::EcP256)))}, kNoLimit);
    fs::path package = dir.write("pkg", kContent);
    EXPECT_EQ(refusal(*verifier, package, ""), "the package is not signed");
    EXPECT_EQ(refusal(*verifier, package, " \n"), "the package is not signed");
}

TEST(PublicKey, GarbageSignatureIsRefused) {
    TempDir dir;
    auto verifier = makePublicKeyVerifier(
        {dir.write("key.pem", publicKeyPem(sharedKey(KeyKind::Ed25519))),
         dir.write("more.pem", publicKeyPem(sharedKey(KeyKind::EcP256)) +
                                   publicKeyPem(sharedKey(KeyKind::Rsa2048)))},
        kNoLimit);
    fs::path package = dir.write("pkg", kContent);
    for (const std::string& garbage :
         {std::string("not a signature"), std::string("AAAA"), std::string("\x30\x03\x02\x01", 4),
          std::string(64, '\xff'), std::string(256, '\0')}) {
        EXPECT_EQ(refusal(*verifier, package, garbage),
                  "no key in agent.package.verifier.public_key.keys verifies the signature");
    }
}

TEST(PublicKey, KeyFileWithNoKeyNamesTheFile) {
    TempDir dir;
    fs::path empty = dir.write("empty.pem", "");
    fs::path text = dir.write("notes.pem", "this is not a key\n");
    fs::path missing = dir.path() / "missing.pem";
    for (const fs::path& file : {empty, text}) {
        EXPECT_THAT(startupError([&] { return makePublicKeyVerifier({file}, kNoLimit); }),
                    AllOf(HasSubstr("agent.package.verifier.public_key.keys"),
                          HasSubstr(file.string()), HasSubstr("holds no public key")));
    }
    EXPECT_THAT(startupError([&] { return makePublicKeyVerifier({missing}, kNoLimit); }),
                AllOf(HasSubstr("cannot read"), HasSubstr(missing.string())));
}

TEST(PublicKey, CorruptKeyNamesTheFile) {
    TempDir dir;
    fs::path truncated =
        dir.write("truncated.pem",
                  "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n");
    EXPECT_THAT(
        startupError([&] { return makePublicKeyVerifier({truncated}, kNoLimit); }),
        AllOf(HasSubstr(truncated.string()), HasSubstr("key 1 is not a SubjectPublicKeyInfo")));
    fs::path badBase64 =
        dir.write("bad.pem", "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n");
    EXPECT_THAT(startupError([&] { return makePublicKeyVerifier({badBase64}, kNoLimit); }),
                AllOf(HasSubstr(badBase64.string()), HasSubstr("malformed PEM")));
}

TEST(PublicKey, UnsupportedKeyTypeNamesTheFile) {
    TempDir dir;
    Key x25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
    fs::path file = dir.write("x25519.pem", publicKeyPem(x25519.get()));
    EXPECT_THAT(startupError([&] { return makePublicKeyVerifier({file}, kNoLimit); }),
                AllOf(HasSubstr(file.string()), HasSubstr("X25519")));
}

TEST(PublicKey, NoKeyFileIsAStartupError) {
    EXPECT_THAT(startupError([] { return makePublicKeyVerifier({}, kNoLimit); }),
                HasSubstr("agent.package.verifier.public_key.keys"));
}

TEST(PublicKey, Ed25519RefusesFilesOverTheInMemoryLimit) {
    TempDir dir;
    EVP_PKEY* key = sharedKey(KeyKind::Ed25519);
    const std::uint64_t limit = kContent.size();
    auto verifier = makePublicKeyVerifier({dir.write("key.pem", publicKeyPem(key))}, limit);
    EXPECT_EQ(refusal(*verifier, dir.write("at-limit", kContent), sign(key, kContent)), "");

    std::string larger = kContent + "!";
    EXPECT_EQ(refusal(*verifier, dir.write("over-limit", larger), sign(key, larger)),
              "the package is " + std::to_string(larger.size()) +
                  " bytes, more than the in-memory limit of " + std::to_string(limit) +
                  " bytes for Ed25519 verification");
}

TEST(PublicKey, EcdsaAndRsaStreamFilesOverTheInMemoryLimit) {
    TempDir dir;
    std::string large(300 * 1024 + 7, 'x');  // several read chunks
    fs::path package = dir.write("large", large);
    for (KeyKind kind : {KeyKind::EcP256, KeyKind::Rsa2048}) {
        EVP_PKEY* key = sharedKey(kind);
        auto verifier = makePublicKeyVerifier({dir.write("key.pem", publicKeyPem(key))}, 16);
        EXPECT_EQ(refusal(*verifier, package, sign(key, large)), "")
            << EVP_PKEY_get0_type_name(key);
    }
}

TEST(PublicKey, OtherKeysAreTriedWhenEd25519CannotBe) {
    TempDir dir;
    EVP_PKEY* ed = sharedKey(KeyKind::Ed25519);
    EVP_PKEY* ec = sharedKey(KeyKind::EcP256);
    auto verifier =
        makePublicKeyVerifier({dir.write("keys.pem", publicKeyPem(ed) + publicKeyPem(ec))}, 4);
    fs::path package = dir.write("pkg", kContent);
    EXPECT_EQ(refusal(*verifier, package, sign(ec, kContent)), "");
    EXPECT_THAT(refusal(*verifier, package, sign(ed, kContent)),
                AllOf(HasSubstr("no key"), HasSubstr("Ed25519 keys not tried"),
                      HasSubstr("in-memory limit of 4 bytes")));
}

TEST(PublicKey, MissingPackageIsRefused) {
    TempDir dir;
    EVP_PKEY* key = sharedKey(KeyKind::EcP256);
    auto verifier = makePublicKeyVerifier({dir.write("key.pem", publicKeyPem(key))}, kNoLimit);
    EXPECT_THAT(refusal(*verifier, dir.path() / "gone", sign(key, kContent)),
                HasSubstr("cannot read the package"));
}

// Certificates (cosign keyless style)

config::CosignIdentity identity(std::string issuer, std::string subject) {
    return config::CosignIdentity{std::move(issuer), "", std::move(subject), ""};
}

config::CosignIdentity identityRegex(std::string issuerRegex, std::string subjectRegex) {
    return config::CosignIdentity{"", std::move(issuerRegex), "", std::move(subjectRegex)};
}

config::CosignIdentity identitySubjectRegex(std::string issuer, std::string subjectRegex) {
    return config::CosignIdentity{std::move(issuer), "", "", std::move(subjectRegex)};
}

config::CosignIdentity identityIssuerRegex(std::string issuerRegex, std::string subject) {
    return config::CosignIdentity{"", std::move(issuerRegex), std::move(subject), ""};
}

CertSpec caSpec(std::string commonName) {
    CertSpec spec;
    spec.commonName = std::move(commonName);
    spec.ca = true;
    return spec;
}

class Cosign : public ::testing::Test {
  protected:
    // A Fulcio-style leaf: workflow URI, OIDC issuer and source repository, codeSigning.
    static CertSpec fulcioLeaf() {
        CertSpec spec;
        spec.extendedKeyUsage = "codeSigning";
        spec.sanUri = kWorkflow;
        spec.extensions = {{kOidcIssuerOid, utf8Der(kIssuer)},
                           {kSourceRepositoryUriOid, utf8Der("https://github.com/" + kRepository)}};
        return spec;
    }

    Cert leaf(const CertSpec& spec, EVP_PKEY* key = nullptr) const {
        return makeCert(spec, key != nullptr ? key : leafKey.get(), intermediate.get(),
                        intermediateKey.get());
    }

    // "<base64 PEM certificate> <base64 signature>", as the server sends it.
    std::string signature(X509* cert, EVP_PKEY* key = nullptr) const {
        return base64(certPem(cert)) + " " +
               base64(sign(key != nullptr ? key : leafKey.get(), kContent));
    }

    std::unique_ptr<SignatureVerifier> verifier(std::vector<config::CosignIdentity> identities,
                                                const std::string& repository = "") const {
        return makeCertificateVerifier({rootsFile, intermediatesFile}, identities, repository,
                                       kNoLimit);
    }

    std::string refusalFor(const CertSpec& spec, std::vector<config::CosignIdentity> identities,
                           const std::string& repository = "") const {
        Cert cert = leaf(spec);
        return refusal(*verifier(std::move(identities), repository), package,
                       signature(cert.get()));
    }

    TempDir dir;
    fs::path package = dir.write("otelcol-contrib", kContent);
    Key rootKey = generateKey(KeyKind::EcP256);
    Key intermediateKey = generateKey(KeyKind::EcP256);
    Key leafKey = generateKey(KeyKind::EcP256);
    Cert root = makeCert(caSpec("Test Root"), rootKey.get(), nullptr, nullptr);
    Cert intermediate =
        makeCert(caSpec("Test Intermediate"), intermediateKey.get(), root.get(), rootKey.get());
    fs::path rootsFile = dir.write("roots.pem", certPem(root.get()));
    fs::path intermediatesFile = dir.write("intermediates.pem", certPem(intermediate.get()));
    const std::vector<config::CosignIdentity> anyGithubWorkflow = {identityRegex(
        "https://token\\.actions\\.githubusercontent\\.com", "https://github\\.com/.*")};
};

TEST_F(Cosign, CertificateThroughTheIntermediateVerifies) {
    EXPECT_EQ(refusalFor(fulcioLeaf(), {identity(kIssuer, kWorkflow)}), "");
    EXPECT_EQ(verifier(anyGithubWorkflow)->name(), "cosign");
}

TEST_F(Cosign, IntermediateMayShareTheRootsFile) {
    fs::path bundle = dir.write("bundle.pem", certPem(intermediate.get()) + certPem(root.get()));
    auto verifier = makeCertificateVerifier({bundle}, anyGithubWorkflow, "", kNoLimit);
    Cert cert = leaf(fulcioLeaf());
    EXPECT_EQ(refusal(*verifier, package, signature(cert.get())), "");
}

TEST_F(Cosign, CertificateAsBase64OfDerVerifies) {
    Cert cert = leaf(fulcioLeaf());
    std::string field = base64(certDer(cert.get())) + " " + base64(sign(leafKey.get(), kContent));
    EXPECT_EQ(refusal(*verifier(anyGithubWorkflow), package, field), "");
}

TEST_F(Cosign, SeparatorMayBeAnyWhitespace) {
    Cert cert = leaf(fulcioLeaf());
    std::string field =
        "\n" + base64(certPem(cert.get())) + "\n\t" + base64(sign(leafKey.get(), kContent)) + "\n";
    EXPECT_EQ(refusal(*verifier(anyGithubWorkflow), package, field), "");
}

TEST_F(Cosign, ExpiredCertificateStillVerifies) {
    CertSpec spec = fulcioLeaf();
    spec.notBeforeSeconds = -2 * 24 * 3600;
    spec.notAfterSeconds = -24 * 3600;  // Fulcio's certificates expire after ten minutes
    EXPECT_EQ(refusalFor(spec, anyGithubWorkflow), "");
}

TEST_F(Cosign, Ed25519AndRsaCertificateKeysVerify) {
    for (KeyKind kind : {KeyKind::Ed25519, KeyKind::Rsa2048}) {
        EVP_PKEY* key = sharedKey(kind);
        Cert cert = leaf(fulcioLeaf(), key);
        EXPECT_EQ(refusal(*verifier(anyGithubWorkflow), package, signature(cert.get(), key)), "")
            << EVP_PKEY_get0_type_name(key);
    }
}

TEST_F(Cosign, OtherRootIsRefusedForTheChain) {
    Key otherKey = generateKey(KeyKind::EcP256);
    Cert otherRoot = makeCert(caSpec("Other Root"), otherKey.get(), nullptr, nullptr);
    auto verifier = makeCertificateVerifier(
        {dir.write("other.pem", certPem(otherRoot.get())), intermediatesFile}, anyGithubWorkflow,
        "", kNoLimit);
    Cert cert = leaf(fulcioLeaf());
    EXPECT_THAT(refusal(*verifier, package, signature(cert.get())),
                HasSubstr("certificate does not chain to "
                          "agent.package.verifier.cosign.root_certificates: unable to get"));
}

TEST_F(Cosign, MissingIntermediateIsRefusedForTheChain) {
    auto verifier = makeCertificateVerifier({rootsFile}, anyGithubWorkflow, "", kNoLimit);
    Cert cert = leaf(fulcioLeaf());
    EXPECT_EQ(refusal(*verifier, package, signature(cert.get())),
              "certificate does not chain to agent.package.verifier.cosign.root_certificates: "
              "unable to get local issuer certificate");
}

TEST_F(Cosign, SelfSignedLeafIsRefusedForTheChain) {
    CertSpec spec = fulcioLeaf();
    spec.commonName = "Impostor";
    Cert cert = makeCert(spec, leafKey.get(), nullptr, nullptr);
    EXPECT_THAT(refusal(*verifier(anyGithubWorkflow), package, signature(cert.get())),
                HasSubstr("does not chain to"));
}

TEST_F(Cosign, TamperedFileIsRefused) {
    Cert cert = leaf(fulcioLeaf());
    std::string field = signature(cert.get());
    fs::path tampered = dir.write("tampered", kContent + "#");
    EXPECT_EQ(refusal(*verifier(anyGithubWorkflow), tampered, field),
              "the signature does not verify with the certificate's key");
}

TEST_F(Cosign, SignatureByAnotherKeyIsRefused) {
    Cert cert = leaf(fulcioLeaf());
    EXPECT_EQ(refusal(*verifier(anyGithubWorkflow), package,
                      signature(cert.get(), sharedKey(KeyKind::EcP256))),
              "the signature does not verify with the certificate's key");
}

TEST_F(Cosign, IssuerMatchesExactlyOrByRegex) {
    EXPECT_EQ(refusalFor(fulcioLeaf(), {identity(kIssuer, kWorkflow)}), "");
    EXPECT_EQ(refusalFor(fulcioLeaf(), {identityRegex("https://token\\..*", ".*")}), "");
}

TEST_F(Cosign, IssuerMismatchIsRefused) {
    std::string expected =
        "certificate identity matches none of agent.package.verifier.cosign.identities (issuer \"" +
        kIssuer + "\", subject \"" + kWorkflow + "\")";
    EXPECT_EQ(refusalFor(fulcioLeaf(), {identity("https://accounts.google.com", kWorkflow)}),
              expected);
    EXPECT_EQ(refusalFor(fulcioLeaf(), {identityRegex("https://accounts\\..*", ".*")}), expected);
    EXPECT_EQ(refusalFor(fulcioLeaf(), {identity(kIssuer + "/", kWorkflow)}), expected);
}

TEST_F(Cosign, SubjectMatchesTheSanUriExactlyOrByRegex) {
    EXPECT_EQ(refusalFor(fulcioLeaf(), {identity(kIssuer, kWorkflow)}), "");
    EXPECT_EQ(
        refusalFor(fulcioLeaf(), {identitySubjectRegex(
                                     kIssuer,
                                     "https://github\\.com/open-telemetry/"
                                     "opentelemetry-collector-releases/\\.github/workflows/.*")}),
        "");
    EXPECT_THAT(refusalFor(fulcioLeaf(), {identity(kIssuer, "https://github.com/someone/else")}),
                HasSubstr("matches none of"));
}

TEST_F(Cosign, SubjectRegexMustMatchTheWholeSubject) {
    EXPECT_THAT(refusalFor(fulcioLeaf(),
                           {identitySubjectRegex(kIssuer, "https://github\\.com/open-telemetry/")}),
                HasSubstr("matches none of"));
    EXPECT_THAT(refusalFor(fulcioLeaf(), {identitySubjectRegex(kIssuer, "base-release")}),
                HasSubstr("matches none of"));
    EXPECT_THAT(refusalFor(fulcioLeaf(), {identityIssuerRegex("https://token", kWorkflow)}),
                HasSubstr("matches none of"));
}

TEST_F(Cosign, AnyIdentityMayMatch) {
    EXPECT_EQ(refusalFor(fulcioLeaf(), {identity("https://accounts.google.com", "me@example.com"),
                                        identity(kIssuer, kWorkflow)}),
              "");
}

TEST_F(Cosign, IssuerAndSubjectNamesServeWithoutFulcioExtensions) {
    CertSpec spec;
    spec.commonName = "release-signer";
    spec.extendedKeyUsage = "codeSigning";
    EXPECT_EQ(refusalFor(spec, {identity("CN=Test Intermediate", "CN=release-signer")}), "");
    EXPECT_EQ(refusalFor(spec, {identity(kIssuer, "CN=release-signer")}),
              "certificate identity matches none of agent.package.verifier.cosign.identities "
              "(issuer \"CN=Test Intermediate\", subject \"CN=release-signer\")");
}

TEST_F(Cosign, LegacyIssuerExtensionHoldsRawText) {
    CertSpec spec = fulcioLeaf();
    spec.extensions = {{kLegacyOidcIssuerOid, kIssuer}};
    EXPECT_EQ(refusalFor(spec, {identity(kIssuer, kWorkflow)}), "");
}

TEST_F(Cosign, WorkflowRepositoryMatchesTheSourceRepositoryUri) {
    EXPECT_EQ(refusalFor(fulcioLeaf(), anyGithubWorkflow, kRepository), "");
}

TEST_F(Cosign, WorkflowRepositoryMatchesTheLegacyExtension) {
    CertSpec spec = fulcioLeaf();
    spec.extensions = {{kOidcIssuerOid, utf8Der(kIssuer)},
                       {kLegacyWorkflowRepositoryOid, kRepository}};
    EXPECT_EQ(refusalFor(spec, anyGithubWorkflow, kRepository), "");
}

TEST_F(Cosign, OtherWorkflowRepositoryIsRefused) {
    EXPECT_EQ(refusalFor(fulcioLeaf(), anyGithubWorkflow, "someone/fork"),
              "certificate is not from agent.package.verifier.cosign.github_workflow_repository "
              "\"someone/fork\" (it names source repository \"https://github.com/" +
                  kRepository + "\")");
    CertSpec noRepository = fulcioLeaf();
    noRepository.extensions = {{kOidcIssuerOid, utf8Der(kIssuer)}};
    EXPECT_THAT(refusalFor(noRepository, anyGithubWorkflow, kRepository),
                HasSubstr("(it names no repository)"));
}

TEST_F(Cosign, ExtendedKeyUsageWithoutCodeSigningIsRefused) {
    CertSpec spec = fulcioLeaf();
    spec.extendedKeyUsage = "serverAuth";
    EXPECT_EQ(refusalFor(spec, anyGithubWorkflow),
              "certificate extended key usage lacks codeSigning");
    spec.extendedKeyUsage = "serverAuth,codeSigning";
    EXPECT_EQ(refusalFor(spec, anyGithubWorkflow), "");
}

TEST_F(Cosign, CertificateWithoutExtendedKeyUsageIsRefused) {
    CertSpec spec = fulcioLeaf();
    spec.extendedKeyUsage.clear();
    EXPECT_EQ(refusalFor(spec, anyGithubWorkflow),
              "certificate has no extended key usage (codeSigning needed)");
}

TEST_F(Cosign, KeyUsageWithoutDigitalSignatureIsRefused) {
    CertSpec spec = fulcioLeaf();
    spec.keyUsage = "critical,keyEncipherment";
    EXPECT_EQ(refusalFor(spec, anyGithubWorkflow), "certificate key usage lacks digitalSignature");
}

TEST_F(Cosign, ACaCertificateDoesNotSignPackages) {
    CertSpec spec = fulcioLeaf();
    spec.ca = true;
    spec.keyUsage = "critical,digitalSignature,keyCertSign";
    EXPECT_EQ(refusalFor(spec, anyGithubWorkflow),
              "certificate is a CA certificate, not a signing one");
}

// A requester may choose the subject name where a CA allows it: with alternative names
// present, only they count.
TEST_F(Cosign, TheSubjectNameDoesNotStandBesideAlternativeNames) {
    CertSpec spec = fulcioLeaf();
    spec.commonName = "trusted@example.com";
    EXPECT_THAT(refusalFor(spec, {identity(kIssuer, "CN=trusted@example.com")}),
                HasSubstr("matches none of"));
    EXPECT_THAT(refusalFor(spec, {identitySubjectRegex(kIssuer, ".*@example\\.com")}),
                HasSubstr("matches none of"));
}

TEST_F(Cosign, VeryLongNamesAreRefusedBeforeAnyRegex) {
    CertSpec spec = fulcioLeaf();
    spec.sanUri = "https://example.com/" + std::string(5000, 'a');
    EXPECT_EQ(refusalFor(spec, {identitySubjectRegex(kIssuer, "(a+)+b")}),
              "certificate issuer or subject is longer than 4096 bytes");
}

TEST_F(Cosign, BothRepositoryExtensionsMustNameTheRepository) {
    CertSpec spec = fulcioLeaf();
    spec.extensions = {{kOidcIssuerOid, utf8Der(kIssuer)},
                       {kLegacyWorkflowRepositoryOid, kRepository},
                       {kSourceRepositoryUriOid, utf8Der("https://github.com/someone/fork")}};
    EXPECT_THAT(refusalFor(spec, anyGithubWorkflow, kRepository),
                HasSubstr("certificate is not from"));
}

TEST_F(Cosign, MalformedSignatureFieldIsRefused) {
    Cert cert = leaf(fulcioLeaf());
    std::string certText = base64(certPem(cert.get()));
    std::string sigText = base64(sign(leafKey.get(), kContent));
    auto check = verifier(anyGithubWorkflow);
    const std::string notTwoParts = "signature: not \"<base64 certificate> <base64 signature>\"";
    EXPECT_EQ(refusal(*check, package, certText), notTwoParts);
    EXPECT_EQ(refusal(*check, package, sigText), notTwoParts);
    EXPECT_EQ(refusal(*check, package, certText + " " + sigText + " " + sigText), notTwoParts);
    EXPECT_EQ(refusal(*check, package, certText + "! " + sigText),
              "signature: the certificate is not base64");
    EXPECT_EQ(refusal(*check, package, certText + " " + sigText.substr(1)),
              "signature: the signature is not base64");
    EXPECT_EQ(refusal(*check, package, base64("not a certificate") + " " + sigText),
              "signature: the certificate is neither PEM nor DER");
}

TEST_F(Cosign, MissingSignatureIsRefused) {
    EXPECT_EQ(refusal(*verifier(anyGithubWorkflow), package, ""), "the package is not signed");
}

TEST_F(Cosign, RootsNeedASelfSignedCertificate) {
    EXPECT_THAT(startupError([&] {
                    return makeCertificateVerifier({intermediatesFile}, anyGithubWorkflow, "",
                                                   kNoLimit);
                }),
                HasSubstr("agent.package.verifier.cosign.root_certificates: no self-signed"));
    fs::path empty = dir.write("empty.pem", "no certificates here\n");
    EXPECT_THAT(
        startupError([&] {
            return makeCertificateVerifier({rootsFile, empty}, anyGithubWorkflow, "", kNoLimit);
        }),
        AllOf(HasSubstr(empty.string()), HasSubstr("holds no certificate")));
    fs::path missing = dir.path() / "missing.pem";
    EXPECT_THAT(startupError([&] {
                    return makeCertificateVerifier({missing}, anyGithubWorkflow, "", kNoLimit);
                }),
                AllOf(HasSubstr(missing.string()), HasSubstr("cannot read")));
}

TEST_F(Cosign, IdentitiesAreCheckedAtStartup) {
    EXPECT_THAT(
        startupError([&] { return makeCertificateVerifier({rootsFile}, {}, "", kNoLimit); }),
        HasSubstr("agent.package.verifier.cosign.identities"));
    EXPECT_THAT(startupError([&] {
                    return makeCertificateVerifier({rootsFile}, {identityRegex("(", ".*")}, "",
                                                   kNoLimit);
                }),
                HasSubstr("agent.package.verifier.cosign.identities[0].issuer_regex: invalid"));
    EXPECT_THAT(startupError([&] {
                    return makeCertificateVerifier({rootsFile}, {identity("", kWorkflow)}, "",
                                                   kNoLimit);
                }),
                HasSubstr("exactly one of issuer and issuer_regex"));
}

}  // namespace
}  // namespace opampsup::packages
