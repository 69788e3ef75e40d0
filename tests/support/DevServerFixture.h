#pragma once

// Runs the dev server in the test process on free loopback ports and drives it through its
// JSON admin API, exactly as a user or the quick start would: every call below is an HTTP
// request to the admin listener.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <Poco/JSON/Object.h>

#include "DevServer.h"
#include "opamp.pb.h"

namespace opampsup::testing {

class DevServerFixture {
  public:
    struct Tls {
        std::string certFile;
        std::string keyFile;
        std::string clientCaFile;  // set for mTLS
    };

    DevServerFixture();
    explicit DevServerFixture(const Tls& tls);
    // Any options; the ports are always free ones.
    explicit DevServerFixture(devserver::DevServer::Options options);
    ~DevServerFixture();

    // "ws" / "http" (or "wss" / "https" with TLS): the OpAMP endpoint for that transport.
    std::string endpoint(const std::string& scheme) const;
    devserver::DevServer& server() { return *server_; }
    // Stops the server and starts a fresh one, with no memory of agents, on the same ports.
    void restart();

    struct Reply {
        int status = 0;
        std::string body;
        Poco::JSON::Object::Ptr json;  // null when the body is not a JSON object
    };
    Reply request(const std::string& method, const std::string& path, const std::string& body = "");

    // The agent as GET /api/agents/{uid} shows it; null when the server does not know it.
    Poco::JSON::Object::Ptr agent(const std::string& uid);
    // Polls the agent until `ready` holds; null after the timeout.
    Poco::JSON::Object::Ptr waitForAgent(
        const std::string& uid, const std::function<bool(const Poco::JSON::Object&)>& ready,
        std::chrono::milliseconds timeout = std::chrono::seconds(10));

    // Messages recorded for the agent, decoded back into protobuf.
    std::vector<::opamp::proto::AgentToServer> agentMessages(const std::string& uid);
    std::vector<::opamp::proto::ServerToAgent> serverMessages(const std::string& uid);
    // Waits until at least `count` agent messages satisfy `match`; returns them all.
    std::vector<::opamp::proto::AgentToServer> waitForAgentMessages(
        const std::string& uid,
        const std::function<bool(const ::opamp::proto::AgentToServer&)>& match, std::size_t count,
        std::chrono::milliseconds timeout = std::chrono::seconds(10));

    // Admin actions; each expects HTTP 200 and fails the test otherwise.
    std::string pushConfig(const std::string& uid, const std::string& name,
                           const std::string& yaml);  // the config hash, hex
    void restart(const std::string& uid);
    void reportFullState(const std::string& uid);
    void customMessage(const std::string& uid, const std::string& capability,
                       const std::string& type, const std::string& data);
    void fault(const std::string& json);
    // The Authorization values agents must send (PUT /api/auth), kept across restart();
    // empty: none needed.
    void requireAuthorization(const std::vector<std::string>& accepted);
    // Tells the agent to take a new instance UID.
    void assignInstanceUid(const std::string& uid, const std::string& newUid);
    // Sends a ConnectionSettingsOffers, given in protobuf JSON.
    void offerConnectionSettings(const std::string& uid, const std::string& json);
    // Offers this heartbeat interval to agents on their first message, across restarts.
    void offerHeartbeatInterval(std::uint64_t seconds);
    // Sends a PackagesAvailable (POST /api/agents/{uid}/packages).
    void offerPackages(const std::string& uid, const ::opamp::proto::PackagesAvailable& packages);
    void clearFaults();

    // Files served at /files/{name} (PUT /api/files/{name}).
    struct ServedFile {
        std::string url;     // what a DownloadableFile.download_url would name
        std::string sha256;  // hex
    };
    ServedFile putFile(const std::string& name, const std::string& content);
    // What clients sent for /files/{name} (GET /api/files/{name}/requests): how many GETs,
    // each one's Range header in order ("" without one), and every header of the latest,
    // names as sent.
    int fileRequestCount(const std::string& name);
    std::vector<std::string> fileRequestRanges(const std::string& name);
    std::map<std::string, std::string> lastFileRequestHeaders(const std::string& name);

    // Download faults (POST /api/faults), for the file responses that follow.
    // The next `count` bodies stop after `afterBytes` and the connection closes.
    void cutDownloads(std::uint64_t afterBytes, int count = 1);
    // The next `count` file requests get this HTTP status.
    void failDownloads(int status, int count = 1);
    // Bodies are paced to about this rate until 0 or clearFaults().
    void throttleDownloads(std::uint64_t bytesPerSecond);

  private:
    void start(devserver::DevServer::Options options);
    // GET /api/files/{name}/requests; an empty object when the answer is not JSON.
    Poco::JSON::Object::Ptr fileRequests(const std::string& name);
    void expectOk(const Reply& reply, const std::string& what);

    devserver::DevServer::Options options_;
    std::unique_ptr<devserver::DevServer> server_;
};

}  // namespace opampsup::testing
