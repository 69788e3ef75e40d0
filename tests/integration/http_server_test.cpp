// net::HttpServer over real loopback sockets: it serves, turns away connections beyond
// its limit, stops without waiting for idle keep-alive peers, and does not wake up while
// nothing happens (the reason it exists: Poco's server polls four times a second).

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include "core/net/HttpServer.h"

namespace opampsup::net {
namespace {

using namespace std::chrono_literals;

class CountingHandler : public Poco::Net::HTTPRequestHandler {
  public:
    explicit CountingHandler(std::atomic<int>& served) : served_(served) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
        int n = ++served_;
        std::string body = request.getURI() + " " + std::to_string(n);
        response.setContentLength(static_cast<std::streamsize>(body.size()));
        response.send() << body;
    }

  private:
    std::atomic<int>& served_;
};

class CountingFactory : public HandlerFactory {
  public:
    explicit CountingFactory(std::atomic<int>& served) : served_(served) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
        return new CountingHandler(served_);
    }

  private:
    std::atomic<int>& served_;
};

struct Fixture {
    explicit Fixture(std::size_t maxConnections) {
        Poco::Net::ServerSocket socket;
        socket.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true, false);
        socket.listen(16);
        auto params = Poco::AutoPtr<Poco::Net::HTTPServerParams>(new Poco::Net::HTTPServerParams);
        params->setKeepAliveTimeout(Poco::Timespan(60, 0));
        server = std::make_unique<HttpServer>(new CountingFactory(served), socket, params,
                                              maxConnections);
        server->start();
    }
    std::atomic<int> served{0};
    std::unique_ptr<HttpServer> server;
};

std::string get(Poco::Net::HTTPClientSession& session, const std::string& path) {
    Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    std::ostringstream body;
    Poco::StreamCopier::copyStream(in, body);
    return body.str();
}

TEST(HttpServer, ServesSeveralRequestsOnOneKeptAliveConnection) {
    Fixture f(2);
    Poco::Net::HTTPClientSession session("127.0.0.1", f.server->port());
    session.setKeepAlive(true);
    EXPECT_EQ(get(session, "/a"), "/a 1");
    EXPECT_EQ(get(session, "/b"), "/b 2");
}

TEST(HttpServer, TurnsAwayConnectionsBeyondItsLimitAndServesAgainWhenOneEnds) {
    Fixture f(1);
    auto held = std::make_unique<Poco::Net::HTTPClientSession>("127.0.0.1", f.server->port());
    held->setKeepAlive(true);
    EXPECT_EQ(get(*held, "/held"), "/held 1");

    Poco::Net::HTTPClientSession second("127.0.0.1", f.server->port());
    second.setTimeout(Poco::Timespan(10, 0));
    EXPECT_THROW(get(second, "/second"), Poco::Exception);
    EXPECT_EQ(f.served, 1);

    held.reset();  // its thread ends once it sees the close; then a new peer is served
    std::string answer;
    for (auto deadline = std::chrono::steady_clock::now() + 10s;
         answer.empty() && std::chrono::steady_clock::now() < deadline;) {
        Poco::Net::HTTPClientSession retry("127.0.0.1", f.server->port());
        try {
            answer = get(retry, "/again");
        } catch (const Poco::Exception&) {
            std::this_thread::sleep_for(10ms);
        }
    }
    EXPECT_EQ(answer.substr(0, 7), "/again ");
}

TEST(HttpServer, StopEndsIdleKeptAliveConnectionsAndClosesThePort) {
    Fixture f(2);
    const std::uint16_t port = f.server->port();
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    session.setKeepAlive(true);
    EXPECT_EQ(get(session, "/a"), "/a 1");

    // The peer stays connected with a 60 s keep-alive: stop() must not wait for it.
    auto started = std::chrono::steady_clock::now();
    f.server->stop();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);

    Poco::Net::StreamSocket late;
    EXPECT_THROW(late.connect(Poco::Net::SocketAddress("127.0.0.1", port)), Poco::Exception);
    f.server->stop();  // a second stop is harmless
}

#ifdef __linux__
// Voluntary context switches of each thread of this process, by thread id: each is a
// wake-up.
std::map<std::string, long> contextSwitches() {
    std::map<std::string, long> byThread;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream status(task.path() / "status");
        for (std::string line; std::getline(status, line);) {
            if (line.rfind("voluntary_ctxt_switches:", 0) == 0) {
                byThread[task.path().filename().string()] =
                    std::stol(line.substr(line.find(':') + 1));
            }
        }
    }
    return byThread;
}

TEST(HttpServer, DoesNotWakeUpWhileIdle) {
#if defined(__SANITIZE_THREAD__)
    GTEST_SKIP() << "ThreadSanitizer's own background thread wakes the process up";
#endif
    Fixture f(2);
    {
        // With a connection served and gone, so its thread has come and gone too.
        Poco::Net::HTTPClientSession session("127.0.0.1", f.server->port());
        EXPECT_EQ(get(session, "/a"), "/a 1");
    }
    std::this_thread::sleep_for(200ms);  // let the finished connection's thread exit
    auto before = contextSwitches();
    std::this_thread::sleep_for(1500ms);  // the observation window itself
    auto after = contextSwitches();
    // The same threads (one that came or went is activity too), and no wake-ups but this
    // thread's own sleep: a poll every 250 ms would add six.
    ASSERT_EQ(before.size(), after.size());
    long woken = 0;
    for (const auto& [thread, count] : after) {
        ASSERT_TRUE(before.count(thread)) << "thread " << thread << " started while idle";
        woken += count - before[thread];
    }
    EXPECT_LE(woken, 2);
}
#endif

}  // namespace
}  // namespace opampsup::net
