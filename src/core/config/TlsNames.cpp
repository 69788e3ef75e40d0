#include "core/config/TlsNames.h"

#include <array>
#include <utility>

namespace opampsup::config {
namespace {

struct CipherEntry {
    std::string_view go;
    std::string_view openssl;
    bool tls13;
};

// The secure suites Go offers (tls.CipherSuites()), which is what configtls accepts.
constexpr std::array<CipherEntry, 13> kCiphers{{
    {"TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", true},
    {"TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", true},
    {"TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256", true},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA", false},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA", false},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA", false},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA", false},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256", false},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384", false},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", false},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384", false},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305", false},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", false},
}};

constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kCurves{{
    {"X25519", "X25519"},
    {"P256", "P-256"},
    {"P384", "P-384"},
    {"P521", "P-521"},
}};

}  // namespace

std::optional<OpenSslCipherName> openSslCipherName(std::string_view goName) {
    for (const auto& entry : kCiphers) {
        if (entry.go == goName) {
            return OpenSslCipherName{std::string(entry.openssl), entry.tls13};
        }
    }
    return std::nullopt;
}

std::optional<std::string> openSslGroupName(std::string_view goName) {
    for (const auto& [go, openssl] : kCurves) {
        if (go == goName) {
            return std::string(openssl);
        }
    }
    return std::nullopt;
}

const std::vector<std::string>& knownCipherSuites() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const auto& entry : kCiphers) {
            out.emplace_back(entry.go);
        }
        return out;
    }();
    return names;
}

const std::vector<std::string>& knownCurves() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const auto& [go, openssl] : kCurves) {
            out.emplace_back(go);
        }
        return out;
    }();
    return names;
}

}  // namespace opampsup::config
