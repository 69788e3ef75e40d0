#pragma once

// Sends the supervisor's own telemetry to an OTLP/HTTP endpoint: serialized export requests
// are queued by whoever produces them and POSTed (protobuf, gzip) by one thread of the
// sender's own, so a slow or absent backend never holds up the supervisor's loop. The queue
// is bounded in bytes: what does not fit is dropped, and counted.
//
// A request is retried, with backoff and Retry-After honoured, after a connection failure,
// 429, 502, 503 or 504 (the OTLP/HTTP rules), up to a few attempts; other answers drop it.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/config/SupervisorConfig.h"
#include "core/opamp/Proxy.h"

namespace Poco::Net {
class HTTPClientSession;
}

namespace opampsup::otlp {

struct OtlpTarget {
    std::string url;  // the full URL, path included (".../v1/logs")
    config::Headers headers;
    std::optional<config::TlsClientSettings> tls;
    std::optional<opamp::ProxyRoute> proxy;
    bool gzip = true;
    std::chrono::milliseconds timeout{std::chrono::seconds(10)};
};

struct SenderLimits {
    std::size_t maxQueuedBytes = 4U << 20;
    int maxAttempts = 4;
    std::chrono::milliseconds firstRetryDelay{std::chrono::seconds(1)};
    std::chrono::milliseconds maxRetryDelay{std::chrono::seconds(30)};
};

struct SenderCounts {
    std::uint64_t sent = 0;     // requests the backend accepted
    std::uint64_t dropped = 0;  // requests that did not fit in the queue
    std::uint64_t failed = 0;   // requests given up on (refused, or out of attempts)
};

class OtlpSender {
  public:
    // `problem` hears of failures, at most one a minute. It may log through a logger that
    // exports through this sender: adding a record never waits on the sender.
    OtlpSender(OtlpTarget target, SenderLimits limits,
               std::function<void(const std::string&)> problem);
    ~OtlpSender();
    OtlpSender(const OtlpSender&) = delete;
    OtlpSender& operator=(const OtlpSender&) = delete;

    // Any thread; never blocks on the network. False when the request was dropped.
    bool enqueue(std::string request);
    // Sends what is queued for at most `grace`; then a request still on the wire is cut off
    // and the thread stops. Idempotent.
    void shutdown(std::chrono::milliseconds grace);
    SenderCounts counts() const;
    const OtlpTarget& target() const { return target_; }

  private:
    void run();
    // True when the backend took the request or refused it for good.
    bool sendOnce(const std::string& body, std::chrono::milliseconds& retryAfter);
    void reportProblem(const std::string& what);

    OtlpTarget target_;
    SenderLimits limits_;
    std::function<void(const std::string&)> problem_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::string> queue_;
    std::size_t queuedBytes_ = 0;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
    SenderCounts counts_;
    // The request on the wire, for shutdown to cut; and whether run() has returned.
    Poco::Net::HTTPClientSession* session_ = nullptr;
    bool finished_ = false;
    std::condition_variable finishedChanged_;
    std::chrono::steady_clock::time_point lastProblem_{};
    std::thread thread_;
};

}  // namespace opampsup::otlp
