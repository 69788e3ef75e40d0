#include "core/opamp/HttpTransport.h"

#include <sstream>

#include <Poco/DeflatingStream.h>
#include <Poco/InflatingStream.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include "core/opamp/HttpSession.h"
#include "core/opamp/RetryAfter.h"
#include "core/opamp/WebSocketTransport.h"
#include "core/opamp/WsFraming.h"

namespace opampsup::opamp {
namespace {

constexpr std::size_t kCompressAbove = 1024;

std::string gzip(const std::string& data) {
    std::ostringstream out;
    {
        Poco::DeflatingOutputStream deflate(out, Poco::DeflatingStreamBuf::STREAM_GZIP);
        deflate.write(data.data(), static_cast<std::streamsize>(data.size()));
        deflate.close();
    }
    return out.str();
}

// Reads at most `limit` bytes; nullopt when the body is larger.
std::optional<std::string> readLimited(std::istream& in, std::size_t limit) {
    std::string body;
    char buffer[16384];
    while (in) {
        in.read(buffer, sizeof buffer);
        body.append(buffer, static_cast<std::size_t>(in.gcount()));
        if (body.size() > limit) {
            return std::nullopt;
        }
    }
    return body;
}

}  // namespace

HttpTransport::HttpTransport(Settings settings, Callbacks callbacks, telemetry::Logger logger)
    : settings_(std::move(settings)),
      callbacks_(std::move(callbacks)),
      logger_(std::move(logger)) {}

HttpTransport::~HttpTransport() {
    close();
}

void HttpTransport::setInstanceUid(const Uuid& uid) {
    std::lock_guard<std::mutex> lock(mutex_);
    instanceUid_ = uid.toString();
}

void HttpTransport::connect() {
    if (thread_.joinable()) {
        thread_.join();
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        outbox_.clear();
        closing_ = false;
        lastPayload_.reset();
    }
    ready_ = true;
    inFlight_.start();
    thread_ = std::thread([this] {
        run();
        inFlight_.finished();
    });
    if (callbacks_.connected) {
        callbacks_.connected();
    }
}

bool HttpTransport::send(std::string payload) {
    if (!ready_) {
        return false;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        outbox_.push_back(std::move(payload));
    }
    wake_.notify_one();
    return true;
}

void HttpTransport::close(std::optional<std::string> lastPayload) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        closing_ = true;
        lastPayload_ = ready_ ? std::move(lastPayload) : std::nullopt;
    }
    wake_.notify_one();
    if (thread_.joinable()) {
        inFlight_.stopWithin(kCloseGrace);
        thread_.join();
    }
    ready_ = false;
}

void HttpTransport::run() {
    while (true) {
        std::string payload;
        bool last = false;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [this] { return closing_ || !outbox_.empty(); });
            if (!outbox_.empty() && !closing_) {
                payload = std::move(outbox_.front());
                outbox_.pop_front();
            } else if (closing_) {
                if (!lastPayload_) {
                    return;
                }
                payload = std::move(*lastPayload_);
                lastPayload_.reset();
                last = true;
            }
        }
        // The goodbye message is sent for the server's sake; its answer is not acted on.
        std::optional<Disconnect> failure = exchange(payload, !last);
        if (last) {
            return;
        }
        if (failure) {
            ready_ = false;
            bool closing = false;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                outbox_.clear();
                closing = closing_;
            }
            if (!closing && callbacks_.disconnected) {
                callbacks_.disconnected(std::move(*failure));
            }
            return;
        }
    }
}

std::optional<Transport::Disconnect> HttpTransport::exchange(const std::string& payload,
                                                             bool deliverResponse) {
    try {
        std::unique_ptr<Poco::Net::HTTPClientSession> sessionPtr = makeHttpSession(settings_);
        Poco::Net::HTTPClientSession& session = *sessionPtr;
        inFlight_.use(&session);
        struct Done {
            InFlight& inFlight;
            ~Done() { inFlight.use(nullptr); }
        } done{inFlight_};
        Poco::Net::HTTPRequest request = makeRequest(settings_, Poco::Net::HTTPRequest::HTTP_POST);
        request.setContentType("application/x-protobuf");
        request.set("Accept-Encoding", "gzip");
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!instanceUid_.empty()) {
                request.set("OpAMP-Instance-UID", instanceUid_);
            }
        }
        const std::string body = payload.size() > kCompressAbove ? gzip(payload) : payload;
        if (payload.size() > kCompressAbove) {
            request.set("Content-Encoding", "gzip");
        }
        request.setContentLength(static_cast<std::streamsize>(body.size()));
        session.sendRequest(request).write(body.data(), static_cast<std::streamsize>(body.size()));

        Poco::Net::HTTPResponse response;
        std::istream& raw = session.receiveResponse(response);
        int status = static_cast<int>(response.getStatus());
        if (status != 200) {
            Disconnect failure{"the OpAMP server answered HTTP " + std::to_string(status) + " " +
                                   response.getReason(),
                               std::nullopt, false};
            if (response.has("Retry-After")) {
                failure.retryAfter =
                    parseRetryAfter(response.get("Retry-After"), std::chrono::system_clock::now());
            }
            failure.permanent = status >= 400 && status < 500 && status != 408 && status != 429 &&
                                !credentialsRefused(settings_, status);
            if (status == 413) {
                failure.reason += " (the message is too large; it is not sent again)";
            }
            return failure;
        }
        std::optional<std::string> reply;
        if (response.get("Content-Encoding", "") == "gzip") {
            Poco::InflatingInputStream inflate(raw, Poco::InflatingStreamBuf::STREAM_GZIP);
            reply = readLimited(inflate, kMaxMessageBytes);
        } else {
            reply = readLimited(raw, kMaxMessageBytes);
        }
        if (!reply) {
            return Disconnect{"the OpAMP server's answer exceeds the 64 MiB limit", std::nullopt,
                              false};
        }
        if (deliverResponse && callbacks_.message) {
            callbacks_.message(std::move(*reply));
        }
        return std::nullopt;
    } catch (const AuthError& e) {
        return Disconnect{std::string("cannot authenticate to the OpAMP server: ") + e.what(),
                          std::nullopt, false};
    } catch (const Poco::Exception& e) {
        return Disconnect{"cannot reach the OpAMP server at " + settings_.endpoint + ": " +
                              connectionFailureText(e),
                          std::nullopt, false};
    } catch (const std::exception& e) {
        return Disconnect{
            "cannot reach the OpAMP server at " + settings_.endpoint + ": " + e.what(),
            std::nullopt, false};
    }
}

std::unique_ptr<Transport> makeTransport(Transport::Settings settings,
                                         Transport::Callbacks callbacks, telemetry::Logger logger) {
    std::string scheme = Poco::URI(settings.endpoint).getScheme();
    if (scheme == "ws" || scheme == "wss") {
        return std::make_unique<WebSocketTransport>(std::move(settings), std::move(callbacks),
                                                    std::move(logger));
    }
    if (scheme == "http" || scheme == "https") {
        return std::make_unique<HttpTransport>(std::move(settings), std::move(callbacks),
                                               std::move(logger));
    }
    throw std::invalid_argument("unsupported OpAMP endpoint scheme \"" + scheme +
                                "\" (use ws://, wss://, http:// or https://)");
}

}  // namespace opampsup::opamp
