#include "AdminApi.h"

#include <map>
#include <set>
#include <vector>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/NumberParser.h>
#include <Poco/SHA2Engine.h>
#include <Poco/StreamCopier.h>
#include <Poco/StringTokenizer.h>
#include <Poco/URI.h>

#include "DevServer.h"
#include "Json.h"
#include "WebPage.h"
#include "core/opamp/Hex.h"

namespace opampsup::devserver {
namespace pb = ::opamp::proto;
using Poco::Net::HTTPResponse;

namespace {

// An admin request that cannot be carried out: the status and the reason for the caller.
struct ApiError {
    HTTPResponse::HTTPStatus status;
    std::string message;
};

Poco::JSON::Object::Ptr parseObject(const std::string& body) {
    if (body.empty()) {
        return new Poco::JSON::Object;
    }
    try {
        Poco::JSON::Parser parser;
        auto value = parser.parse(body);
        auto object = value.extract<Poco::JSON::Object::Ptr>();
        if (!object) {
            throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, "the body must be a JSON object"};
        }
        return object;
    } catch (const Poco::BadCastException&) {
        throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, "the body must be a JSON object"};
    } catch (const Poco::Exception& e) {
        throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, "invalid JSON body: " + e.message()};
    }
}

template <typename Message>
Message parseProto(const std::string& body, const char* what) {
    Message message;
    std::string error = protoFromJson(body, message);
    if (!error.empty()) {
        throw ApiError{HTTPResponse::HTTP_BAD_REQUEST,
                       std::string("the body is not a valid ") + what + ": " + error};
    }
    return message;
}

// The SHA-256 of the files' names, content types and bodies in name order, so the same
// config always gets the same hash.
std::string configHash(const pb::AgentConfigMap& map) {
    std::map<std::string, const pb::AgentConfigFile*> sorted;
    for (const auto& [name, file] : map.config_map()) {
        sorted[name] = &file;
    }
    Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
    for (const auto& [name, file] : sorted) {
        for (const std::string* part : {&name, &file->content_type(), &file->body()}) {
            sha.update(part->data(), static_cast<unsigned>(part->size()));
            sha.update('\0');
        }
    }
    const auto& digest = sha.digest();
    return std::string(digest.begin(), digest.end());
}

class AdminHandler : public Poco::Net::HTTPRequestHandler {
  public:
    explicit AdminHandler(DevServer& server) : server_(server) {}

    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
        std::string body;
        Poco::StreamCopier::copyToString(request.stream(), body);
        try {
            Poco::URI uri(request.getURI());
            if (isPageRequest(request.getMethod(), uri.getPath())) {
                sendPage(request.getMethod(), response);
                return;
            }
            std::vector<std::string> path;
            Poco::StringTokenizer parts(uri.getPath(), "/",
                                        Poco::StringTokenizer::TOK_IGNORE_EMPTY);
            path.assign(parts.begin(), parts.end());
            std::string result = route(request.getMethod(), path, uri.getQueryParameters(), body);
            reply(response, HTTPResponse::HTTP_OK, result);
        } catch (const ApiError& e) {
            reply(response, e.status, "{\"error\":" + jsonString(e.message) + "}");
        } catch (const Poco::Exception& e) {
            reply(response, HTTPResponse::HTTP_BAD_REQUEST,
                  "{\"error\":" + jsonString(e.displayText()) + "}");
        } catch (const std::exception& e) {
            reply(response, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR,
                  "{\"error\":" + jsonString(e.what()) + "}");
        }
    }

  private:
    // The web page lives at the listener's root, beside the API it calls.
    static bool isPageRequest(const std::string& method, const std::string& path) {
        return (method == "GET" || method == "HEAD") && (path == "/" || path == "/index.html");
    }

    // The page loads nothing from elsewhere, and the policy makes sure it never does: only
    // its own inline style and script, and requests to this listener.
    static void sendPage(const std::string& method, Poco::Net::HTTPServerResponse& response) {
        const std::string& page = webPage();
        response.setStatusAndReason(HTTPResponse::HTTP_OK);
        response.setContentType("text/html; charset=utf-8");
        response.set("Cache-Control", "no-store");
        response.set("X-Content-Type-Options", "nosniff");
        response.set("Content-Security-Policy",
                     "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                     "connect-src 'self'; base-uri 'none'; form-action 'none'; "
                     "frame-ancestors 'none'");
        response.setContentLength(static_cast<std::streamsize>(page.size()));
        std::ostream& out = response.send();
        if (method != "HEAD") {
            out << page;
        }
    }

    static void reply(Poco::Net::HTTPServerResponse& response, HTTPResponse::HTTPStatus status,
                      const std::string& json) {
        response.setStatusAndReason(status);
        response.setContentType("application/json");
        response.setContentLength(static_cast<std::streamsize>(json.size() + 1));
        response.send() << json << "\n";
    }

    std::string route(const std::string& method, const std::vector<std::string>& path,
                      const Poco::URI::QueryParameters& query, const std::string& body) {
        if (path.empty() || path[0] != "api") {
            throw ApiError{HTTPResponse::HTTP_NOT_FOUND, "the admin API lives under /api"};
        }
        if (path.size() == 2 && path[1] == "agents" && method == "GET") {
            return server_.agents().agentsJson();
        }
        if (path.size() == 3 && path[1] == "agents" && method == "GET") {
            auto json = server_.agents().agentJson(path[2]);
            if (!json) {
                throw ApiError{HTTPResponse::HTTP_NOT_FOUND, "no agent " + path[2]};
            }
            return *json;
        }
        if (path.size() == 4 && path[1] == "agents" && method == "POST") {
            return agentAction(path[2], path[3], body);
        }
        if (path.size() == 2 && path[1] == "messages" && method == "GET") {
            std::optional<std::string> agent;
            std::uint64_t since = 0;
            for (const auto& [key, value] : query) {
                if (key == "agent") {
                    agent = value;
                } else if (key == "since") {
                    since = Poco::NumberParser::parseUnsigned64(value);
                }
            }
            return server_.agents().messagesJson(agent, since);
        }
        if (path.size() == 3 && path[1] == "files" && method == "PUT") {
            std::string sha = server_.putFile(path[2], body);
            return "{\"name\":" + jsonString(path[2]) + ",\"size\":" + std::to_string(body.size()) +
                   ",\"sha256\":" + jsonString(sha) + ",\"url\":" + jsonString(fileUrl(path[2])) +
                   "}";
        }
        if (path.size() == 4 && path[1] == "files" && path[3] == "requests" && method == "GET") {
            return fileRequestsJson(server_.fileRequests(path[2]));
        }
        if (path.size() == 2 && path[1] == "faults") {
            return faults(method, body);
        }
        if (path.size() == 2 && path[1] == "auth") {
            return auth(method, body);
        }
        throw ApiError{HTTPResponse::HTTP_NOT_FOUND,
                       "no route for " + method + " /" +
                           Poco::cat(std::string("/"), path.begin(), path.end())};
    }

    std::string fileUrl(const std::string& name) const {
        std::string endpoint = server_.endpoint(false);
        std::string encoded;
        Poco::URI::encode(name, "/?#[]@!$&'()*+,;=", encoded);
        return endpoint.substr(0, endpoint.find("/v1/opamp")) + "/files/" + encoded;
    }

    // {"count": n, "ranges": [...], "last_headers": {...}}; a header sent more than once is
    // shown once, its values joined with ", " as HTTP allows.
    static std::string fileRequestsJson(const DevServer::FileRequests& requests) {
        std::string ranges;
        for (const std::string& range : requests.ranges) {
            ranges += (ranges.empty() ? "" : ",") + jsonString(range);
        }
        std::map<std::string, std::string> headers;
        for (const auto& [name, value] : requests.lastHeaders) {
            auto [it, added] = headers.emplace(name, value);
            if (!added) {
                it->second += ", " + value;
            }
        }
        std::string lastHeaders;
        for (const auto& [name, value] : headers) {
            lastHeaders +=
                (lastHeaders.empty() ? "" : ",") + jsonString(name) + ":" + jsonString(value);
        }
        return "{\"count\":" + std::to_string(requests.count) + ",\"ranges\":[" + ranges +
               "],\"last_headers\":{" + lastHeaders + "}}";
    }

    // {"authorization": ["Bearer t", "Basic ..."]}: the values agents must send.
    std::string auth(const std::string& method, const std::string& body) {
        if (method == "PUT") {
            std::set<std::string> accepted;
            try {
                auto object = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
                auto list = object->getArray("authorization");
                if (!list) {
                    throw ApiError{HTTPResponse::HTTP_BAD_REQUEST,
                                   "the body needs \"authorization\": a list of header values"};
                }
                for (std::size_t i = 0; i < list->size(); ++i) {
                    accepted.insert(list->getElement<std::string>(static_cast<unsigned>(i)));
                }
            } catch (const Poco::Exception& e) {
                throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, "bad auth body: " + e.message()};
            }
            server_.requireAuthorization(std::move(accepted));
        } else if (method == "DELETE") {
            server_.requireAuthorization({});
        } else if (method != "GET") {
            throw ApiError{HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "auth takes GET, PUT, DELETE"};
        }
        std::string out = "{\"authorization\":[";
        bool first = true;
        for (const std::string& value : server_.acceptedAuthorization()) {
            out += (first ? "" : ",") + jsonString(value);
            first = false;
        }
        return out + "]}";
    }

    std::string faults(const std::string& method, const std::string& body) {
        Faults& faults = server_.faults();
        if (method == "DELETE") {
            faults.clear();
        } else if (method == "POST") {
            auto object = parseObject(body);
            int count = object->optValue<int>("count", 1);
            bool understood = false;
            if (object->has("http_status")) {
                Faults::HttpRefusal refusal;
                refusal.status = object->getValue<int>("http_status");
                refusal.retryAfter = object->optValue<std::string>("retry_after", "");
                faults.refuseHttp(refusal, count);
                understood = true;
            }
            if (object->has("error_response")) {
                pb::ServerErrorResponse error;
                std::string type = object->getValue<std::string>("error_response");
                if (type == "UNAVAILABLE") {
                    error.set_type(pb::ServerErrorResponseType_Unavailable);
                } else if (type == "BAD_REQUEST") {
                    error.set_type(pb::ServerErrorResponseType_BadRequest);
                } else if (type == "UNKNOWN") {
                    error.set_type(pb::ServerErrorResponseType_Unknown);
                } else {
                    throw ApiError{HTTPResponse::HTTP_BAD_REQUEST,
                                   "error_response must be UNAVAILABLE, BAD_REQUEST or UNKNOWN"};
                }
                error.set_error_message(
                    object->optValue<std::string>("message", "injected by opamp-devserver"));
                if (object->has("retry_after_ms")) {
                    auto ms = object->getValue<std::uint64_t>("retry_after_ms");
                    error.mutable_retry_info()->set_retry_after_nanoseconds(ms * 1000000ULL);
                }
                faults.answerWithError(error, count);
                understood = true;
            }
            if (object->has("drop_polls")) {
                faults.dropHttp(object->getValue<int>("drop_polls"));
                understood = true;
            }
            if (object->optValue<bool>("drop_connections", false)) {
                server_.agents().dropConnections();
                understood = true;
            }
            understood = armDownloadFaults(*object, faults) || understood;
            if (!understood) {
                throw ApiError{HTTPResponse::HTTP_BAD_REQUEST,
                               "name a fault: http_status, error_response, drop_polls, "
                               "drop_connections, cut_downloads, fail_downloads or "
                               "throttle_downloads"};
            }
        } else if (method != "GET") {
            throw ApiError{HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "faults take GET, POST, DELETE"};
        }
        return faults.describeJson();
    }

    // {"cut_downloads": {"after_bytes": N, "count": C}}, {"fail_downloads": {"status": S,
    // "count": C}}, {"throttle_downloads": {"bytes_per_second": B}}; whether any was given.
    static bool armDownloadFaults(const Poco::JSON::Object& request, Faults& faults) {
        bool armed = false;
        if (auto cut = faultSettings(request, "cut_downloads")) {
            faults.cutDownloads(requiredNonNegative(*cut, "cut_downloads", "after_bytes"),
                                cut->optValue<int>("count", 1));
            armed = true;
        }
        if (auto fail = faultSettings(request, "fail_downloads")) {
            int status = fail->optValue<int>("status", 500);
            if (status < 400 || status > 599) {
                throw ApiError{HTTPResponse::HTTP_BAD_REQUEST,
                               "fail_downloads: status must be an HTTP error, 400 to 599"};
            }
            faults.failDownloads(status, fail->optValue<int>("count", 1));
            armed = true;
        }
        if (auto throttle = faultSettings(request, "throttle_downloads")) {
            faults.throttleDownloads(
                requiredNonNegative(*throttle, "throttle_downloads", "bytes_per_second"));
            armed = true;
        }
        return armed;
    }

    // The settings object of a fault; null when the fault is not named.
    static Poco::JSON::Object::Ptr faultSettings(const Poco::JSON::Object& request,
                                                 const std::string& fault) {
        if (!request.has(fault)) {
            return nullptr;
        }
        auto settings = request.getObject(fault);
        if (!settings) {
            throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, fault + " takes an object"};
        }
        return settings;
    }

    static std::uint64_t requiredNonNegative(const Poco::JSON::Object& settings,
                                             const std::string& fault, const std::string& key) {
        if (!settings.has(key)) {
            throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, fault + " needs " + key};
        }
        auto value = settings.getValue<Poco::Int64>(key);
        if (value < 0) {
            throw ApiError{HTTPResponse::HTTP_BAD_REQUEST,
                           fault + ": " + key + " cannot be negative"};
        }
        return static_cast<std::uint64_t>(value);
    }

    std::string agentAction(const std::string& id, const std::string& action,
                            const std::string& body) {
        std::vector<std::string> targets;
        if (id == "all") {
            targets = server_.agents().agentIds();
        } else {
            targets.push_back(id);
        }
        std::string extra;
        bool ok = true;
        if (action == "config") {
            auto object = parseObject(body);
            auto files = object->getObject("config");
            if (!files) {
                throw ApiError{HTTPResponse::HTTP_BAD_REQUEST,
                               "config: expected {\"config\": {\"name\": \"yaml\", ...}}"};
            }
            std::string contentType = object->optValue<std::string>("content_type", "text/yaml");
            pb::AgentRemoteConfig config;
            for (const auto& [name, value] : *files) {
                pb::AgentConfigFile file;
                file.set_body(value.convert<std::string>());
                file.set_content_type(contentType);
                (*config.mutable_config()->mutable_config_map())[name] = file;
            }
            config.set_config_hash(configHash(config.config()));
            for (const auto& target : targets) {
                ok = server_.agents().setRemoteConfig(target, config) && ok;
            }
            extra = ",\"config_hash\":" + jsonString(opamp::hex(config.config_hash()));
        } else {
            pb::ServerToAgent message = messageFor(action, body);
            for (const auto& target : targets) {
                pb::ServerToAgent copy = message;
                if (action == "new-instance-uid" &&
                    copy.agent_identification().new_instance_uid().empty()) {
                    copy.mutable_agent_identification()->set_new_instance_uid(
                        opamp::Uuid::generateV7().toBytesString());
                }
                ok = server_.agents().send(target, copy) && ok;
            }
        }
        if (!ok || targets.empty()) {
            throw ApiError{HTTPResponse::HTTP_NOT_FOUND, "no agent " + id};
        }
        std::string list;
        for (const auto& target : targets) {
            list += (list.empty() ? "" : ",") + jsonString(target);
        }
        return "{\"agents\":[" + list + "]" + extra + "}";
    }

    static pb::ServerToAgent messageFor(const std::string& action, const std::string& body) {
        pb::ServerToAgent message;
        if (action == "restart") {
            message.mutable_command()->set_type(pb::CommandType_Restart);
        } else if (action == "report-full-state") {
            message.set_flags(pb::ServerToAgentFlags_ReportFullState);
        } else if (action == "custom-message") {
            auto object = parseObject(body);
            auto* custom = message.mutable_custom_message();
            custom->set_capability(object->optValue<std::string>("capability", ""));
            custom->set_type(object->optValue<std::string>("type", ""));
            custom->set_data(object->optValue<std::string>("data", ""));
            if (custom->capability().empty()) {
                throw ApiError{HTTPResponse::HTTP_BAD_REQUEST, "custom-message needs a capability"};
            }
        } else if (action == "connection-settings") {
            *message.mutable_connection_settings() =
                parseProto<pb::ConnectionSettingsOffers>(body, "ConnectionSettingsOffers");
        } else if (action == "packages") {
            *message.mutable_packages_available() =
                parseProto<pb::PackagesAvailable>(body, "PackagesAvailable");
        } else if (action == "new-instance-uid") {
            auto object = parseObject(body);
            std::string text = object->optValue<std::string>("instance_uid", "");
            if (!text.empty()) {
                auto uid = opamp::Uuid::parse(text);
                if (!uid) {
                    throw ApiError{HTTPResponse::HTTP_BAD_REQUEST,
                                   "instance_uid is not a UUID: " + text};
                }
                message.mutable_agent_identification()->set_new_instance_uid(uid->toBytesString());
            }
        } else if (action == "send") {
            message = parseProto<pb::ServerToAgent>(body, "ServerToAgent");
        } else {
            throw ApiError{HTTPResponse::HTTP_NOT_FOUND, "no agent action " + action};
        }
        return message;
    }

    DevServer& server_;
};

class AdminFactory : public Poco::Net::HTTPRequestHandlerFactory {
  public:
    explicit AdminFactory(DevServer& server) : server_(server) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
        return new AdminHandler(server_);
    }

  private:
    DevServer& server_;
};

}  // namespace

Poco::Net::HTTPRequestHandlerFactory* makeAdminFactory(DevServer& server) {
    return new AdminFactory(server);
}

}  // namespace opampsup::devserver
