#include "support/DevServerFixture.h"

#include <thread>

#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

namespace opampsup::testing {
namespace pb = ::opamp::proto;

namespace {

devserver::DevServer::Options freePorts() {
    devserver::DevServer::Options options;
    options.port = 0;
    options.adminPort = 0;
    return options;
}

// A file name as one segment of a URL path.
std::string pathSegment(const std::string& name) {
    std::string encoded;
    Poco::URI::encode(name, "/?#[]@!$&'()*+,;=", encoded);
    return encoded;
}

template <typename Message>
std::vector<Message> decode(const Poco::JSON::Object::Ptr& json, bool fromAgent) {
    std::vector<Message> out;
    if (!json) {
        return out;
    }
    auto list = json->getArray("messages");
    for (std::size_t i = 0; list && i < list->size(); ++i) {
        auto entry = list->getObject(static_cast<unsigned>(i));
        bool agentSide = entry->getValue<std::string>("direction") == "agent_to_server";
        if (agentSide != fromAgent) {
            continue;
        }
        std::ostringstream text;
        Poco::JSON::Stringifier::stringify(entry->get("message"), text);
        Message message;
        if (google::protobuf::util::JsonStringToMessage(text.str(), &message).ok()) {
            out.push_back(std::move(message));
        }
    }
    return out;
}

}  // namespace

DevServerFixture::DevServerFixture() {
    start(freePorts());
}

DevServerFixture::DevServerFixture(const Tls& tls) {
    auto options = freePorts();
    options.certFile = tls.certFile;
    options.keyFile = tls.keyFile;
    options.clientCaFile = tls.clientCaFile;
    start(options);
}

DevServerFixture::DevServerFixture(devserver::DevServer::Options options) {
    auto ports = freePorts();
    options.port = ports.port;
    options.adminPort = ports.adminPort;
    start(std::move(options));
}

void DevServerFixture::start(devserver::DevServer::Options options) {
    options_ = options;
    server_ = std::make_unique<devserver::DevServer>(options);
    server_->start();
}

void DevServerFixture::offerHeartbeatInterval(std::uint64_t seconds) {
    options_.heartbeatIntervalSeconds = seconds;
    server_->agents().offerHeartbeatInterval(seconds);
}

void DevServerFixture::restart() {
    auto options = options_;
    options.port = server_->port();
    options.adminPort = server_->adminPort();
    server_->stop();
    server_.reset();
    start(options);
}

DevServerFixture::~DevServerFixture() {
    server_->stop();
}

std::string DevServerFixture::endpoint(const std::string& scheme) const {
    bool websocket = scheme == "ws" || scheme == "wss";
    return server_->endpoint(websocket);
}

DevServerFixture::Reply DevServerFixture::request(const std::string& method,
                                                  const std::string& path,
                                                  const std::string& body) {
    Poco::Net::HTTPClientSession session("127.0.0.1", server_->adminPort());
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Reply reply;
    reply.status = static_cast<int>(response.getStatus());
    Poco::StreamCopier::copyToString(in, reply.body);
    try {
        Poco::JSON::Parser parser;
        reply.json = parser.parse(reply.body).extract<Poco::JSON::Object::Ptr>();
    } catch (const Poco::Exception&) {
        reply.json = nullptr;
    }
    return reply;
}

Poco::JSON::Object::Ptr DevServerFixture::agent(const std::string& uid) {
    Reply reply = request("GET", "/api/agents/" + uid);
    return reply.status == 200 ? reply.json : nullptr;
}

Poco::JSON::Object::Ptr DevServerFixture::waitForAgent(
    const std::string& uid, const std::function<bool(const Poco::JSON::Object&)>& ready,
    std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        auto json = agent(uid);
        if (json && ready(*json)) {
            return json;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            return nullptr;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::vector<pb::AgentToServer> DevServerFixture::agentMessages(const std::string& uid) {
    return decode<pb::AgentToServer>(request("GET", "/api/messages?agent=" + uid).json, true);
}

std::vector<pb::ServerToAgent> DevServerFixture::serverMessages(const std::string& uid) {
    return decode<pb::ServerToAgent>(request("GET", "/api/messages?agent=" + uid).json, false);
}

std::vector<pb::AgentToServer> DevServerFixture::waitForAgentMessages(
    const std::string& uid, const std::function<bool(const pb::AgentToServer&)>& match,
    std::size_t count, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        std::vector<pb::AgentToServer> matching;
        for (auto& message : agentMessages(uid)) {
            if (match(message)) {
                matching.push_back(std::move(message));
            }
        }
        if (matching.size() >= count || std::chrono::steady_clock::now() > deadline) {
            return matching;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

void DevServerFixture::expectOk(const Reply& reply, const std::string& what) {
    EXPECT_EQ(reply.status, 200) << what << ": " << reply.body;
}

std::string DevServerFixture::pushConfig(const std::string& uid, const std::string& name,
                                         const std::string& yaml) {
    Poco::JSON::Object files;
    files.set(name, yaml);
    Poco::JSON::Object body;
    body.set("config", files);
    std::ostringstream text;
    body.stringify(text);
    Reply reply = request("POST", "/api/agents/" + uid + "/config", text.str());
    expectOk(reply, "push config");
    return reply.json ? reply.json->optValue<std::string>("config_hash", "") : "";
}

void DevServerFixture::restart(const std::string& uid) {
    expectOk(request("POST", "/api/agents/" + uid + "/restart"), "restart");
}

void DevServerFixture::assignInstanceUid(const std::string& uid, const std::string& newUid) {
    expectOk(request("POST", "/api/agents/" + uid + "/new-instance-uid",
                     "{\"instance_uid\": \"" + newUid + "\"}"),
             "new-instance-uid");
}

void DevServerFixture::offerConnectionSettings(const std::string& uid, const std::string& json) {
    expectOk(request("POST", "/api/agents/" + uid + "/connection-settings", json),
             "connection-settings");
}

void DevServerFixture::reportFullState(const std::string& uid) {
    expectOk(request("POST", "/api/agents/" + uid + "/report-full-state"), "report-full-state");
}

void DevServerFixture::customMessage(const std::string& uid, const std::string& capability,
                                     const std::string& type, const std::string& data) {
    Poco::JSON::Object body;
    body.set("capability", capability);
    body.set("type", type);
    body.set("data", data);
    std::ostringstream text;
    body.stringify(text);
    expectOk(request("POST", "/api/agents/" + uid + "/custom-message", text.str()),
             "custom-message");
}

void DevServerFixture::fault(const std::string& json) {
    expectOk(request("POST", "/api/faults", json), "fault");
}

void DevServerFixture::requireAuthorization(const std::vector<std::string>& accepted) {
    std::string json = "{\"authorization\":[";
    for (std::size_t i = 0; i < accepted.size(); ++i) {
        json += (i == 0 ? "\"" : ",\"") + accepted[i] + "\"";
    }
    expectOk(request("PUT", "/api/auth", json + "]}"), "require authorization");
    // Kept across restart().
    options_.acceptedAuthorization = {accepted.begin(), accepted.end()};
}

void DevServerFixture::clearFaults() {
    expectOk(request("DELETE", "/api/faults"), "clear faults");
}

void DevServerFixture::offerPackages(const std::string& uid,
                                     const pb::PackagesAvailable& packages) {
    std::string json;
    EXPECT_TRUE(google::protobuf::util::MessageToJsonString(packages, &json).ok());
    expectOk(request("POST", "/api/agents/" + uid + "/packages", json), "packages");
}

DevServerFixture::ServedFile DevServerFixture::putFile(const std::string& name,
                                                       const std::string& content) {
    Reply reply = request("PUT", "/api/files/" + pathSegment(name), content);
    expectOk(reply, "put file");
    if (!reply.json) {
        return {};
    }
    return {reply.json->optValue<std::string>("url", ""),
            reply.json->optValue<std::string>("sha256", "")};
}

Poco::JSON::Object::Ptr DevServerFixture::fileRequests(const std::string& name) {
    Reply reply = request("GET", "/api/files/" + pathSegment(name) + "/requests");
    expectOk(reply, "file requests");
    return reply.json ? reply.json : Poco::JSON::Object::Ptr(new Poco::JSON::Object);
}

int DevServerFixture::fileRequestCount(const std::string& name) {
    return fileRequests(name)->optValue<int>("count", 0);
}

std::vector<std::string> DevServerFixture::fileRequestRanges(const std::string& name) {
    std::vector<std::string> ranges;
    auto list = fileRequests(name)->getArray("ranges");
    for (std::size_t i = 0; list && i < list->size(); ++i) {
        ranges.push_back(list->getElement<std::string>(static_cast<unsigned>(i)));
    }
    return ranges;
}

std::map<std::string, std::string> DevServerFixture::lastFileRequestHeaders(
    const std::string& name) {
    std::map<std::string, std::string> headers;
    auto object = fileRequests(name)->getObject("last_headers");
    if (object) {
        for (const auto& [header, value] : *object) {
            headers[header] = value.convert<std::string>();
        }
    }
    return headers;
}

void DevServerFixture::cutDownloads(std::uint64_t afterBytes, int count) {
    fault(R"({"cut_downloads":{"after_bytes":)" + std::to_string(afterBytes) + R"(,"count":)" +
          std::to_string(count) + "}}");
}

void DevServerFixture::failDownloads(int status, int count) {
    fault(R"({"fail_downloads":{"status":)" + std::to_string(status) + R"(,"count":)" +
          std::to_string(count) + "}}");
}

void DevServerFixture::throttleDownloads(std::uint64_t bytesPerSecond) {
    fault(R"({"throttle_downloads":{"bytes_per_second":)" + std::to_string(bytesPerSecond) + "}}");
}

}  // namespace opampsup::testing
