#include "core/otlp/OtlpSender.h"

#include <algorithm>
#include <sstream>

#include <Poco/DeflatingStream.h>
#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include "core/opamp/HttpSession.h"
#include "core/opamp/RetryAfter.h"
#include "opampsup/version.h"

namespace opampsup::otlp {

namespace {

constexpr std::chrono::minutes kProblemEvery{1};

std::string gzipped(const std::string& body) {
    std::ostringstream out;
    Poco::DeflatingOutputStream deflate(out, Poco::DeflatingStreamBuf::STREAM_GZIP);
    deflate.write(body.data(), static_cast<std::streamsize>(body.size()));
    deflate.close();
    return out.str();
}

// The OTLP/HTTP statuses worth another attempt.
bool retryable(int status) {
    return status == 429 || status == 502 || status == 503 || status == 504;
}

}  // namespace

OtlpSender::OtlpSender(OtlpTarget target, SenderLimits limits,
                       std::function<void(const std::string&)> problem)
    : target_(std::move(target)), limits_(limits), problem_(std::move(problem)) {
    thread_ = std::thread([this] { run(); });
}

OtlpSender::~OtlpSender() {
    shutdown(std::chrono::milliseconds(0));
}

bool OtlpSender::enqueue(std::string request) {
    std::lock_guard<std::mutex> lock(mutex_);
    // One request larger than the whole bound still goes when nothing else waits.
    if (stopping_ || (!queue_.empty() && queuedBytes_ + request.size() > limits_.maxQueuedBytes)) {
        counts_.dropped += 1;
        return false;
    }
    queuedBytes_ += request.size();
    queue_.push_back(std::move(request));
    wake_.notify_all();
    return true;
}

void OtlpSender::shutdown(std::chrono::milliseconds grace) {
    {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!stopping_) {
            stopping_ = true;
            deadline_ = std::chrono::steady_clock::now() + grace;
        }
        wake_.notify_all();
        // A backend that accepts and never answers would hold the exit up for the whole
        // timeout: past the grace, the request on the wire is cut off.
        if (!finishedChanged_.wait_until(lock, deadline_, [this] { return finished_; }) &&
            session_ != nullptr) {
            try {
                opamp::shutdownConnection(*session_);
            } catch (const Poco::Exception&) {
                // Still connecting: the connect timeout bounds the wait.
            }
        }
    }
    if (thread_.joinable()) {
        thread_.join();
    }
}

SenderCounts OtlpSender::counts() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return counts_;
}

void OtlpSender::reportProblem(const std::string& what) {
    auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (lastProblem_ != std::chrono::steady_clock::time_point{} &&
            now - lastProblem_ < kProblemEvery) {
            return;
        }
        lastProblem_ = now;
    }
    if (problem_) {
        problem_(what);
    }
}

void OtlpSender::run() {
    // However run() ends, shutdown() hears of it.
    struct Finished {
        OtlpSender& sender;
        ~Finished() {
            std::lock_guard<std::mutex> lock(sender.mutex_);
            sender.finished_ = true;
            sender.finishedChanged_.notify_all();
        }
    } finished{*this};
    while (true) {
        std::string body;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty() || (stopping_ && std::chrono::steady_clock::now() >= deadline_)) {
                counts_.failed += queue_.size();
                queue_.clear();
                queuedBytes_ = 0;
                return;
            }
            body = std::move(queue_.front());
            queue_.pop_front();
            queuedBytes_ -= body.size();
        }
        if (target_.gzip) {
            body = gzipped(body);
        }
        std::chrono::milliseconds delay = limits_.firstRetryDelay;
        bool done = false;
        for (int attempt = 1; attempt <= limits_.maxAttempts && !done; ++attempt) {
            std::chrono::milliseconds retryAfter{0};
            done = sendOnce(body, retryAfter);
            if (done || attempt == limits_.maxAttempts) {
                break;
            }
            std::unique_lock<std::mutex> lock(mutex_);
            // A Retry-After beyond the longest backoff is not waited for in full.
            const auto until = std::chrono::steady_clock::now() +
                               std::min(std::max(delay, retryAfter), limits_.maxRetryDelay);
            // A shutdown ends the wait at its deadline: the limit is recomputed when woken.
            while (true) {
                const auto limit = stopping_ ? std::min(until, deadline_) : until;
                if (std::chrono::steady_clock::now() >= limit) {
                    break;
                }
                wake_.wait_until(lock, limit);
            }
            if (stopping_ && std::chrono::steady_clock::now() >= deadline_) {
                break;
            }
            delay = std::min(delay * 2, limits_.maxRetryDelay);
        }
        if (!done) {
            std::lock_guard<std::mutex> lock(mutex_);
            counts_.failed += 1;
        }
    }
}

bool OtlpSender::sendOnce(const std::string& body, std::chrono::milliseconds& retryAfter) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_ && std::chrono::steady_clock::now() >= deadline_) {
            return false;  // the grace is over: nothing new goes on the wire
        }
    }
    try {
        opamp::Transport::Settings settings;
        settings.endpoint = target_.url;
        settings.tls = target_.tls;
        settings.proxy = target_.proxy;
        settings.connectTimeout = target_.timeout;
        auto session = opamp::makeHttpSession(settings);
        // Shutdown may cut this request off, for as long as the session lives.
        struct OnTheWire {
            OtlpSender& sender;
            OnTheWire(OtlpSender& s, Poco::Net::HTTPClientSession* session) : sender(s) {
                std::lock_guard<std::mutex> lock(sender.mutex_);
                sender.session_ = session;
            }
            ~OnTheWire() {
                std::lock_guard<std::mutex> lock(sender.mutex_);
                sender.session_ = nullptr;
            }
        } onTheWire(*this, session.get());
        Poco::URI uri(target_.url);
        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST,
                                       uri.getPathAndQuery().empty() ? "/" : uri.getPathAndQuery(),
                                       Poco::Net::HTTPMessage::HTTP_1_1);
        request.setHost(uri.getHost(), uri.getPort());
        for (const auto& [name, values] : target_.headers) {
            for (const std::string& value : values) {
                request.add(name, value);
            }
        }
        request.setContentType("application/x-protobuf");
        request.set("User-Agent", std::string("opampsupervisor/") + kVersion);
        if (target_.gzip) {
            request.set("Content-Encoding", "gzip");
        }
        request.setContentLength(static_cast<std::streamsize>(body.size()));
        session->sendRequest(request).write(body.data(), static_cast<std::streamsize>(body.size()));
        Poco::Net::HTTPResponse response;
        std::istream& in = session->receiveResponse(response);
        std::string answer;
        Poco::StreamCopier::copyToString(in, answer);
        const int status = static_cast<int>(response.getStatus());
        if (status >= 200 && status < 300) {
            std::lock_guard<std::mutex> lock(mutex_);
            counts_.sent += 1;
            return true;
        }
        if (retryable(status)) {
            if (response.has("Retry-After")) {
                retryAfter = opamp::parseRetryAfter(response.get("Retry-After"),
                                                    std::chrono::system_clock::now())
                                 .value_or(std::chrono::milliseconds(0));
            }
            reportProblem("OTLP export to " + target_.url + " answered HTTP " +
                          std::to_string(status) + "; retrying");
            return false;
        }
        reportProblem("OTLP export to " + target_.url + " refused with HTTP " +
                      std::to_string(status) + ": " + answer.substr(0, 200));
        std::lock_guard<std::mutex> lock(mutex_);
        counts_.failed += 1;
        return true;
    } catch (const Poco::Exception& e) {
        reportProblem("OTLP export to " + target_.url +
                      " failed: " + opamp::connectionFailureText(e));
    } catch (const std::exception& e) {
        reportProblem("OTLP export to " + target_.url + " failed: " + e.what());
    }
    return false;
}

}  // namespace opampsup::otlp
