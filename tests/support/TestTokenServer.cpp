#include "support/TestTokenServer.h"

#include <map>
#include <sstream>

#include <Poco/Base64Decoder.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

namespace opampsup::testing {
namespace {

std::map<std::string, std::string> parseForm(const std::string& form) {
    std::map<std::string, std::string> out;
    std::istringstream in(form);
    std::string pair;
    while (std::getline(in, pair, '&')) {
        auto eq = pair.find('=');
        std::string name;
        std::string value;
        Poco::URI::decode(pair.substr(0, eq), name, true);
        if (eq != std::string::npos) {
            Poco::URI::decode(pair.substr(eq + 1), value, true);
        }
        out[name] = value;
    }
    return out;
}

class Handler : public Poco::Net::HTTPRequestHandler {
  public:
    explicit Handler(TestTokenServer& server) : server_(server) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
        std::string form;
        Poco::StreamCopier::copyToString(request.stream(), form);
        auto answer = server_.answer(request.get("Authorization", ""), form);
        response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(answer.status));
        response.setContentType("application/json");
        response.setContentLength(static_cast<std::streamsize>(answer.body.size()));
        response.send() << answer.body;
    }

  private:
    TestTokenServer& server_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
  public:
    explicit Factory(TestTokenServer& server) : server_(server) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
        return new Handler(server_);
    }

  private:
    TestTokenServer& server_;
};

}  // namespace

TestTokenServer::TestTokenServer(Options options) : options_(std::move(options)) {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    port_ = socket.address().port();
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket,
                                                      new Poco::Net::HTTPServerParams);
    server_->start();
}

TestTokenServer::~TestTokenServer() {
    server_->stopAll(true);
}

std::string TestTokenServer::url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/token";
}

int TestTokenServer::grants() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return grants_;
}

std::vector<std::string> TestTokenServer::forms() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return forms_;
}

TestTokenServer::Answer TestTokenServer::answer(const std::string& authorization,
                                                const std::string& form) {
    std::lock_guard<std::mutex> lock(mutex_);
    forms_.push_back(form);
    auto fields = parseForm(form);
    if (fields["grant_type"] != "client_credentials") {
        return {400, R"({"error":"unsupported_grant_type"})"};
    }
    bool known = false;
    if (options_.acceptBasic && authorization.rfind("Basic ", 0) == 0) {
        std::istringstream encoded(authorization.substr(6));
        Poco::Base64Decoder decoder(encoded);
        std::string pair;
        Poco::StreamCopier::copyToString(decoder, pair);
        auto colon = pair.find(':');
        std::string id;
        std::string secret;
        Poco::URI::decode(pair.substr(0, colon), id, true);
        if (colon != std::string::npos) {
            Poco::URI::decode(pair.substr(colon + 1), secret, true);
        }
        known = id == options_.clientId && secret == options_.clientSecret;
    }
    if (options_.acceptForm && fields.count("client_id") > 0) {
        known = fields["client_id"] == options_.clientId &&
                fields["client_secret"] == options_.clientSecret;
    }
    if (!known) {
        return {401, R"({"error":"invalid_client","error_description":"unknown client"})"};
    }
    ++grants_;
    std::string body =
        R"({"access_token":"tok-)" + std::to_string(grants_) + R"(","token_type":"bearer")";
    if (!options_.expiresIn.empty()) {
        body += ",\"expires_in\":" + options_.expiresIn;
    }
    return {200, body + "}"};
}

}  // namespace opampsup::testing
