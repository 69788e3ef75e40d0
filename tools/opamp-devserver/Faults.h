#pragma once

// Faults the dev server can be told to inject, so clients can be tested against the failures
// real servers and networks produce. Each armed fault applies to the next `count` requests or
// messages and then disarms itself; the download throttle alone stays until cleared.
// Thread-safe: armed from the admin API, consumed by the connection handlers.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "opamp.pb.h"

namespace opampsup::devserver {

class Faults {
  public:
    // An HTTP status instead of the WebSocket upgrade or the poll's answer (503, 429, ...).
    struct HttpRefusal {
        int status = 503;
        std::string retryAfter;  // the Retry-After header as given; empty for none
    };

    void refuseHttp(HttpRefusal refusal, int count);
    // A ServerErrorResponse instead of the normal answer to an agent's message.
    void answerWithError(::opamp::proto::ServerErrorResponse error, int count);
    // Close the connection of the next `count` polls without an answer.
    void dropHttp(int count);
    // File downloads (/files/...): the next `count` responses send their headers and only
    // the first `afterBytes` of the body, then the connection is shut down.
    void cutDownloads(std::uint64_t afterBytes, int count);
    // The next `count` file requests are answered with this HTTP status.
    void failDownloads(int status, int count);
    // File bodies are paced to about this many bytes a second until cleared; 0 clears.
    void throttleDownloads(std::uint64_t bytesPerSecond);
    void clear();

    std::optional<HttpRefusal> takeHttpRefusal();
    std::optional<::opamp::proto::ServerErrorResponse> takeError();
    bool takeHttpDrop();
    // How many body bytes to send before cutting; nothing when no cut is armed.
    std::optional<std::uint64_t> takeDownloadCut();
    std::optional<int> takeDownloadFailure();
    // Read for each chunk sent, so a change applies to downloads already running.
    std::uint64_t downloadThrottle() const;

    // What is armed, as JSON, for the admin API.
    std::string describeJson() const;

  private:
    mutable std::mutex mutex_;
    HttpRefusal refusal_;
    int refusalsLeft_ = 0;
    ::opamp::proto::ServerErrorResponse error_;
    int errorsLeft_ = 0;
    int dropsLeft_ = 0;
    std::uint64_t cutAfterBytes_ = 0;
    int cutsLeft_ = 0;
    int downloadFailureStatus_ = 500;
    int downloadFailuresLeft_ = 0;
    std::uint64_t throttleBytesPerSecond_ = 0;
};

}  // namespace opampsup::devserver
