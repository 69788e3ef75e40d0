#include "Faults.h"

#include <sstream>

namespace opampsup::devserver {

void Faults::refuseHttp(HttpRefusal refusal, int count) {
    std::lock_guard<std::mutex> lock(mutex_);
    refusal_ = std::move(refusal);
    refusalsLeft_ = count;
}

void Faults::answerWithError(::opamp::proto::ServerErrorResponse error, int count) {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = std::move(error);
    errorsLeft_ = count;
}

void Faults::dropHttp(int count) {
    std::lock_guard<std::mutex> lock(mutex_);
    dropsLeft_ = count;
}

void Faults::cutDownloads(std::uint64_t afterBytes, int count) {
    std::lock_guard<std::mutex> lock(mutex_);
    cutAfterBytes_ = afterBytes;
    cutsLeft_ = count;
}

void Faults::failDownloads(int status, int count) {
    std::lock_guard<std::mutex> lock(mutex_);
    downloadFailureStatus_ = status;
    downloadFailuresLeft_ = count;
}

void Faults::throttleDownloads(std::uint64_t bytesPerSecond) {
    std::lock_guard<std::mutex> lock(mutex_);
    throttleBytesPerSecond_ = bytesPerSecond;
}

void Faults::clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    refusalsLeft_ = 0;
    errorsLeft_ = 0;
    dropsLeft_ = 0;
    cutsLeft_ = 0;
    downloadFailuresLeft_ = 0;
    throttleBytesPerSecond_ = 0;
}

std::optional<Faults::HttpRefusal> Faults::takeHttpRefusal() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (refusalsLeft_ <= 0) {
        return std::nullopt;
    }
    --refusalsLeft_;
    return refusal_;
}

std::optional<::opamp::proto::ServerErrorResponse> Faults::takeError() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (errorsLeft_ <= 0) {
        return std::nullopt;
    }
    --errorsLeft_;
    return error_;
}

bool Faults::takeHttpDrop() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (dropsLeft_ <= 0) {
        return false;
    }
    --dropsLeft_;
    return true;
}

std::optional<std::uint64_t> Faults::takeDownloadCut() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cutsLeft_ <= 0) {
        return std::nullopt;
    }
    --cutsLeft_;
    return cutAfterBytes_;
}

std::optional<int> Faults::takeDownloadFailure() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (downloadFailuresLeft_ <= 0) {
        return std::nullopt;
    }
    --downloadFailuresLeft_;
    return downloadFailureStatus_;
}

std::uint64_t Faults::downloadThrottle() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return throttleBytesPerSecond_;
}

std::string Faults::describeJson() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::ostringstream out;
    out << R"({"http_refusals_left":)" << refusalsLeft_ << R"(,"http_status":)" << refusal_.status
        << R"(,"error_responses_left":)" << errorsLeft_ << R"(,"http_drops_left":)" << dropsLeft_
        << R"(,"download_cuts_left":)" << cutsLeft_ << R"(,"cut_after_bytes":)" << cutAfterBytes_
        << R"(,"download_failures_left":)" << downloadFailuresLeft_
        << R"(,"download_failure_status":)" << downloadFailureStatus_
        << R"(,"throttle_bytes_per_second":)" << throttleBytesPerSecond_ << "}";
    return out.str();
}

}  // namespace opampsup::devserver
