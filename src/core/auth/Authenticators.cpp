#include "core/auth/Authenticators.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include "core/config/Expansion.h"
#include "core/opamp/HttpSession.h"
#include "core/opamp/Proxy.h"

namespace opampsup::auth {
namespace {

using opamp::AuthError;

// A secret kept in a file: its first line, without surrounding blanks (as the collector
// reads it). Read at each use, so a rotated file takes effect without a restart.
std::string readSecretFile(const std::string& path, const std::string& what) {
    std::ifstream in(path, std::ios::binary);
    std::string line;
    if (!in || !std::getline(in, line)) {
        throw AuthError("cannot read the " + what + " file " + path);
    }
    const char* blanks = " \t\r";
    auto begin = line.find_first_not_of(blanks);
    if (begin == std::string::npos) {
        throw AuthError("the " + what + " file " + path + " is empty");
    }
    return line.substr(begin, line.find_last_not_of(blanks) - begin + 1);
}

// expires_in (RFC 6749 5.1): seconds, as a number or a string of digits. Absent, null or 0
// means the server gave no lifetime; like Go's oauth2 package, values are capped at 2^31-1.
std::optional<long long> lifetimeSeconds(const Poco::JSON::Object& object) {
    if (!object.has("expires_in") || object.isNull("expires_in")) {
        return std::nullopt;
    }
    const Poco::Dynamic::Var& value = object.get("expires_in");
    std::string text = value.isString() ? value.extract<std::string>() : value.toString();
    long long seconds = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (error != std::errc() || end != text.data() + text.size() || seconds < 0) {
        throw AuthError("expires_in \"" + text + "\" is not a number of seconds");
    }
    if (seconds == 0) {
        return std::nullopt;
    }
    return std::min<long long>(seconds, 2147483647LL);
}

std::string formEncode(const std::string& value) {
    std::string out;
    Poco::URI::encode(value, "!#$&'()*+,/:;=?@[]~ ", out);
    return out;
}

class NopAuthenticator : public opamp::Authenticator {
  public:
    config::Headers headers() override { return {}; }
};

class BearerTokenAuthenticator : public opamp::Authenticator {
  public:
    explicit BearerTokenAuthenticator(config::BearerTokenAuth settings)
        : settings_(std::move(settings)) {}

    config::Headers headers() override {
        std::string token = settings_.filename.empty()
                                ? settings_.token
                                : readSecretFile(settings_.filename, "bearer token");
        std::string value = settings_.scheme.empty() ? token : settings_.scheme + " " + token;
        return {{settings_.header, {value}}};
    }

    // The file may hold a new token by now.
    bool rejected() override { return !settings_.filename.empty(); }

  private:
    config::BearerTokenAuth settings_;
};

class BasicAuthenticator : public opamp::Authenticator {
  public:
    explicit BasicAuthenticator(const config::BasicAuth& settings)
        : value_(opamp::basicCredential(settings.username + ":" + settings.password)) {}

    config::Headers headers() override { return {{"Authorization", {value_}}}; }

  private:
    std::string value_;
};

// OAuth2's client credentials grant (RFC 6749 4.4): a token from token_url, kept until
// expiry_buffer before it expires or until the OpAMP server refuses it.
class OAuth2Authenticator : public opamp::Authenticator {
  public:
    OAuth2Authenticator(config::OAuth2ClientAuth settings, telemetry::Logger logger,
                        std::function<Clock::time_point()> now)
        : settings_(std::move(settings)), logger_(std::move(logger)), now_(std::move(now)) {}

    config::Headers headers() override {
        // One thread fetches; another transport's thread (a connection-settings switch)
        // waits and then uses the same token.
        std::lock_guard<std::mutex> lock(mutex_);
        if (!token_ || (token_->renewAt && now_() >= *token_->renewAt)) {
            token_ = fetch();
        }
        return {{"Authorization", {token_->type + " " + token_->value}}};
    }

    bool rejected() override {
        std::lock_guard<std::mutex> lock(mutex_);
        token_.reset();
        return true;
    }

  private:
    struct Token {
        std::string value;
        std::string type;
        std::optional<Clock::time_point> renewAt;  // none: until the server refuses it
    };

    Token fetch() {
        const std::string clientId = settings_.clientIdFile.empty()
                                         ? settings_.clientId
                                         : readSecretFile(settings_.clientIdFile, "client id");
        const std::string secret =
            settings_.clientSecretFile.empty()
                ? settings_.clientSecret
                : readSecretFile(settings_.clientSecretFile, "client secret");
        // Credentials go in a Basic header, as RFC 6749 2.3.1 prefers; a server that refuses
        // that is asked again with them in the form, as Go's oauth2 package does. The way
        // that worked last time is tried first.
        std::optional<std::string> refusal;
        for (bool inForm : {credentialsInForm_, !credentialsInForm_}) {
            auto [status, body] = post(clientId, secret, inForm);
            if (status == 200) {
                credentialsInForm_ = inForm;
                return parse(body);
            }
            if (!refusal) {
                refusal = "the token server " + settings_.tokenUrl + " answered HTTP " +
                          std::to_string(status) + describeError(body);
            }
            if (status != 400 && status != 401) {
                break;
            }
        }
        throw AuthError(*refusal);
    }

    std::pair<int, std::string> post(const std::string& clientId, const std::string& secret,
                                     bool credentialsInForm) {
        opamp::Transport::Settings target;
        target.endpoint = settings_.tokenUrl;
        target.tls = settings_.tls;
        target.userAgent = "opampsupervisor";
        // Bounded: a transport waits for the token before it connects, and closing the
        // transport waits for that.
        target.connectTimeout =
            settings_.timeout.count() > 0
                ? std::chrono::duration_cast<std::chrono::milliseconds>(settings_.timeout)
                : kDefaultTimeout;
        std::string form = "grant_type=client_credentials";
        if (!settings_.scopes.empty()) {
            std::string scopes;
            for (const std::string& scope : settings_.scopes) {
                scopes += (scopes.empty() ? "" : " ") + scope;
            }
            form += "&scope=" + formEncode(scopes);
        }
        for (const auto& [name, value] : settings_.endpointParams) {
            form += "&" + formEncode(name) + "=" + formEncode(value);
        }
        if (credentialsInForm) {
            form += "&client_id=" + formEncode(clientId) + "&client_secret=" + formEncode(secret);
        }
        try {
            auto env = config::processExpansionSources().env;
            target.proxy = opamp::chooseProxy(settings_.tokenUrl, std::nullopt, env);
            auto session = opamp::makeHttpSession(target);
            Poco::Net::HTTPRequest request = opamp::makeRequest(target, "POST");
            request.setContentType("application/x-www-form-urlencoded");
            request.set("Accept", "application/json");
            if (!credentialsInForm) {
                request.set("Authorization", opamp::basicCredential(formEncode(clientId) + ":" +
                                                                    formEncode(secret)));
            }
            request.setContentLength(static_cast<std::streamsize>(form.size()));
            session->sendRequest(request) << form;
            Poco::Net::HTTPResponse response;
            std::istream& in = session->receiveResponse(response);
            std::ostringstream body;
            // A token answer is small; a server that sends more is not a token server.
            char buffer[4096];
            std::size_t total = 0;
            while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
                total += static_cast<std::size_t>(in.gcount());
                if (total > kMaxAnswerBytes) {
                    throw AuthError("the token server " + settings_.tokenUrl +
                                    " sent more than 1 MiB");
                }
                body.write(buffer, in.gcount());
            }
            return {static_cast<int>(response.getStatus()), body.str()};
        } catch (const AuthError&) {
            throw;
        } catch (const Poco::Exception& e) {
            throw AuthError("cannot reach the token server " + settings_.tokenUrl + ": " +
                            opamp::connectionFailureText(e));
        } catch (const std::exception& e) {
            throw AuthError("cannot reach the token server " + settings_.tokenUrl + ": " +
                            e.what());
        }
    }

    // RFC 6749 5.2: error and error_description, when the answer has them.
    static std::string describeError(const std::string& body) {
        try {
            auto object = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
            std::string error = object->optValue<std::string>("error", "");
            std::string description = object->optValue<std::string>("error_description", "");
            if (error.empty()) {
                return "";
            }
            return ": " + error + (description.empty() ? "" : " (" + description + ")");
        } catch (const std::exception&) {
            return "";
        }
    }

    Token parse(const std::string& body) {
        Poco::JSON::Object::Ptr object;
        try {
            object = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
        } catch (const std::exception&) {
            throw AuthError("the token server " + settings_.tokenUrl +
                            " did not answer with a JSON object");
        }
        Token token;
        try {
            token.value = object->optValue<std::string>("access_token", "");
            token.type = object->optValue<std::string>("token_type", "Bearer");
        } catch (const std::exception&) {
            token.value.clear();
        }
        if (token.value.empty()) {
            throw AuthError("the token server " + settings_.tokenUrl +
                            " answered without an access_token");
        }
        // Servers spell the type in any case; the header wants the usual spelling.
        if (token.type.empty() || Poco::icompare(token.type, "bearer") == 0) {
            token.type = "Bearer";
        }
        if (token.value.find_first_of("\r\n ") != std::string::npos ||
            token.type.find_first_of("\r\n ") != std::string::npos) {
            throw AuthError("the token server " + settings_.tokenUrl +
                            " answered with a token that cannot go in a header");
        }
        std::optional<long long> expiresIn;
        try {
            expiresIn = lifetimeSeconds(*object);
        } catch (const AuthError& e) {
            throw AuthError("the token server " + settings_.tokenUrl + " answered with " +
                            e.what());
        }
        if (expiresIn) {
            auto lifetime = std::chrono::seconds(*expiresIn);
            // Renewed expiry_buffer early, but not before half its life: a short-lived token
            // would otherwise be fetched again for every request.
            auto buffer =
                std::min(std::chrono::duration_cast<std::chrono::seconds>(settings_.expiryBuffer),
                         lifetime / 2);
            token.renewAt = now_() + (lifetime - buffer);
        }
        logger_.info("Got an OAuth2 token for the OpAMP server",
                     {{"from", settings_.tokenUrl},
                      {"expires_in_s", expiresIn ? std::to_string(*expiresIn) : "unknown"}});
        return token;
    }
    static constexpr std::size_t kMaxAnswerBytes = 1U << 20;
    static constexpr std::chrono::milliseconds kDefaultTimeout{10000};
    config::OAuth2ClientAuth settings_;
    telemetry::Logger logger_;
    std::function<Clock::time_point()> now_;
    std::mutex mutex_;
    std::optional<Token> token_;
    bool credentialsInForm_ = false;  // the token server refused them in a Basic header
};

}  // namespace

std::shared_ptr<opamp::Authenticator> makeOAuth2Authenticator(
    const config::OAuth2ClientAuth& settings, telemetry::Logger logger,
    std::function<Clock::time_point()> now) {
    return std::make_shared<OAuth2Authenticator>(settings, std::move(logger), std::move(now));
}

std::shared_ptr<opamp::Authenticator> makeAuthenticator(const config::AuthExtension& extension,
                                                        telemetry::Logger logger) {
    if (const auto* bearer = std::get_if<config::BearerTokenAuth>(&extension.settings)) {
        return std::make_shared<BearerTokenAuthenticator>(*bearer);
    }
    if (const auto* basic = std::get_if<config::BasicAuth>(&extension.settings)) {
        return std::make_shared<BasicAuthenticator>(*basic);
    }
    if (const auto* oauth = std::get_if<config::OAuth2ClientAuth>(&extension.settings)) {
        return makeOAuth2Authenticator(*oauth, std::move(logger), [] { return Clock::now(); });
    }
    return std::make_shared<NopAuthenticator>();
}

}  // namespace opampsup::auth
