#include "core/opamp/TlsContext.h"

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include <Poco/Net/InvalidCertificateHandler.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/VerificationErrorArgs.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "core/config/TlsNames.h"

namespace opampsup::opamp {
namespace {

// The first certificate this thread's handshake refused, with OpenSSL's reason, recorded
// only while the connection verifies: with insecure_skip_verify OpenSSL still reports what
// it would refuse, but the handshake goes on.
thread_local std::string certificateRejection;
thread_local bool recordingRejections = false;

// Poco asks this handler about every certificate OpenSSL refuses while verifying the
// server. It refuses too, and keeps OpenSSL's reason for the connection's error: Poco's
// exception carries only the first error on OpenSSL's queue, which for a certificate
// signed by another key than its issuer's is an ASN.1 detail ("EVP lib").
class RejectAndRecordHandler : public Poco::Net::InvalidCertificateHandler {
  public:
    RejectAndRecordHandler() : InvalidCertificateHandler(false) {}

    void onInvalidCertificate(const void*, Poco::Net::VerificationErrorArgs& args) override {
        args.setIgnoreError(false);
        if (recordingRejections && certificateRejection.empty()) {
            certificateRejection = "certificate verify failed: " + args.errorMessage() +
                                   " (the certificate of \"" + args.certificate().subjectName() +
                                   "\" at depth " + std::to_string(args.errorDepth()) +
                                   " of the chain)";
        }
    }
};

void initialiseOnce() {
    static std::once_flag once;
    std::call_once(once, [] {
        Poco::Net::initializeSSL();
        // Without this, Poco falls back to a handler that asks on the console whether to
        // accept a bad certificate. A service must refuse it and say why.
        Poco::SharedPtr<Poco::Net::InvalidCertificateHandler> reject = new RejectAndRecordHandler;
        Poco::Net::SSLManager::instance().initializeClient(nullptr, reject, nullptr);
    });
}

std::string openSslError() {
    unsigned long code = ERR_get_error();
    if (code == 0) {
        return "unknown OpenSSL error";
    }
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    ERR_clear_error();
    return buffer;
}

struct BioDeleter {
    void operator()(BIO* bio) const { BIO_free(bio); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;

Bio memoryBio(const std::string& pem) {
    return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

int protocolVersion(const std::string& version) {
    if (version == "1.0") {
        return TLS1_VERSION;
    }
    if (version == "1.1") {
        return TLS1_1_VERSION;
    }
    if (version == "1.3") {
        return TLS1_3_VERSION;
    }
    return TLS1_2_VERSION;
}

// Poco's context from files; an unreadable file is an error naming the settings.
Poco::Net::Context::Ptr newContext(Poco::Net::Context::Usage usage,
                                   const Poco::Net::Context::Params& params,
                                   const std::string& section) {
    try {
        return new Poco::Net::Context(usage, params);
    } catch (const Poco::Exception& e) {
        throw std::runtime_error("cannot set up TLS from " + section + ": " + e.displayText());
    }
}

// TLS 1.2 unless min_version says otherwise; no maximum unless max_version sets one.
void applyVersions(SSL_CTX* ctx, const std::string& minVersion, const std::string& maxVersion,
                   const std::string& section) {
    if (SSL_CTX_set_min_proto_version(ctx, protocolVersion(minVersion)) != 1 ||
        (!maxVersion.empty() &&
         SSL_CTX_set_max_proto_version(ctx, protocolVersion(maxVersion)) != 1)) {
        throw std::runtime_error("cannot apply " + section +
                                 " min_version/max_version: " + openSslError());
    }
}

void addCaPem(SSL_CTX* ctx, const std::string& pem, const std::string& section) {
    Bio bio = memoryBio(pem);
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    int added = 0;
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        X509_STORE_add_cert(store, cert);
        X509_free(cert);
        ++added;
    }
    ERR_clear_error();  // the loop ends on a "no start line" error
    if (added == 0) {
        throw std::runtime_error(section + ".ca_pem holds no PEM certificate");
    }
}

void useCertificatePem(SSL_CTX* ctx, const std::string& certPem, const std::string& keyPem,
                       const std::string& section) {
    Bio certBio = memoryBio(certPem);
    X509* cert = PEM_read_bio_X509(certBio.get(), nullptr, nullptr, nullptr);
    if (cert == nullptr || SSL_CTX_use_certificate(ctx, cert) != 1) {
        X509_free(cert);
        throw std::runtime_error(section + ".cert_pem cannot be used: " + openSslError());
    }
    X509_free(cert);
    Bio keyBio = memoryBio(keyPem);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(keyBio.get(), nullptr, nullptr, nullptr);
    if (key == nullptr || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
        EVP_PKEY_free(key);
        throw std::runtime_error(section + ".key_pem cannot be used: " + openSslError());
    }
    EVP_PKEY_free(key);
}

// Go's names, mapped to OpenSSL's. The loader has rejected unknown names already; one that
// slips through (a config built in code) is an error here too, never silently dropped.
void applyCipherSuites(SSL_CTX* ctx, const std::vector<std::string>& suites,
                       const std::string& section) {
    if (suites.empty()) {
        return;
    }
    std::string tls12;
    std::string tls13;
    for (const auto& suite : suites) {
        auto name = config::openSslCipherName(suite);
        if (!name) {
            throw std::runtime_error(section + ".cipher_suites: unknown cipher suite \"" + suite +
                                     "\"");
        }
        std::string& list = name->tls13 ? tls13 : tls12;
        list += (list.empty() ? "" : ":") + name->name;
    }
    // Each protocol generation keeps its defaults unless the list names suites of it (Go
    // never lets TLS 1.3 suites be chosen at all; we honour them when named).
    if (!tls12.empty() && SSL_CTX_set_cipher_list(ctx, tls12.c_str()) != 1) {
        throw std::runtime_error(section + ".cipher_suites: " + openSslError());
    }
    if (!tls13.empty() && SSL_CTX_set_ciphersuites(ctx, tls13.c_str()) != 1) {
        throw std::runtime_error(section + ".cipher_suites: " + openSslError());
    }
    ERR_clear_error();
}

void applyCurves(SSL_CTX* ctx, const std::vector<std::string>& curves, const std::string& section) {
    if (curves.empty()) {
        return;
    }
    std::string list;
    for (const auto& curve : curves) {
        auto name = config::openSslGroupName(curve);
        if (!name) {
            throw std::runtime_error(section + ".curve_preferences: unsupported curve \"" + curve +
                                     "\"");
        }
        list += (list.empty() ? "" : ":") + *name;
    }
    if (SSL_CTX_set1_groups_list(ctx, list.c_str()) != 1) {
        throw std::runtime_error(section + ".curve_preferences: " + openSslError());
    }
}

}  // namespace

void recordCertificateRejections(bool verifying) {
    certificateRejection.clear();
    recordingRejections = verifying;
}

std::string takeCertificateRejection() {
    std::string rejection = std::move(certificateRejection);
    certificateRejection.clear();
    return rejection;
}

Poco::Net::Context::Ptr makeClientTlsContext(const config::TlsClientSettings& s,
                                             const std::string& host) {
    initialiseOnce();
    Poco::Net::Context::Params params;
    params.verificationMode =
        s.insecureSkipVerify ? Poco::Net::Context::VERIFY_NONE : Poco::Net::Context::VERIFY_RELAXED;
    params.verificationDepth = 9;
    params.loadDefaultCAs = (s.caFile.empty() && s.caPem.empty()) || s.includeSystemCaCertsPool;
    params.caLocation = s.caFile;
    params.certificateFile = s.certFile;
    params.privateKeyFile = s.keyFile;
    Poco::Net::Context::Ptr context =
        newContext(Poco::Net::Context::TLS_CLIENT_USE, params, "server.tls");
    // OpenSSL checks the name during the handshake (below). Poco's own check is off: it
    // resolves the certificate's names through DNS, which can hang and proves less.
    context->enableExtendedCertificateVerification(false);
    SSL_CTX* ctx = context->sslContext();
    if (!s.insecureSkipVerify) {
        const std::string& expected = s.serverNameOverride.empty() ? host : s.serverNameOverride;
        X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
        // An IP address must appear as an IP SAN; anything else is matched as a DNS name.
        if (X509_VERIFY_PARAM_set1_ip_asc(param, expected.c_str()) != 1 &&
            X509_VERIFY_PARAM_set1_host(param, expected.c_str(), 0) != 1) {
            throw std::runtime_error("cannot verify the server's name \"" + expected +
                                     "\": " + openSslError());
        }
        ERR_clear_error();
    }
    const std::string section = "server.tls";
    if (!s.caPem.empty()) {
        addCaPem(ctx, s.caPem, section);
    }
    if (!s.certPem.empty() || !s.keyPem.empty()) {
        useCertificatePem(ctx, s.certPem, s.keyPem, section);
    }
    applyVersions(ctx, s.minVersion, s.maxVersion, section);
    applyCipherSuites(ctx, s.cipherSuites, section);
    applyCurves(ctx, s.curvePreferences, section);
    return context;
}

Poco::Net::Context::Ptr makeServerTlsContext(const config::TlsServerSettings& s,
                                             const std::string& section) {
    initialiseOnce();
    Poco::Net::Context::Params params;
    // With a client CA, a client must present a certificate it signed (mTLS).
    params.verificationMode = s.clientCaFile.empty() ? Poco::Net::Context::VERIFY_NONE
                                                     : Poco::Net::Context::VERIFY_STRICT;
    params.verificationDepth = 9;
    params.loadDefaultCAs = false;
    params.caLocation = s.clientCaFile;
    params.certificateFile = s.certFile;
    params.privateKeyFile = s.keyFile;
    Poco::Net::Context::Ptr context =
        newContext(Poco::Net::Context::TLS_SERVER_USE, params, section);
    SSL_CTX* ctx = context->sslContext();
    if (!s.certPem.empty() || !s.keyPem.empty()) {
        useCertificatePem(ctx, s.certPem, s.keyPem, section);
    }
    applyVersions(ctx, s.minVersion, s.maxVersion, section);
    applyCipherSuites(ctx, s.cipherSuites, section);
    applyCurves(ctx, s.curvePreferences, section);
    return context;
}

}  // namespace opampsup::opamp
