#pragma once

// An OAuth2 token endpoint on loopback for tests (the client credentials grant, RFC 6749
// 4.4): it issues "tok-1", "tok-2", ... to the client it knows, with the credentials in a
// Basic header (each part form-encoded, RFC 6749 2.3.1) or in the form, and counts what it
// was asked.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace Poco::Net {
class HTTPServer;
}

namespace opampsup::testing {

class TestTokenServer {
  public:
    struct Options {
        std::string clientId = "supervisor";
        std::string clientSecret = "s3cret";
        bool acceptBasic = true;         // credentials in the Authorization header
        bool acceptForm = true;          // credentials as client_id / client_secret in the form
        std::string expiresIn = "3600";  // the JSON value as sent; empty: not sent
    };

    explicit TestTokenServer(Options options);
    TestTokenServer() : TestTokenServer(Options{}) {}
    ~TestTokenServer();
    TestTokenServer(const TestTokenServer&) = delete;
    TestTokenServer& operator=(const TestTokenServer&) = delete;

    std::string url() const;                 // http://127.0.0.1:<port>/token
    int grants() const;                      // tokens issued
    std::vector<std::string> forms() const;  // every request's body, in order

    // Called from the server's threads.
    struct Answer {
        int status;
        std::string body;
    };
    Answer answer(const std::string& authorization, const std::string& form);

  private:
    Options options_;
    mutable std::mutex mutex_;
    int grants_ = 0;
    std::vector<std::string> forms_;
    std::unique_ptr<Poco::Net::HTTPServer> server_;
    std::uint16_t port_ = 0;
};

}  // namespace opampsup::testing
