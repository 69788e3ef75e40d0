#pragma once

// The dev server: a real OpAMP server for tests, demos and local trials. One listener serves
// OpAMP over WebSocket and HTTP polling on /v1/opamp (optionally TLS, optionally requiring
// client certificates) plus downloadable files under /files/; a second, plain-HTTP listener
// serves the JSON admin API (see AdminApi.h). Both bind to loopback unless told otherwise.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "AgentRegistry.h"
#include "Faults.h"

namespace Poco::Net {
class HTTPServer;
}  // namespace Poco::Net
namespace Poco {
class ThreadPool;
}  // namespace Poco

namespace opampsup::devserver {

class DevServer {
  public:
    struct Options {
        std::string host = "127.0.0.1";
        std::uint16_t port = 4320;  // 0 picks a free port
        std::string adminHost = "127.0.0.1";
        std::uint16_t adminPort = 4321;  // 0 picks a free port
        // TLS when both are set.
        std::string certFile;
        std::string keyFile;
        // When set, agents must present a certificate signed by this CA (mTLS); with a CSR
        // CA as well, they may connect without one (to ask for one) but what they present
        // must verify.
        std::string clientCaFile;
        // When both are set, agents' CSRs (ConnectionSettingsRequest) are signed with this CA
        // (PEM files) into client certificates valid for csrValidityDays.
        std::string csrCaCertFile;
        std::string csrCaKeyFile;
        std::uint32_t csrValidityDays = 30;
        std::size_t recordLimit = 10000;
        std::size_t maxConnections = 256;
        // Offered to each agent when its session starts (ConnectionSettingsOffers.opamp
        // heartbeat_interval_seconds), as servers shorten HTTP polling; 0 offers nothing.
        std::uint64_t heartbeatIntervalSeconds = 0;
        // The Authorization values agents must send; empty lets everyone in.
        std::set<std::string> acceptedAuthorization;
        // Where connection events are reported; nothing when empty.
        std::function<void(const std::string&)> log;
    };

    explicit DevServer(Options options);
    ~DevServer();
    DevServer(const DevServer&) = delete;
    DevServer& operator=(const DevServer&) = delete;

    // Binds both listeners and starts serving. Throws with the address on failure.
    void start();
    void stop();

    // The ports in use since start(); still valid after stop(), so a restart can reuse them.
    std::uint16_t port() const;
    std::uint16_t adminPort() const;
    bool tls() const { return !options_.certFile.empty(); }
    bool signsCsrs() const { return !options_.csrCaCertFile.empty(); }
    // ws://, wss://, http:// or https:// URL of the OpAMP endpoint.
    std::string endpoint(bool websocket) const;
    std::string adminUrl() const;
    // The web page on the admin listener.
    std::string pageUrl() const;

    AgentRegistry& agents() { return agents_; }
    bool stopping() const { return stopping_; }
    void log(const std::string& line) const;
    Faults& faults() { return faults_; }

    // Files agents can download from /files/<name> (package payloads, for example).
    // Returns the SHA-256 of the content, hex.
    std::string putFile(const std::string& name, std::string content);
    std::optional<std::string> file(const std::string& name) const;

    // A file as served: shared, so a download in progress keeps its bytes when the file is
    // replaced.
    struct ServedFile {
        std::shared_ptr<const std::string> content;
        std::string sha256;  // hex
    };
    std::optional<ServedFile> servedFile(const std::string& name) const;

    // What clients sent to /files/<name>, so tests can check a downloader's requests.
    using Headers = std::vector<std::pair<std::string, std::string>>;
    struct FileRequests {
        int count = 0;
        // Each request's Range header, "" when it had none, oldest first (the newest
        // recordLimit of them).
        std::vector<std::string> ranges;
        Headers lastHeaders;  // all headers of the latest request, names as sent
    };
    void recordFileRequest(const std::string& name, Headers headers);
    FileRequests fileRequests(const std::string& name) const;

    // File bodies being sent right now; one ends soon after its client goes away.
    int downloadsInProgress() const { return downloadsInProgress_; }
    void downloadStarted() { ++downloadsInProgress_; }
    void downloadEnded() { --downloadsInProgress_; }

    // Agents must send one of these Authorization values (a bearer token, basic
    // credentials) or get 401; empty lets everyone in. Checked when a WebSocket connects
    // and at each poll, as servers check credentials.
    void requireAuthorization(std::set<std::string> accepted);
    bool authorized(const std::string& authorization) const;
    std::vector<std::string> acceptedAuthorization() const;

  private:
    class OpampFactory;
    class AdminFactory;

    Options options_;
    AgentRegistry agents_;
    Faults faults_;
    mutable std::mutex filesMutex_;
    std::map<std::string, ServedFile> files_;
    mutable std::mutex fileRequestsMutex_;
    std::map<std::string, FileRequests> fileRequests_;
    std::atomic<int> downloadsInProgress_{0};
    mutable std::mutex authMutex_;
    std::set<std::string> acceptedAuthorization_;
    std::atomic<bool> stopping_{false};
    std::unique_ptr<Poco::ThreadPool> pool_;
    std::unique_ptr<Poco::Net::HTTPServer> opampServer_;
    std::unique_ptr<Poco::Net::HTTPServer> adminServer_;
    std::uint16_t port_ = 0;
    std::uint16_t adminPort_ = 0;
};

}  // namespace opampsup::devserver
