#pragma once

// The batch processor both the log and the span exporters use: records come from any
// thread into a bounded buffer (what does not fit is dropped and counted), and a thread of
// the batcher's own hands them on in batches: as soon as a batch is full, else
// schedule_delay after the first record of one. A simple processor is a batch of one with
// no delay. The thread idles while nothing comes.

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <iterator>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "core/otlp/ExportSettings.h"

namespace opampsup::otlp {

template <typename Record>
class Batcher {
  public:
    using Flush = std::function<void(std::vector<Record>)>;

    // `flush` runs on the batcher's thread.
    Batcher(BatchSettings settings, Flush flush) : settings_(settings), flush_(std::move(flush)) {
        settings_.maxExportBatchSize = std::max<std::size_t>(settings_.maxExportBatchSize, 1);
        thread_ = std::thread([this] { run(); });
    }
    ~Batcher() { stop(); }
    Batcher(const Batcher&) = delete;
    Batcher& operator=(const Batcher&) = delete;

    // Any thread; never waits for a flush.
    void add(Record record) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_ || buffer_.size() >= settings_.maxQueueSize) {
            dropped_ += 1;
            return;
        }
        buffer_.push_back(std::move(record));
        if (buffer_.size() == 1 || buffer_.size() >= settings_.maxExportBatchSize) {
            wake_.notify_all();
        }
    }

    // Flushes what is buffered, a batch at a time, then ends the thread. Idempotent; later
    // records are dropped.
    void stop() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (stopping_) {
                return;
            }
            stopping_ = true;
            wake_.notify_all();
        }
        thread_.join();
    }

    std::uint64_t dropped() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return dropped_;
    }

  private:
    void run() {
        while (true) {
            std::vector<Record> batch;
            bool last = false;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [this] { return stopping_ || !buffer_.empty(); });
                if (!stopping_) {
                    wake_.wait_for(lock, settings_.scheduleDelay, [this] {
                        return stopping_ || buffer_.size() >= settings_.maxExportBatchSize;
                    });
                }
                const auto take = static_cast<std::ptrdiff_t>(
                    std::min(buffer_.size(), settings_.maxExportBatchSize));
                batch.assign(std::make_move_iterator(buffer_.begin()),
                             std::make_move_iterator(buffer_.begin() + take));
                buffer_.erase(buffer_.begin(), buffer_.begin() + take);
                last = stopping_ && buffer_.empty();
            }
            if (!batch.empty()) {
                flush_(std::move(batch));
            }
            if (last) {
                return;
            }
        }
    }

    BatchSettings settings_;
    Flush flush_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<Record> buffer_;
    std::uint64_t dropped_ = 0;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace opampsup::otlp
