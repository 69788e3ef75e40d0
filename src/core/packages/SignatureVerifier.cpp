#include "core/packages/SignatureVerifier.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "core/opamp/OpenSslHandles.h"

namespace opampsup::packages {
namespace {

namespace fs = std::filesystem;
using namespace opamp::ossl;

using Object = std::unique_ptr<ASN1_OBJECT, Deleter<ASN1_OBJECT_free>>;
using Utf8String = std::unique_ptr<ASN1_UTF8STRING, Deleter<ASN1_UTF8STRING_free>>;
using DigestContext = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreContext = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;

struct CertsDeleter {
    void operator()(STACK_OF(X509) * certs) const { sk_X509_pop_free(certs, X509_free); }
};
using Certs = std::unique_ptr<STACK_OF(X509), CertsDeleter>;

constexpr std::string_view kKeysSetting = "agent.package.verifier.public_key.keys";
constexpr std::string_view kRootsSetting = "agent.package.verifier.cosign.root_certificates";
constexpr std::string_view kIdentitiesSetting = "agent.package.verifier.cosign.identities";
constexpr std::string_view kRepositorySetting =
    "agent.package.verifier.cosign.github_workflow_repository";

// Fulcio's certificate extensions (github.com/sigstore/fulcio, docs/oid-info.md). The
// legacy ones hold raw bytes, the newer ones a DER UTF8String.
constexpr const char* kOidcIssuerOid = "1.3.6.1.4.1.57264.1.8";
constexpr const char* kLegacyOidcIssuerOid = "1.3.6.1.4.1.57264.1.1";
constexpr const char* kLegacyWorkflowRepositoryOid = "1.3.6.1.4.1.57264.1.5";
constexpr const char* kSourceRepositoryUriOid = "1.3.6.1.4.1.57264.1.12";

const unsigned char* bytesOf(const std::string& text) {
    return reinterpret_cast<const unsigned char*>(text.data());
}

std::string inQuotes(const std::string& text) {
    return "\"" + text + "\"";
}

// Drops OpenSSL's queued reasons for a failure already handled, so they cannot be blamed
// on a later call.
void forgetOpenSslErrors() {
    ERR_clear_error();
}

// The reasons OpenSSL queued for the failure just seen, emptying the queue.
std::string openSslReasons() {
    std::string reasons;
    while (unsigned long code = ERR_get_error()) {
        char buffer[256];
        ERR_error_string_n(code, buffer, sizeof buffer);
        reasons += (reasons.empty() ? "" : "; ") + std::string(buffer);
    }
    return reasons.empty() ? "unknown OpenSSL error" : reasons;
}

// Refuses instead of asking: by default OpenSSL prompts on the terminal for the passphrase
// of a PEM block marked encrypted, and the certificate comes from the server.
int noPassphrase(char*, int, int, void*) {
    return -1;
}

bool isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

bool isBlank(std::string_view text) {
    return std::all_of(text.begin(), text.end(), isSpace);
}

int base64Digit(char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

// The bytes `text` encodes in standard base64 with padding; nullopt when it is anything
// else, so that raw signature bytes are never mistaken for text.
std::optional<std::string> decodeBase64(std::string_view text) {
    if (text.empty() || text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::size_t padding = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
    std::string out;
    out.reserve(text.size() / 4 * 3);
    std::uint32_t group = 0;
    for (std::size_t i = 0; i < text.size() - padding; ++i) {
        int digit = base64Digit(text[i]);
        if (digit < 0) {
            return std::nullopt;  // also an '=' anywhere but at the end
        }
        group = group << 6 | static_cast<std::uint32_t>(digit);
        if (i % 4 == 3) {
            out.push_back(static_cast<char>(group >> 16 & 0xff));
            out.push_back(static_cast<char>(group >> 8 & 0xff));
            out.push_back(static_cast<char>(group & 0xff));
            group = 0;
        }
    }
    if (padding == 1) {  // three digits: 18 bits, two bytes
        out.push_back(static_cast<char>(group >> 10 & 0xff));
        out.push_back(static_cast<char>(group >> 2 & 0xff));
    } else if (padding == 2) {  // two digits: 12 bits, one byte
        out.push_back(static_cast<char>(group >> 4 & 0xff));
    }
    return out;
}

std::string withoutSpaces(std::string_view text) {
    std::string out;
    std::copy_if(text.begin(), text.end(), std::back_inserter(out),
                 [](char c) { return !isSpace(c); });
    return out;
}

std::vector<std::string_view> words(std::string_view text) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < text.size()) {
        if (isSpace(text[i])) {
            ++i;
            continue;
        }
        std::size_t end = i;
        while (end < text.size() && !isSpace(text[end])) {
            ++end;
        }
        out.push_back(text.substr(i, end - i));
        i = end;
    }
    return out;
}

std::string errnoReason(int error) {
    return error != 0 ? ": " + std::generic_category().message(error) : std::string();
}

// The whole of a (small) configured file.
std::string readSettingFile(const fs::path& path, std::string_view setting) {
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error(std::string(setting) + ": cannot read " + inQuotes(path.string()) +
                                 errnoReason(errno));
    }
    std::ostringstream content;
    content << in.rdbuf();
    std::string text = std::move(content).str();
    if (text.size() > static_cast<std::size_t>(INT_MAX)) {
        throw std::runtime_error(std::string(setting) + ": " + inQuotes(path.string()) +
                                 " is too large");
    }
    return text;
}

struct OpenSslFree {
    void operator()(void* p) const { OPENSSL_free(p); }
};

struct PemBlock {
    std::string label;  // "PUBLIC KEY", "CERTIFICATE"...
    std::string der;
};

// The PEM blocks of the configured file `path`, read from `text`.
std::vector<PemBlock> pemBlocks(const std::string& text, const fs::path& path,
                                std::string_view setting) {
    forgetOpenSslErrors();  // so that only this file's reasons are reported
    Bio bio = memoryBio(text);
    std::vector<PemBlock> blocks;
    while (true) {
        char* label = nullptr;
        char* header = nullptr;
        unsigned char* data = nullptr;
        long length = 0;
        int read = PEM_read_bio(bio.get(), &label, &header, &data, &length);
        std::unique_ptr<char, OpenSslFree> ownedLabel(label);
        std::unique_ptr<char, OpenSslFree> ownedHeader(header);
        std::unique_ptr<unsigned char, OpenSslFree> ownedData(data);
        if (read != 1) {
            break;
        }
        blocks.push_back({label, std::string(reinterpret_cast<const char*>(data),
                                             static_cast<std::size_t>(length))});
    }
    // The reader stops with "no start line" once no block is left; anything else is damage.
    unsigned long code = ERR_peek_last_error();
    if (ERR_GET_LIB(code) != ERR_LIB_PEM || ERR_GET_REASON(code) != PEM_R_NO_START_LINE) {
        throw std::runtime_error(std::string(setting) + ": " + inQuotes(path.string()) +
                                 ": malformed PEM: " + openSslReasons());
    }
    forgetOpenSslErrors();
    return blocks;
}

// The package's content as the checks need it, each read at most once: its SHA-256
// (streamed) for ECDSA and RSA, and all its bytes for Ed25519, which signs the message
// itself rather than a digest and so cannot be streamed.
class PackageContent {
  public:
    PackageContent(fs::path file, std::uint64_t maxInMemoryBytes)
        : file_(std::move(file)), maxInMemoryBytes_(maxInMemoryBytes) {}

    const std::string& sha256() {
        if (!sha256_) {
            sha256_ = computeSha256();
        }
        return *sha256_;
    }

    bool fitsInMemory() { return size() <= maxInMemoryBytes_; }

    std::string tooLargeMessage() {
        return "the package is " + std::to_string(size()) +
               " bytes, more than the in-memory limit of " + std::to_string(maxInMemoryBytes_) +
               " bytes for Ed25519 verification";
    }

    // Throws VerificationError when the package is over the in-memory limit.
    const std::string& bytes() {
        if (!bytes_) {
            bytes_ = readAll();
        }
        return *bytes_;
    }

  private:
    static constexpr std::size_t kChunkBytes = 64 * 1024;

    std::uint64_t size() {
        if (!size_) {
            std::error_code error;
            std::uintmax_t bytes = fs::file_size(file_, error);
            if (error) {
                throw VerificationError("cannot read the package " + inQuotes(file_.string()) +
                                        ": " + error.message());
            }
            size_ = bytes;
        }
        return *size_;
    }

    std::ifstream open() const {
        errno = 0;
        std::ifstream in(file_, std::ios::binary);
        if (!in) {
            throw VerificationError("cannot read the package " + inQuotes(file_.string()) +
                                    errnoReason(errno));
        }
        return in;
    }

    // Reads the next chunk into `buffer`; false at the end.
    bool readChunk(std::ifstream& in, std::string& buffer) const {
        buffer.resize(kChunkBytes);
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        if (in.bad()) {
            throw VerificationError("cannot read the package " + inQuotes(file_.string()));
        }
        buffer.resize(static_cast<std::size_t>(in.gcount()));
        return !buffer.empty();
    }

    std::string computeSha256() const {
        std::ifstream in = open();
        DigestContext context(EVP_MD_CTX_new());
        if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) {
            throw VerificationError("cannot hash the package: " + openSslReasons());
        }
        std::string chunk;
        while (readChunk(in, chunk)) {
            if (EVP_DigestUpdate(context.get(), chunk.data(), chunk.size()) != 1) {
                throw VerificationError("cannot hash the package: " + openSslReasons());
            }
        }
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        if (EVP_DigestFinal_ex(context.get(), digest, &length) != 1) {
            throw VerificationError("cannot hash the package: " + openSslReasons());
        }
        return std::string(reinterpret_cast<const char*>(digest), length);
    }

    // Bounded by the limit as it reads too, in case the file grew since its size was taken.
    std::string readAll() {
        if (!fitsInMemory()) {
            throw VerificationError(tooLargeMessage());
        }
        std::ifstream in = open();
        std::string content;
        std::string chunk;
        while (readChunk(in, chunk)) {
            content += chunk;
            if (content.size() > maxInMemoryBytes_) {
                size_ = content.size();
                throw VerificationError(tooLargeMessage());
            }
        }
        return content;
    }

    fs::path file_;
    std::uint64_t maxInMemoryBytes_;
    std::optional<std::uint64_t> size_;
    std::optional<std::string> sha256_;
    std::optional<std::string> bytes_;
};

bool isEd25519(EVP_PKEY* key) {
    return EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519;
}

int curveOf(EVP_PKEY* key) {
    char name[80];
    std::size_t length = 0;
    if (EVP_PKEY_get_group_name(key, name, sizeof name, &length) != 1) {
        forgetOpenSslErrors();
        return NID_undef;
    }
    int nid = OBJ_sn2nid(name);
    return nid != NID_undef ? nid : EC_curve_nist2nid(name);
}

// Empty when the verifiers can check signatures by `key`; otherwise what it is.
std::string unsupportedKey(EVP_PKEY* key) {
    switch (EVP_PKEY_get_base_id(key)) {
        case EVP_PKEY_ED25519:
            return "";
        case EVP_PKEY_EC: {
            int curve = curveOf(key);
            if (curve == NID_X9_62_prime256v1 || curve == NID_secp384r1 || curve == NID_secp521r1) {
                return "";
            }
            const char* name = curve != NID_undef ? OBJ_nid2sn(curve) : "unnamed";
            return std::string("an EC key on curve ") + name;
        }
        case EVP_PKEY_RSA:
            // Shorter RSA keys can be factored with affordable effort.
            if (EVP_PKEY_get_bits(key) >= 2048) {
                return "";
            }
            return "an RSA key of " + std::to_string(EVP_PKEY_get_bits(key)) + " bits";
        default: {
            const char* type = EVP_PKEY_get0_type_name(key);
            return std::string("a key of type ") + (type != nullptr ? type : "unknown");
        }
    }
}

constexpr std::string_view kSupportedKeys =
    "Ed25519, ECDSA P-256/P-384/P-521 or RSA of 2048 bits or more";

// Pure Ed25519 over the whole content.
bool ed25519Verifies(EVP_PKEY* key, const std::string& signature, const std::string& message) {
    DigestContext context(EVP_MD_CTX_new());
    return context && EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key) == 1 &&
           EVP_DigestVerify(context.get(), bytesOf(signature), signature.size(), bytesOf(message),
                            message.size()) == 1;
}

// ECDSA (DER signature) or RSA PKCS#1 v1.5 over a SHA-256 digest, as `openssl dgst -sha256
// -sign` makes them.
bool sha256SignatureVerifies(EVP_PKEY* key, const std::string& signature,
                             const std::string& digest) {
    KeyContext context(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    if (!context || EVP_PKEY_verify_init(context.get()) != 1 ||
        EVP_PKEY_CTX_set_signature_md(context.get(), EVP_sha256()) != 1) {
        return false;
    }
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA &&
        EVP_PKEY_CTX_set_rsa_padding(context.get(), RSA_PKCS1_PADDING) != 1) {
        return false;
    }
    return EVP_PKEY_verify(context.get(), bytesOf(signature), signature.size(), bytesOf(digest),
                           digest.size()) == 1;
}

// Whether `signature` is `key`'s over the package. For Ed25519 the package must fit in
// memory (see PackageContent::bytes).
bool signatureVerifies(EVP_PKEY* key, const std::string& signature, PackageContent& content) {
    bool verifies = isEd25519(key) ? ed25519Verifies(key, signature, content.bytes())
                                   : sha256SignatureVerifies(key, signature, content.sha256());
    forgetOpenSslErrors();  // a refusal queues reasons nobody reads
    return verifies;
}

// Every "PUBLIC KEY" block of `path`; blocks of other kinds are skipped.
std::vector<Key> readPublicKeys(const fs::path& path) {
    std::string where = std::string(kKeysSetting) + ": " + inQuotes(path.string());
    std::vector<Key> keys;
    for (const PemBlock& block :
         pemBlocks(readSettingFile(path, kKeysSetting), path, kKeysSetting)) {
        if (block.label != "PUBLIC KEY") {
            continue;
        }
        std::string number = "key " + std::to_string(keys.size() + 1);
        const unsigned char* next = bytesOf(block.der);
        Key key(d2i_PUBKEY(nullptr, &next, static_cast<long>(block.der.size())));
        if (!key || next != bytesOf(block.der) + block.der.size()) {
            throw std::runtime_error(where + ": " + number +
                                     " is not a SubjectPublicKeyInfo: " + openSslReasons());
        }
        if (std::string why = unsupportedKey(key.get()); !why.empty()) {
            throw std::runtime_error(where + ": " + number + " is " + why +
                                     "; supported: " + std::string(kSupportedKeys));
        }
        keys.push_back(std::move(key));
    }
    if (keys.empty()) {
        throw std::runtime_error(where + " holds no public key (\"-----BEGIN PUBLIC KEY-----\")");
    }
    return keys;
}

class PublicKeyVerifier final : public SignatureVerifier {
  public:
    PublicKeyVerifier(std::vector<Key> keys, std::uint64_t maxInMemoryBytes)
        : keys_(std::move(keys)), maxInMemoryBytes_(maxInMemoryBytes) {}

    void verify(const fs::path& file, const std::string& signature) const override {
        forgetOpenSslErrors();  // so that only this check's reasons are reported
        if (isBlank(signature)) {
            throw VerificationError("the package is not signed");
        }
        std::string bytes = signatureBytes(signature);
        PackageContent content(file, maxInMemoryBytes_);
        std::size_t skipped = 0;
        for (const Key& key : keys_) {
            if (isEd25519(key.get()) && !content.fitsInMemory()) {
                ++skipped;
                continue;
            }
            if (signatureVerifies(key.get(), bytes, content)) {
                return;
            }
        }
        if (skipped == keys_.size()) {
            throw VerificationError(content.tooLargeMessage());
        }
        throw VerificationError(
            "no key in " + std::string(kKeysSetting) + " verifies the signature" +
            (skipped > 0 ? " (Ed25519 keys not tried: " + content.tooLargeMessage() + ")" : ""));
    }

    std::string name() const override { return "public_key"; }

  private:
    // The raw bytes, or the ones base64 text encodes: most tools print signatures in base64,
    // often with a final newline or wrapped lines.
    static std::string signatureBytes(const std::string& field) {
        std::optional<std::string> decoded = decodeBase64(withoutSpaces(field));
        return decoded ? *decoded : field;
    }

    std::vector<Key> keys_;
    std::uint64_t maxInMemoryBytes_;
};

// The bytes of `cert`'s extension `oid`; nullopt when it has none.
std::optional<std::string> extensionBytes(X509* cert, const char* oid) {
    Object object(OBJ_txt2obj(oid, 1));
    int index = object ? X509_get_ext_by_OBJ(cert, object.get(), -1) : -1;
    if (index < 0) {
        forgetOpenSslErrors();
        return std::nullopt;
    }
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(cert, index));
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                       static_cast<std::size_t>(ASN1_STRING_length(data)));
}

// The text of `cert`'s extension `oid`, a DER UTF8String; nullopt when it has none.
std::optional<std::string> utf8Extension(X509* cert, const char* oid) {
    std::optional<std::string> der = extensionBytes(cert, oid);
    if (!der) {
        return std::nullopt;
    }
    const unsigned char* next = bytesOf(*der);
    Utf8String text(d2i_ASN1_UTF8STRING(nullptr, &next, static_cast<long>(der->size())));
    if (!text || next != bytesOf(*der) + der->size()) {
        forgetOpenSslErrors();
        throw VerificationError(std::string("certificate extension ") + oid +
                                " is not a DER UTF8String");
    }
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text.get())),
                       static_cast<std::size_t>(ASN1_STRING_length(text.get())));
}

// `name` in RFC 2253 form ("CN=leaf,O=Example"), UTF-8 left as is rather than escaped so
// that configured identities can be written plainly.
std::string rfc2253(const X509_NAME* name) {
    Bio bio(BIO_new(BIO_s_mem()));
    if (!bio ||
        X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
        forgetOpenSslErrors();
        return "";
    }
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

// The OIDC issuer Fulcio recorded, or else the certificate's issuer name.
std::string issuerOf(X509* cert) {
    if (std::optional<std::string> issuer = utf8Extension(cert, kOidcIssuerOid)) {
        return *issuer;
    }
    if (std::optional<std::string> issuer = extensionBytes(cert, kLegacyOidcIssuerOid)) {
        return *issuer;
    }
    return rfc2253(X509_get_issuer_name(cert));
}

// The names a subject may match: the URIs, emails and DNS names of the subjectAltName, or
// the subject name when there are none. A CA may let a requester choose the subject name
// freely, so it never stands beside the alternative names (as cosign, which uses only them).
std::vector<std::string> subjectsOf(X509* cert) {
    std::vector<std::string> subjects;
    GeneralNames names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
        int type = 0;
        const void* value = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names.get(), i), &type);
        if (type == GEN_URI || type == GEN_EMAIL || type == GEN_DNS) {
            const auto* text = static_cast<const ASN1_IA5STRING*>(value);
            subjects.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                                  static_cast<std::size_t>(ASN1_STRING_length(text)));
        }
    }
    forgetOpenSslErrors();
    if (std::string name = rfc2253(X509_get_subject_name(cert));
        subjects.empty() && !name.empty()) {
        subjects.push_back(name);
    }
    return subjects;
}

// The certificate part of a signature: PEM text (as cosign writes it) or DER.
Cert parseCertificate(const std::string& bytes) {
    Cert cert;
    if (bytes.size() > static_cast<std::size_t>(INT_MAX)) {
        throw VerificationError("signature: the certificate is too large");
    }
    if (bytes.find("-----BEGIN") != std::string::npos) {
        Bio bio = memoryBio(bytes);
        cert.reset(PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr));
    } else {
        const unsigned char* next = bytesOf(bytes);
        cert.reset(d2i_X509(nullptr, &next, static_cast<long>(bytes.size())));
        if (cert && next != bytesOf(bytes) + bytes.size()) {
            cert.reset();  // trailing bytes: not one DER certificate
        }
    }
    forgetOpenSslErrors();
    if (!cert) {
        throw VerificationError("signature: the certificate is neither PEM nor DER");
    }
    return cert;
}

// Every "CERTIFICATE" block of `path`; blocks of other kinds are skipped.
std::vector<Cert> readCertificates(const fs::path& path) {
    std::string where = std::string(kRootsSetting) + ": " + inQuotes(path.string());
    std::vector<Cert> certs;
    for (const PemBlock& block :
         pemBlocks(readSettingFile(path, kRootsSetting), path, kRootsSetting)) {
        if (block.label != "CERTIFICATE") {
            continue;
        }
        const unsigned char* next = bytesOf(block.der);
        Cert cert(d2i_X509(nullptr, &next, static_cast<long>(block.der.size())));
        if (!cert || next != bytesOf(block.der) + block.der.size()) {
            throw std::runtime_error(where + ": certificate " + std::to_string(certs.size() + 1) +
                                     " is malformed: " + openSslReasons());
        }
        certs.push_back(std::move(cert));
    }
    if (certs.empty()) {
        throw std::runtime_error(where + " holds no certificate (\"-----BEGIN CERTIFICATE-----\")");
    }
    return certs;
}

// A configured issuer or subject: the exact text or a pattern the whole text must match.
class Matcher {
  public:
    Matcher(const std::string& exact, const std::string& pattern, const std::string& where)
        : exact_(exact) {
        if (pattern.empty()) {
            return;
        }
        try {
            pattern_.emplace(pattern, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
            throw std::runtime_error(where + ": invalid regular expression " + inQuotes(pattern) +
                                     ": " + e.what());
        }
    }

    bool matches(const std::string& text) const {
        return pattern_ ? std::regex_match(text, *pattern_) : text == exact_;
    }

  private:
    std::string exact_;
    std::optional<std::regex> pattern_;
};

struct Identity {
    Matcher issuer;
    Matcher subject;
};

Identity compileIdentity(const config::CosignIdentity& identity, const std::string& where) {
    if (identity.issuer.empty() == identity.issuerRegex.empty()) {
        throw std::runtime_error(where + ": set exactly one of issuer and issuer_regex");
    }
    if (identity.subject.empty() == identity.subjectRegex.empty()) {
        throw std::runtime_error(where + ": set exactly one of subject and subject_regex");
    }
    return Identity{Matcher(identity.issuer, identity.issuerRegex, where + ".issuer_regex"),
                    Matcher(identity.subject, identity.subjectRegex, where + ".subject_regex")};
}

std::string describeSubjects(const std::vector<std::string>& subjects) {
    if (subjects.empty()) {
        return "no subject";
    }
    std::string out = subjects.size() == 1 ? "subject " : "subjects ";
    for (std::size_t i = 0; i < subjects.size(); ++i) {
        out += (i > 0 ? ", " : "") + inQuotes(subjects[i]);
    }
    return out;
}

class CertificateVerifier final : public SignatureVerifier {
  public:
    CertificateVerifier(Store anchors, Certs intermediates, std::vector<Identity> identities,
                        std::string repository, std::uint64_t maxInMemoryBytes)
        : anchors_(std::move(anchors)),
          intermediates_(std::move(intermediates)),
          identities_(std::move(identities)),
          repository_(std::move(repository)),
          maxInMemoryBytes_(maxInMemoryBytes) {}

    // The cheap checks on the certificate come before reading the package.
    void verify(const fs::path& file, const std::string& signature) const override {
        forgetOpenSslErrors();  // so that only this check's reasons are reported
        if (isBlank(signature)) {
            throw VerificationError("the package is not signed");
        }
        std::vector<std::string_view> parts = words(signature);
        if (parts.size() != 2) {
            throw VerificationError("signature: not \"<base64 certificate> <base64 signature>\"");
        }
        std::optional<std::string> certBytes = decodeBase64(parts[0]);
        if (!certBytes) {
            throw VerificationError("signature: the certificate is not base64");
        }
        std::optional<std::string> signatureBytes = decodeBase64(parts[1]);
        if (!signatureBytes) {
            throw VerificationError("signature: the signature is not base64");
        }
        Cert cert = parseCertificate(*certBytes);
        requireChain(cert.get());
        requireCodeSigning(cert.get());
        requireIdentity(cert.get());
        requireRepository(cert.get());

        EVP_PKEY* key = X509_get0_pubkey(cert.get());
        if (key == nullptr) {
            forgetOpenSslErrors();
            throw VerificationError("certificate: unreadable public key");
        }
        if (std::string why = unsupportedKey(key); !why.empty()) {
            throw VerificationError("certificate: " + why +
                                    "; supported: " + std::string(kSupportedKeys));
        }
        PackageContent content(file, maxInMemoryBytes_);
        if (!signatureVerifies(key, *signatureBytes, content)) {
            throw VerificationError("the signature does not verify with the certificate's key");
        }
    }

    std::string name() const override { return "cosign"; }

  private:
    void requireChain(X509* cert) const {
        StoreContext context(X509_STORE_CTX_new());
        if (!context ||
            X509_STORE_CTX_init(context.get(), anchors_.get(), cert, intermediates_.get()) != 1) {
            throw VerificationError("cannot check the certificate chain: " + openSslReasons());
        }
        // Signing certificates live minutes (Fulcio's, ten); cosign checks them against the
        // signing time the transparency log attests. Offline there is no such timestamp, and
        // today's clock would refuse every release signed more than minutes ago, so validity
        // periods are not checked: the chain and the identity are what is trusted.
        X509_STORE_CTX_set_flags(context.get(), X509_V_FLAG_NO_CHECK_TIME);
        if (X509_verify_cert(context.get()) != 1) {
            int error = X509_STORE_CTX_get_error(context.get());
            forgetOpenSslErrors();
            throw VerificationError("certificate does not chain to " + std::string(kRootsSetting) +
                                    ": " + X509_verify_cert_error_string(error));
        }
    }

    // A signing certificate says so: code signing in its extended key usage, digital
    // signatures in its key usage (when it has one), and it is no CA. Otherwise a TLS or
    // client certificate from the same roots could sign packages.
    static void requireCodeSigning(X509* cert) {
        const std::uint32_t flags = X509_get_extension_flags(cert);
        if ((flags & EXFLAG_XKUSAGE) == 0) {
            throw VerificationError("certificate has no extended key usage (codeSigning needed)");
        }
        if ((X509_get_extended_key_usage(cert) & XKU_CODE_SIGN) == 0) {
            throw VerificationError("certificate extended key usage lacks codeSigning");
        }
        if ((flags & EXFLAG_KUSAGE) != 0 &&
            (X509_get_key_usage(cert) & KU_DIGITAL_SIGNATURE) == 0) {
            throw VerificationError("certificate key usage lacks digitalSignature");
        }
        if (X509_check_ca(cert) != 0) {
            throw VerificationError("certificate is a CA certificate, not a signing one");
        }
    }

    void requireIdentity(X509* cert) const {
        std::string issuer = issuerOf(cert);
        std::vector<std::string> subjects = subjectsOf(cert);
        // std::regex backtracks recursively: a very long name could exhaust the stack.
        constexpr std::size_t kMaxName = 4096;
        auto tooLong = [](const std::string& name) { return name.size() > kMaxName; };
        if (tooLong(issuer) || std::any_of(subjects.begin(), subjects.end(), tooLong)) {
            throw VerificationError("certificate issuer or subject is longer than " +
                                    std::to_string(kMaxName) + " bytes");
        }
        for (const Identity& identity : identities_) {
            if (identity.issuer.matches(issuer) &&
                std::any_of(subjects.begin(), subjects.end(), [&](const std::string& subject) {
                    return identity.subject.matches(subject);
                })) {
                return;
            }
        }
        throw VerificationError("certificate identity matches none of " +
                                std::string(kIdentitiesSetting) + " (issuer " + inQuotes(issuer) +
                                ", " + describeSubjects(subjects) + ")");
    }

    void requireRepository(X509* cert) const {
        if (repository_.empty()) {
            return;
        }
        std::optional<std::string> legacy = extensionBytes(cert, kLegacyWorkflowRepositoryOid);
        std::optional<std::string> source = utf8Extension(cert, kSourceRepositoryUriOid);
        // Each extension present must name the repository: one may not vouch for the other.
        const bool legacyOk = !legacy || *legacy == repository_;
        const bool sourceOk = !source || *source == "https://github.com/" + repository_;
        if ((legacy || source) && legacyOk && sourceOk) {
            return;
        }
        std::string found = source   ? "source repository " + inQuotes(*source)
                            : legacy ? "workflow repository " + inQuotes(*legacy)
                                     : "no repository";
        throw VerificationError("certificate is not from " + std::string(kRepositorySetting) + " " +
                                inQuotes(repository_) + " (it names " + found + ")");
    }

    Store anchors_;
    Certs intermediates_;
    std::vector<Identity> identities_;
    std::string repository_;
    std::uint64_t maxInMemoryBytes_;
};

bool isSelfSigned(X509* cert) {
    bool selfSigned = X509_self_signed(cert, 0) == 1;
    forgetOpenSslErrors();
    return selfSigned;
}

}  // namespace

std::unique_ptr<SignatureVerifier> makePublicKeyVerifier(const std::vector<fs::path>& keyFiles,
                                                         std::uint64_t maxInMemoryBytes) {
    if (keyFiles.empty()) {
        throw std::runtime_error(std::string(kKeysSetting) + ": no key file");
    }
    std::vector<Key> keys;
    for (const fs::path& file : keyFiles) {
        for (Key& key : readPublicKeys(file)) {
            keys.push_back(std::move(key));
        }
    }
    return std::make_unique<PublicKeyVerifier>(std::move(keys), maxInMemoryBytes);
}

std::unique_ptr<SignatureVerifier> makeCertificateVerifier(
    const std::vector<fs::path>& rootFiles, const std::vector<config::CosignIdentity>& identities,
    const std::string& githubWorkflowRepository, std::uint64_t maxInMemoryBytes) {
    if (rootFiles.empty()) {
        throw std::runtime_error(std::string(kRootsSetting) + ": no certificate file");
    }
    if (identities.empty()) {
        throw std::runtime_error(std::string(kIdentitiesSetting) + ": no identity");
    }
    std::vector<Identity> compiled;
    for (std::size_t i = 0; i < identities.size(); ++i) {
        compiled.push_back(compileIdentity(
            identities[i], std::string(kIdentitiesSetting) + "[" + std::to_string(i) + "]"));
    }

    Store anchors(X509_STORE_new());
    Certs intermediates(sk_X509_new_null());
    if (!anchors || !intermediates) {
        throw std::runtime_error("cannot make a certificate store: " + openSslReasons());
    }
    bool anyAnchor = false;
    for (const fs::path& file : rootFiles) {
        for (Cert& cert : readCertificates(file)) {
            if (isSelfSigned(cert.get())) {
                // The store takes its own reference.
                if (X509_STORE_add_cert(anchors.get(), cert.get()) != 1) {
                    throw std::runtime_error(std::string(kRootsSetting) + ": " +
                                             inQuotes(file.string()) + ": " + openSslReasons());
                }
                anyAnchor = true;
            } else if (sk_X509_push(intermediates.get(), cert.get()) > 0) {
                cert.release();  // owned by `intermediates` now
            } else {
                throw std::runtime_error("cannot keep an intermediate certificate: " +
                                         openSslReasons());
            }
        }
    }
    if (!anyAnchor) {
        throw std::runtime_error(std::string(kRootsSetting) +
                                 ": no self-signed certificate to trust");
    }
    return std::make_unique<CertificateVerifier>(std::move(anchors), std::move(intermediates),
                                                 std::move(compiled), githubWorkflowRepository,
                                                 maxInMemoryBytes);
}

}  // namespace opampsup::packages
