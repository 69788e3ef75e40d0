#include "support/TestOtlpReceiver.h"

#include <sstream>

#include <Poco/InflatingStream.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

namespace opampsup::testing {

namespace {

class Handler : public Poco::Net::HTTPRequestHandler {
  public:
    explicit Handler(TestOtlpReceiver& receiver) : receiver_(receiver) {}

    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
        TestOtlpReceiver::Request r;
        r.path = request.getURI();
        for (const auto& [name, value] : request) {
            r.headers[name] = value;
        }
        std::string raw;
        Poco::StreamCopier::copyToString(request.stream(), raw);
        if (request.get("Content-Encoding", "") == "gzip") {
            std::istringstream in(raw);
            Poco::InflatingInputStream inflate(in, Poco::InflatingStreamBuf::STREAM_GZIP);
            Poco::StreamCopier::copyToString(inflate, r.body);
        } else {
            r.body = raw;
        }
        const int status = receiver_.take(std::move(r));
        response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
        if (status != 200) {
            response.set("Retry-After", "0");
        }
        response.setContentType("application/x-protobuf");
        response.setContentLength(0);
        response.send();
    }

  private:
    TestOtlpReceiver& receiver_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
  public:
    explicit Factory(TestOtlpReceiver& receiver) : receiver_(receiver) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
        return new Handler(receiver_);
    }

  private:
    TestOtlpReceiver& receiver_;
};

}  // namespace

TestOtlpReceiver::TestOtlpReceiver() {
    server_ = std::make_unique<Poco::Net::HTTPServer>(
        new Factory(*this), Poco::Net::ServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0)),
        new Poco::Net::HTTPServerParams);
    server_->start();
}

TestOtlpReceiver::~TestOtlpReceiver() {
    server_->stopAll(true);
}

std::string TestOtlpReceiver::origin() const {
    return "http://127.0.0.1:" + std::to_string(server_->port());
}

std::vector<TestOtlpReceiver::Request> TestOtlpReceiver::requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
}

void TestOtlpReceiver::answerFirst(std::vector<int> statuses) {
    std::lock_guard<std::mutex> lock(mutex_);
    statuses_.assign(statuses.begin(), statuses.end());
}

int TestOtlpReceiver::take(Request request) {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(std::move(request));
    if (statuses_.empty()) {
        return 200;
    }
    int status = statuses_.front();
    statuses_.pop_front();
    return status;
}

}  // namespace opampsup::testing
