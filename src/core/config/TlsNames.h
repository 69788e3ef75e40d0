#pragma once

// The collector's TLS settings name cipher suites and curves the way Go's crypto/tls does
// (IANA names such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, curves such as P256). OpenSSL
// spells them differently; these map one to the other, and reject what Go would reject.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opampsup::config {

struct OpenSslCipherName {
    std::string name;
    bool tls13 = false;  // TLS 1.3 suites are configured separately in OpenSSL
};

// nullopt for a name Go's tls.CipherSuites() does not list.
std::optional<OpenSslCipherName> openSslCipherName(std::string_view goName);
// nullopt for a curve Go does not know or OpenSSL here cannot use.
std::optional<std::string> openSslGroupName(std::string_view goName);

const std::vector<std::string>& knownCipherSuites();
const std::vector<std::string>& knownCurves();

}  // namespace opampsup::config
