#pragma once

// Fetches a package file over HTTP or HTTPS into a ".part" file, picking up where an
// earlier attempt (or an earlier run of the supervisor) stopped with a Range request.
// Blocking: it runs on a package worker thread, never on the supervisor's loop.
//
// Connection drops, short bodies and 5xx answers are retried with backoff from the bytes
// already on disk; a 4xx answer, a file over the size limit or too many redirects end the
// download at once. The OpAMP server's credentials are never sent: only the headers the
// offer carries.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/config/SupervisorConfig.h"
#include "core/opamp/Proxy.h"

namespace Poco::Net {
class HTTPClientSession;
}

namespace opampsup::packages {

class DownloadError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class DownloadCancelled : public std::runtime_error {
  public:
    DownloadCancelled() : std::runtime_error("the download was cancelled") {}
};

struct DownloadProgress {
    std::uint64_t received = 0;  // bytes in the .part file
    std::uint64_t total = 0;     // 0 while unknown
    double bytesPerSecond = 0;   // over this attempt
};

class Downloader {
  public:
    struct Connection {
        std::optional<config::TlsClientSettings> tls;  // server.tls applies to https:// files
        std::function<std::optional<opamp::ProxyRoute>(const std::string& url)> proxyFor;
        std::string userAgent;
        std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // connect and each read
        int attempts = 5;
        std::chrono::milliseconds firstRetryDelay{std::chrono::seconds(1)};
    };

    struct Request {
        std::string url;
        std::vector<std::pair<std::string, std::string>> headers;  // from the offer
        std::filesystem::path partFile;
        std::uint64_t maxBytes = 0;
    };

    explicit Downloader(Connection connection);

    // Returns once partFile holds the whole file: true when the server said how long the
    // file is (a connection cut in a body of unknown length looks like its end). Throws
    // DownloadError naming the URL and the cause, or DownloadCancelled. `progress` is
    // called at most every half second.
    bool run(const Request& request, const std::function<void(const DownloadProgress&)>& progress);

    bool cancelled();

    // From any thread: run() ends soon with DownloadCancelled.
    void cancel();

  private:
    class SessionInUse;
    enum class Attempt { Done, Retry };
    Attempt attempt(const Request& request,
                    const std::function<void(const DownloadProgress&)>& progress,
                    std::string& lastError);
    void waitBeforeRetry(std::chrono::milliseconds delay);
    void throwIfCancelled();
    void use(Poco::Net::HTTPClientSession* session);

    Connection connection_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool cancelled_ = false;
    bool lengthKnown_ = false;
    Poco::Net::HTTPClientSession* session_ = nullptr;
};

}  // namespace opampsup::packages
