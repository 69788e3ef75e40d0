#pragma once

// Certificates for TLS tests, made fresh with OpenSSL in a test's directory: a CA (and its
// key, for tests where a server signs with it), a server certificate for the given names
// signed by it, a client certificate, and an unrelated CA.

#include <filesystem>
#include <string>
#include <vector>

namespace opampsup::testing {

struct TestPki {
    // `serverNames`: DNS names and IP addresses for the server certificate's SAN; `caName`:
    // the CA's common name (two PKIs made with the same name have CAs that look alike).
    TestPki(const std::filesystem::path& dir, const std::vector<std::string>& serverNames,
            const std::string& caName = "opampsup test CA");

    std::filesystem::path caCert;
    std::filesystem::path caKey;
    std::filesystem::path serverCert;
    std::filesystem::path serverKey;
    std::filesystem::path clientCert;
    std::filesystem::path clientKey;
    std::filesystem::path otherCaCert;  // trusts nothing the server presents
};

std::string readText(const std::filesystem::path& path);

}  // namespace opampsup::testing
