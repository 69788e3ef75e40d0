#include "core/agent/CollectorOutput.h"

#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace opampsup::agent {

CollectorOutput::CollectorOutput(Options options, telemetry::Logger collectorLogger)
    : options_(std::move(options)), logger_(std::move(collectorLogger)) {}

void CollectorOutput::restart() {
    std::lock_guard<std::mutex> lock(mutex_);
    tail_.clear();
    tailSize_ = 0;
    written_ = 0;
    dropped_ = 0;
    if (!options_.logFile) {
        return;
    }
    if (file_.is_open()) {
        file_.close();
    }
    file_.open(*options_.logFile, std::ios::out | std::ios::trunc | std::ios::binary);
    if (!file_) {
        throw std::runtime_error("cannot write the collector's log " + options_.logFile->string());
    }
    // The collector's output can carry secrets; only the supervisor's user may read it.
    std::error_code ignored;
    std::filesystem::permissions(
        *options_.logFile, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
        ignored);
}

void CollectorOutput::line(Stream stream, std::string_view text) {
    std::lock_guard<std::mutex> lock(mutex_);
    tail_.emplace_back(text);
    tailSize_ += text.size() + 1;
    while (tailSize_ > options_.tailBytes && tail_.size() > 1) {
        tailSize_ -= tail_.front().size() + 1;
        tail_.pop_front();
    }

    if (!options_.logFile) {
        if (stream == Stream::Stderr) {
            logger_.error(text);
        } else {
            logger_.info(text);
        }
        return;
    }
    if (!file_.is_open()) {
        return;
    }
    if (written_ + text.size() + 1 > options_.maxFileBytes) {
        if (dropped_++ == 0) {
            std::string notice = "[opampsupervisor] agent.log reached its limit of " +
                                 std::to_string(options_.maxFileBytes / (1024 * 1024)) +
                                 " MiB (agent.log_max_size_mib); further output is dropped\n";
            file_ << notice;
            file_.flush();
        }
        return;
    }
    file_ << text << '\n';
    file_.flush();
    written_ += text.size() + 1;
}

std::string CollectorOutput::tail(std::size_t maxBytes) const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string out;
    std::size_t size = 0;
    auto it = tail_.rbegin();
    for (; it != tail_.rend() && size + it->size() + 1 <= maxBytes; ++it) {
        size += it->size() + 1;
    }
    for (auto forward = it.base(); forward != tail_.end(); ++forward) {
        out += *forward;
        out += '\n';
    }
    return out;
}

std::size_t CollectorOutput::droppedLines() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return dropped_;
}

}  // namespace opampsup::agent
