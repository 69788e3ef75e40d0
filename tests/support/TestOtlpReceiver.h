#pragma once

// An OTLP/HTTP receiver on loopback for tests: it keeps every request (path, headers, the
// body with gzip undone) and answers 200, or the statuses it is told to answer first.

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace Poco::Net {
class HTTPServer;
}

namespace opampsup::testing {

class TestOtlpReceiver {
  public:
    struct Request {
        std::string path;
        std::map<std::string, std::string> headers;
        std::string body;  // decompressed when Content-Encoding was gzip
    };

    TestOtlpReceiver();
    ~TestOtlpReceiver();
    TestOtlpReceiver(const TestOtlpReceiver&) = delete;
    TestOtlpReceiver& operator=(const TestOtlpReceiver&) = delete;

    std::string origin() const;  // http://127.0.0.1:<port>
    std::vector<Request> requests() const;
    // The next requests are answered with these statuses (with Retry-After: 0), in order.
    void answerFirst(std::vector<int> statuses);

    // Called from the server's threads.
    int take(Request request);

  private:
    mutable std::mutex mutex_;
    std::vector<Request> requests_;
    std::deque<int> statuses_;
    std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace opampsup::testing
