#pragma once

// What the dev server knows about its agents: the latest value of every status field each
// agent reported, the messages waiting for it, the remote config it should run, and a bounded
// record of every message in both directions. It also decides the server's answer to each
// agent message, the way a real server would (ReportFullState after a gap, the full
// component map when only a hash is known, a new instance UID on request).
//
// Thread-safe: connection handlers and the admin API call it concurrently.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/opamp/Uuid.h"
#include "opamp.pb.h"

namespace opampsup::devserver {

class CsrSigner;

enum class TransportKind { WebSocket, Http };

// Who sent a message: the connection's remote address, and the subject common name of the
// client certificate it presented over TLS (empty when none).
struct Peer {
    std::string address;
    std::string certificateCommonName;
};

// A live WebSocket connection; the registry writes to it from any thread.
class AgentConnection {
  public:
    virtual ~AgentConnection() = default;
    virtual bool send(const ::opamp::proto::ServerToAgent& message) = 0;
    // Closes the TCP connection without a close frame, as a failing network would.
    virtual void drop() = 0;
};

class AgentRegistry {
  public:
    // The capabilities every dev server announces: all the server-side ones but
    // AcceptsConnectionSettingsRequest, which needs a CA to sign CSRs with.
    static constexpr std::uint64_t kServerCapabilities =
        ::opamp::proto::ServerCapabilities_AcceptsStatus |
        ::opamp::proto::ServerCapabilities_OffersRemoteConfig |
        ::opamp::proto::ServerCapabilities_AcceptsEffectiveConfig |
        ::opamp::proto::ServerCapabilities_OffersPackages |
        ::opamp::proto::ServerCapabilities_AcceptsPackagesStatus |
        ::opamp::proto::ServerCapabilities_OffersConnectionSettings;

    explicit AgentRegistry(std::size_t recordLimit = 10000);

    // Takes one message from an agent and returns the answer to send. `connection` is set for
    // WebSocket agents (null over HTTP); `newConnection` marks the first message of a
    // connection. A CSR in connection_settings_request is signed into a connection settings
    // offer, or answered with a BadRequest error response saying why not.
    ::opamp::proto::ServerToAgent onAgentMessage(const ::opamp::proto::AgentToServer& message,
                                                 TransportKind transport, const Peer& peer,
                                                 const std::shared_ptr<AgentConnection>& connection,
                                                 bool newConnection);
    // Records a message the server refused to process and the answer it gave instead (an
    // injected error); the agent's known state does not change.
    void recordRefused(const ::opamp::proto::AgentToServer& message, TransportKind transport,
                       const ::opamp::proto::ServerToAgent& reply);
    void onConnectionClosed(const std::shared_ptr<AgentConnection>& connection);

    // Admin actions on one agent, by its UID text. They return false for an unknown agent.
    // A WebSocket agent gets the message at once; an HTTP agent with its next poll.
    bool send(const std::string& agent, ::opamp::proto::ServerToAgent message);
    // Remembers the config as the agent's desired one and sends it.
    bool setRemoteConfig(const std::string& agent, const ::opamp::proto::AgentRemoteConfig& config);

    std::vector<std::string> agentIds() const;
    std::string agentsJson() const;
    std::optional<std::string> agentJson(const std::string& agent) const;
    // Recorded messages with an index above `since`, optionally of one agent only.
    std::string messagesJson(const std::optional<std::string>& agent, std::uint64_t since) const;

    // Drops every WebSocket connection (a network failure as the agents see it).
    void dropConnections();

    // From now on, each agent's first message, each new WebSocket connection and each
    // message after a sequence gap (a restarted agent) is answered with this heartbeat
    // interval offered; 0 stops offering.
    void offerHeartbeatInterval(std::uint64_t seconds);

    // Signs agents' CSRs from now on (null: refuses them), and announces
    // AcceptsConnectionSettingsRequest while it can.
    void setCsrSigner(std::shared_ptr<const CsrSigner> signer);
    std::uint64_t serverCapabilities() const;

  private:
    struct Agent {
        opamp::Uuid uid;
        ::opamp::proto::AgentToServer status;  // the latest value of each reported field
        std::uint64_t lastSequenceNum = 0;
        std::uint64_t messageCount = 0;
        TransportKind transport = TransportKind::WebSocket;
        std::string peer;
        std::string clientCertificate;  // the common name its connection presented
        std::chrono::system_clock::time_point firstSeen;
        std::chrono::system_clock::time_point lastSeen;
        bool saidGoodbye = false;  // sent agent_disconnect
        std::shared_ptr<AgentConnection> connection;
        std::deque<::opamp::proto::ServerToAgent> pending;
        std::optional<::opamp::proto::AgentRemoteConfig> desiredConfig;
        bool desiredConfigSent = false;
    };

    void record(const std::string& agent, bool fromAgent, TransportKind transport,
                const google::protobuf::Message& message);
    static void mergeStatus(Agent& agent, const ::opamp::proto::AgentToServer& message);
    static void takePending(Agent& agent, ::opamp::proto::ServerToAgent& reply);
    static ::opamp::proto::ServerToAgent answerCsr(const ::opamp::proto::AgentToServer& message,
                                                   const CsrSigner* signer);
    std::string agentJsonLocked(const Agent& agent) const;
    std::uint64_t capabilitiesLocked() const;

    struct Recorded {
        std::uint64_t index = 0;
        std::chrono::system_clock::time_point time;
        std::string agent;
        bool fromAgent = true;
        TransportKind transport = TransportKind::WebSocket;
        std::string json;
    };

    mutable std::mutex mutex_;
    std::uint64_t offeredHeartbeatSeconds_ = 0;
    std::shared_ptr<const CsrSigner> signer_;
    // New instance UIDs the server gave, to the UID each replaced: an agent may ask for a
    // certificate for its new UID over a connection that still shows its old certificate.
    std::map<std::string, std::string> renamedFrom_;
    std::map<std::string, Agent> agents_;  // by UID text
    std::deque<Recorded> recorded_;
    std::uint64_t recordIndex_ = 0;
    std::size_t recordLimit_;
};

}  // namespace opampsup::devserver
