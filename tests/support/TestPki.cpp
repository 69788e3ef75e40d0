#include "support/TestPki.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace opampsup::testing {
namespace {

struct KeyDeleter {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertDeleter {
    void operator()(X509* cert) const { X509_free(cert); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using Cert = std::unique_ptr<X509, CertDeleter>;

Key newKey() {
    Key key(EVP_EC_gen("P-256"));
    if (!key) {
        throw std::runtime_error("cannot generate a test key");
    }
    return key;
}

void addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr) {
        throw std::runtime_error("cannot make extension " + value);
    }
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

Cert makeCert(const std::string& commonName, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuerKey,
              bool isCa, const std::string& subjectAltNames, const std::string& usage) {
    static long serial = 1;
    Cert cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(commonName.c_str()), -1, -1,
                               0);
    X509* signer = issuer != nullptr ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
    if (isCa) {
        addExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        addExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        addExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
        addExtension(cert.get(), signer, NID_ext_key_usage, usage);
        if (!subjectAltNames.empty()) {
            addExtension(cert.get(), signer, NID_subject_alt_name, subjectAltNames);
        }
    }
    if (X509_sign(cert.get(), issuerKey != nullptr ? issuerKey : key, EVP_sha256()) == 0) {
        throw std::runtime_error("cannot sign test certificate " + commonName);
    }
    return cert;
}

std::FILE* openForWriting(const std::filesystem::path& path) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) {
        throw std::runtime_error("cannot write " + path.string());
    }
    return f;
}

void writeCert(const std::filesystem::path& path, X509* cert) {
    std::FILE* f = openForWriting(path);
    PEM_write_X509(f, cert);
    std::fclose(f);
}

void writeKey(const std::filesystem::path& path, EVP_PKEY* key) {
    std::FILE* f = openForWriting(path);
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
}

}  // namespace

TestPki::TestPki(const std::filesystem::path& dir, const std::vector<std::string>& serverNames,
                 const std::string& caName) {
    caCert = dir / "ca.pem";
    caKey = dir / "ca-key.pem";
    serverCert = dir / "server.pem";
    serverKey = dir / "server-key.pem";
    clientCert = dir / "client.pem";
    clientKey = dir / "client-key.pem";
    otherCaCert = dir / "other-ca.pem";

    Key caKeyPair = newKey();
    Cert ca = makeCert(caName, caKeyPair.get(), nullptr, nullptr, true, "", "");
    std::string san;
    for (const std::string& n : serverNames) {
        bool ip = n.find_first_not_of("0123456789.") == std::string::npos;
        san += (san.empty() ? "" : ",") + std::string(ip ? "IP:" : "DNS:") + n;
    }
    Key key = newKey();
    Cert server = makeCert(serverNames.empty() ? "server" : serverNames.front(), key.get(),
                           ca.get(), caKeyPair.get(), false, san, "serverAuth");
    Key clientKeyPair = newKey();
    Cert client = makeCert("opampsup test agent", clientKeyPair.get(), ca.get(), caKeyPair.get(),
                           false, "", "clientAuth");
    Key otherKey = newKey();
    Cert other = makeCert("unrelated CA", otherKey.get(), nullptr, nullptr, true, "", "");

    writeCert(caCert, ca.get());
    writeKey(caKey, caKeyPair.get());
    writeCert(serverCert, server.get());
    writeKey(serverKey, key.get());
    writeCert(clientCert, client.get());
    writeKey(clientKey, clientKeyPair.get());
    writeCert(otherCaCert, other.get());
}

std::string readText(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
}

}  // namespace opampsup::testing
