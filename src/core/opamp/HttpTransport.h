#pragma once

// OpAMP over plain HTTP: each AgentToServer is POSTed as application/x-protobuf and the
// response body is the ServerToAgent. One request is in flight at a time, on one I/O
// thread; the client polls by sending periodically (needsPolling()). Bodies over 1 KiB
// are gzip-compressed, and gzip responses are accepted.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "core/opamp/HttpSession.h"
#include "core/opamp/Transport.h"

namespace opampsup::opamp {

class HttpTransport : public Transport {
  public:
    HttpTransport(Settings settings, Callbacks callbacks, telemetry::Logger logger);
    ~HttpTransport() override;
    HttpTransport(const HttpTransport&) = delete;
    HttpTransport& operator=(const HttpTransport&) = delete;

    // There is no connection to open: the transport is ready at once, and the first
    // request tells whether the server is there.
    void connect() override;
    bool send(std::string payload) override;
    void close(std::optional<std::string> lastPayload = std::nullopt) override;
    bool isConnected() const override { return ready_; }
    bool needsPolling() const override { return true; }
    void setInstanceUid(const Uuid& uid) override;

  private:
    void run();
    // Posts one message; returns the failure when there is one.
    std::optional<Disconnect> exchange(const std::string& payload, bool deliverResponse);

    Settings settings_;
    Callbacks callbacks_;
    telemetry::Logger logger_;

    std::thread thread_;
    std::atomic<bool> ready_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::string> outbox_;
    bool closing_ = false;
    std::optional<std::string> lastPayload_;
    std::string instanceUid_;
    InFlight inFlight_;
};

}  // namespace opampsup::opamp
