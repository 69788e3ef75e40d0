#include "core/packages/Downloader.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <istream>
#include <memory>
#include <string_view>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/URI.h>

#include "core/opamp/HttpSession.h"

namespace opampsup::packages {

namespace {

using Poco::Net::HTTPResponse;

constexpr int kMaxRedirects = 5;
constexpr std::chrono::milliseconds kProgressEvery{500};
constexpr std::chrono::milliseconds kMaxRetryDelay{std::chrono::seconds(30)};

std::uint64_t sizeOf(const std::filesystem::path& file) {
    std::error_code ec;
    std::uintmax_t size = std::filesystem::file_size(file, ec);
    return ec ? 0 : static_cast<std::uint64_t>(size);
}

std::string mib(std::uint64_t bytes) {
    return std::to_string(bytes >> 20) + " MiB";
}

std::string tooBig(std::uint64_t size, std::uint64_t limit) {
    return "the file is " + std::to_string(size) +
           " bytes, over agent.package.max_download_size_mib (" + mib(limit) + ")";
}

bool isRedirect(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// Statuses a later attempt may not get: the server or something on the way is busy or
// failing. Other 4xx answers say the request itself is wrong.
bool worthRetrying(int status) {
    return status >= 500 || status == 408 || status == 429;
}

// "bytes 100-199/200": the first byte and the total (0 when "*").
std::optional<std::pair<std::uint64_t, std::uint64_t>> parseContentRange(std::string_view value) {
    constexpr std::string_view kUnit = "bytes ";
    if (value.substr(0, kUnit.size()) != kUnit) {
        return std::nullopt;
    }
    value.remove_prefix(kUnit.size());
    std::uint64_t first = 0;
    auto [dash, firstError] = std::from_chars(value.data(), value.data() + value.size(), first);
    std::size_t slash = value.find('/');
    if (firstError != std::errc() || *dash != '-' || slash == std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view totalText = value.substr(slash + 1);
    if (totalText == "*") {
        return std::make_pair(first, std::uint64_t{0});
    }
    std::uint64_t total = 0;
    auto [end, totalError] =
        std::from_chars(totalText.data(), totalText.data() + totalText.size(), total);
    if (totalError != std::errc() || end != totalText.data() + totalText.size()) {
        return std::nullopt;
    }
    return std::make_pair(first, total);
}

}  // namespace

Downloader::Downloader(Connection connection) : connection_(std::move(connection)) {}

void Downloader::cancel() {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    if (session_ != nullptr) {
        // A read blocked on a silent server returns now instead of at the timeout.
        try {
            opamp::shutdownConnection(*session_);
        } catch (const Poco::Exception&) {
            // Not connected yet: the connect timeout bounds the wait.
        }
    }
    wake_.notify_all();
}

bool Downloader::cancelled() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cancelled_;
}

void Downloader::throwIfCancelled() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_) {
        throw DownloadCancelled();
    }
}

void Downloader::use(Poco::Net::HTTPClientSession* session) {
    std::lock_guard<std::mutex> lock(mutex_);
    session_ = session;
}

// Lets cancel() reach the session in use, for exactly as long as it lives.
class Downloader::SessionInUse {
  public:
    SessionInUse(Downloader& downloader, Poco::Net::HTTPClientSession* session)
        : downloader_(downloader) {
        downloader_.use(session);
        downloader_.throwIfCancelled();
    }
    ~SessionInUse() { downloader_.use(nullptr); }
    SessionInUse(const SessionInUse&) = delete;
    SessionInUse& operator=(const SessionInUse&) = delete;

  private:
    Downloader& downloader_;
};

void Downloader::waitBeforeRetry(std::chrono::milliseconds delay) {
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait_for(lock, delay, [this] { return cancelled_; });
    if (cancelled_) {
        throw DownloadCancelled();
    }
}

bool Downloader::run(const Request& request,
                     const std::function<void(const DownloadProgress&)>& progress) {
    Poco::URI uri(request.url);
    if (uri.getScheme() != "http" && uri.getScheme() != "https") {
        throw DownloadError("cannot download " + request.url + ": only http and https are used");
    }
    std::chrono::milliseconds delay = connection_.firstRetryDelay;
    int failures = 0;
    std::string lastError;
    while (true) {
        throwIfCancelled();
        const std::uint64_t before = sizeOf(request.partFile);
        if (attempt(request, progress, lastError) == Attempt::Done) {
            return lengthKnown_;
        }
        // An attempt that got further counts as progress, not as a failure: a flaky network
        // may need many attempts for a big file.
        if (sizeOf(request.partFile) > before) {
            failures = 0;
            delay = connection_.firstRetryDelay;
        }
        if (++failures >= connection_.attempts) {
            throw DownloadError("cannot download " + request.url + " (" +
                                std::to_string(connection_.attempts) +
                                " attempts without progress): " + lastError);
        }
        waitBeforeRetry(delay);
        delay = std::min(delay * 2, kMaxRetryDelay);
    }
}

Downloader::Attempt Downloader::attempt(
    const Request& request, const std::function<void(const DownloadProgress&)>& progress,
    std::string& lastError) {
    std::uint64_t have = sizeOf(request.partFile);
    std::string url = request.url;
    const Poco::URI offered(request.url);
    try {
        for (int hop = 0; hop <= kMaxRedirects; ++hop) {
            Poco::URI uri(url);
            opamp::Transport::Settings settings;
            settings.endpoint = url;
            settings.tls = connection_.tls;
            settings.connectTimeout = connection_.timeout;
            if (connection_.proxyFor) {
                settings.proxy = connection_.proxyFor(url);
            }
            std::unique_ptr<Poco::Net::HTTPClientSession> session =
                opamp::makeHttpSession(settings);
            SessionInUse inUse(*this, session.get());
            Poco::Net::HTTPRequest get(Poco::Net::HTTPRequest::HTTP_GET,
                                       uri.getPathAndQuery().empty() ? "/" : uri.getPathAndQuery(),
                                       Poco::Net::HTTPMessage::HTTP_1_1);
            get.setHost(uri.getHost(), uri.getPort());
            // The offer's headers (often credentials) go to the origin it named, not to
            // wherever that redirects.
            if (uri.getScheme() == offered.getScheme() && uri.getHost() == offered.getHost() &&
                uri.getPort() == offered.getPort()) {
                for (const auto& [name, value] : request.headers) {
                    get.add(name, value);
                }
            }
            get.set("User-Agent", connection_.userAgent);
            if (have > 0) {
                get.set("Range", "bytes=" + std::to_string(have) + "-");
            }
            session->sendRequest(get);
            HTTPResponse response;
            std::istream& body = session->receiveResponse(response);
            const int status = static_cast<int>(response.getStatus());
            if (isRedirect(status)) {
                if (!response.has("Location")) {
                    throw DownloadError("HTTP " + std::to_string(status) + " from " + url +
                                        " without a Location");
                }
                Poco::URI next(uri);
                next.resolve(response.get("Location"));
                if (uri.getScheme() == "https" && next.getScheme() != "https") {
                    throw DownloadError("cannot download " + request.url + ": " + url +
                                        " redirects from https to " + next.toString());
                }
                url = next.toString();
                continue;
            }
            if (status == HTTPResponse::HTTP_REQUESTED_RANGE_NOT_SATISFIABLE && have > 0 &&
                response.get("Content-Range", "") == "bytes */" + std::to_string(have)) {
                lengthKnown_ = true;
                return Attempt::Done;  // an earlier attempt got it all
            }
            if (status == HTTPResponse::HTTP_REQUESTED_RANGE_NOT_SATISFIABLE && have > 0) {
                // What is on disk does not fit the file as it is now: start over.
                std::filesystem::remove(request.partFile);
                lastError = "the server refused to resume at byte " + std::to_string(have);
                return Attempt::Retry;
            }
            if (status != HTTPResponse::HTTP_OK && status != HTTPResponse::HTTP_PARTIAL_CONTENT) {
                std::string what =
                    "HTTP " + std::to_string(status) + " " + response.getReason() + " from " + url;
                if (worthRetrying(status)) {
                    lastError = what;
                    return Attempt::Retry;
                }
                throw DownloadError("cannot download " + request.url + ": " + what);
            }
            std::uint64_t offset = 0;
            std::uint64_t total = 0;
            if (status == HTTPResponse::HTTP_PARTIAL_CONTENT) {
                auto range = parseContentRange(response.get("Content-Range", ""));
                if (!range || range->first != have) {
                    std::filesystem::remove(request.partFile);
                    lastError = "the server resumed at another byte than asked";
                    return Attempt::Retry;
                }
                offset = have;
                total = range->second;
            } else if (response.hasContentLength()) {
                total = static_cast<std::uint64_t>(response.getContentLength64());
            }
            if (total > request.maxBytes) {
                throw DownloadError("cannot download " + request.url + ": " +
                                    tooBig(total, request.maxBytes));
            }
            // A 200 answer to a Range request is the whole file: what was kept goes.
            std::ofstream out(request.partFile,
                              std::ios::binary | (offset > 0 ? std::ios::app : std::ios::trunc));
            if (!out) {
                throw DownloadError("cannot write " + request.partFile.string());
            }
            // As every file in the storage directory: the supervisor's user's alone.
            std::filesystem::permissions(
                request.partFile,
                std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                std::filesystem::perm_options::replace);
            std::uint64_t received = offset;
            const auto started = std::chrono::steady_clock::now();
            auto reported = started;
            std::vector<char> buffer(64 * 1024);
            while (body) {
                body.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
                std::streamsize n = body.gcount();
                if (n <= 0) {
                    break;
                }
                out.write(buffer.data(), n);
                received += static_cast<std::uint64_t>(n);
                if (received > request.maxBytes) {
                    out.close();
                    std::filesystem::remove(request.partFile);
                    throw DownloadError("cannot download " + request.url + ": " +
                                        tooBig(received, request.maxBytes));
                }
                auto now = std::chrono::steady_clock::now();
                if (progress && now - reported >= kProgressEvery) {
                    reported = now;
                    double seconds = std::chrono::duration<double>(now - started).count();
                    progress({received, total,
                              seconds > 0 ? static_cast<double>(received - offset) / seconds : 0});
                }
                throwIfCancelled();
            }
            out.close();
            if (!out) {
                throw DownloadError("cannot write " + request.partFile.string() +
                                    " (is the disk full?)");
            }
            throwIfCancelled();
            if (body.bad()) {
                // A read failed (the connection broke, a chunk was cut): not the end.
                lastError = "the connection failed after " + std::to_string(received) + " bytes";
                return Attempt::Retry;
            }
            lengthKnown_ = total > 0;
            if (total > 0 && received < total) {
                lastError = "the connection ended after " + std::to_string(received) + " of " +
                            std::to_string(total) + " bytes";
                return Attempt::Retry;
            }
            if (progress) {
                double seconds =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                        .count();
                progress({received, received,
                          seconds > 0 ? static_cast<double>(received - offset) / seconds : 0});
            }
            return Attempt::Done;
        }
        throw DownloadError("cannot download " + request.url + ": more than " +
                            std::to_string(kMaxRedirects) + " redirects");
    } catch (const DownloadError&) {
        throw;
    } catch (const DownloadCancelled&) {
        throw;
    } catch (const Poco::Exception& e) {
        throwIfCancelled();
        lastError = opamp::connectionFailureText(e);
        return Attempt::Retry;
    } catch (const std::exception& e) {
        throwIfCancelled();
        lastError = e.what();
        return Attempt::Retry;
    }
}

}  // namespace opampsup::packages
