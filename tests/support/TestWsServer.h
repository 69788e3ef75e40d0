#pragma once

// A minimal OpAMP WebSocket server on loopback for transport tests: it records what the
// agent sends, and lets a test send messages, raw frames, refusals and disconnects.

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <Poco/Net/HTTPServer.h>

#include "opamp.pb.h"
#include "support/Waiter.h"

namespace Poco::Net {
class ServerSocket;
class WebSocket;
}  // namespace Poco::Net

namespace opampsup::testing {

class TestWsServer {
  public:
    struct Received {
        int opcode = 0;       // WebSocket opcode of the frame
        std::string payload;  // raw frame payload
    };

    struct Tls {
        std::string certFile;
        std::string keyFile;
        std::string caFile;  // to verify client certificates
        bool requireClientCertificate = false;
    };

    TestWsServer();
    explicit TestWsServer(const Tls& tls);
    ~TestWsServer();

    std::string endpoint() const;      // ws:// (wss:// with TLS)
    std::string httpEndpoint() const;  // http:// (https://): the same server answers polls

    // Upgrades are refused with this status (and Retry-After when not empty); 0 accepts.
    void refuseWith(int status, const std::string& retryAfter = "");

    // Decoded AgentToServer messages (header byte checked), in arrival order.
    Waiter<::opamp::proto::AgentToServer>& messages() { return messages_; }
    // The HTTP status of each refused upgrade.
    Waiter<int>& refusals() { return refusals_; }
    // Every frame received, for tests of control frames.
    Waiter<Received>& frames() { return frames_; }
    // Request headers of each accepted upgrade, pushed once the connection can be used by
    // send(): wait for it before sending.
    Waiter<std::map<std::string, std::string>>& connections() { return connections_; }

    // Over WebSocket: sent at once. Over HTTP: the answer to the next request.
    void send(const ::opamp::proto::ServerToAgent& message);
    void sendFrame(const std::string& bytes, int flags);
    // Closes the TCP connection without a close frame.
    void drop();

  private:
    class Handler;
    class Factory;

    void start(Poco::Net::ServerSocket& socket);

    bool tls_ = false;
    std::unique_ptr<Poco::Net::HTTPServer> server_;
    std::mutex mutex_;
    Poco::Net::WebSocket* current_ = nullptr;  // the connection of the running handler
    int refuseStatus_ = 0;
    std::string retryAfter_;
    Waiter<::opamp::proto::AgentToServer> messages_;
    Waiter<Received> frames_;
    Waiter<std::map<std::string, std::string>> connections_;
    Waiter<int> refusals_;
    std::deque<::opamp::proto::ServerToAgent> httpReplies_;
    bool lastWasHttp_ = false;
};

}  // namespace opampsup::testing
