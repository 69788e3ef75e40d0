#include "support/TestConnectProxy.h"

#include <memory>
#include <sstream>

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

namespace opampsup::testing {
namespace {

const Poco::Timespan kPoll(0, 100 * 1000);

void sendAll(Poco::Net::StreamSocket& socket, const std::string& data) {
    socket.sendBytes(data.data(), static_cast<int>(data.size()));
}

}  // namespace

TestConnectProxy::TestConnectProxy()
    : listener_(Poco::Net::SocketAddress("127.0.0.1", 0)), acceptor_([this] { acceptLoop(); }) {}

TestConnectProxy::~TestConnectProxy() {
    stopping_ = true;
    acceptor_.join();
    std::lock_guard<std::mutex> lock(mutex_);
    for (std::thread& t : connections_) {
        t.join();
    }
}

std::string TestConnectProxy::url() const {
    return "http://127.0.0.1:" + std::to_string(port());
}

std::uint16_t TestConnectProxy::port() const {
    return listener_.address().port();
}

void TestConnectProxy::refuseWith(int status) {
    refuseStatus_ = status;
}

void TestConnectProxy::acceptLoop() {
    while (!stopping_) {
        if (!listener_.poll(kPoll, Poco::Net::Socket::SELECT_READ)) {
            continue;
        }
        // Owned by the serving thread alone: were the loop to keep a copy, the socket's
        // last release could fall on either thread, in Poco's reference count, which
        // ThreadSanitizer cannot see (Debian's Poco is uninstrumented).
        auto client = std::make_shared<Poco::Net::StreamSocket>(listener_.acceptConnection());
        std::lock_guard<std::mutex> lock(mutex_);
        connections_.emplace_back([this, client] { serve(*client); });
    }
}

void TestConnectProxy::serve(Poco::Net::StreamSocket client) {
    try {
        std::string head;
        char buffer[16384];
        while (head.find("\r\n\r\n") == std::string::npos) {
            if (!client.poll(Poco::Timespan(5, 0), Poco::Net::Socket::SELECT_READ)) {
                return;
            }
            int n = client.receiveBytes(buffer, sizeof buffer);
            if (n <= 0) {
                return;
            }
            head.append(buffer, static_cast<std::size_t>(n));
        }
        std::string rest = head.substr(head.find("\r\n\r\n") + 4);
        std::istringstream lines(head.substr(0, head.find("\r\n\r\n")));
        std::string line;
        std::getline(lines, line);
        std::istringstream first(line);
        std::string method;
        std::string target;
        first >> method >> target;
        std::map<std::string, std::string> headers{{"method", method}, {"target", target}};
        while (std::getline(lines, line)) {
            if (!line.empty() && line.back() == '\r') {
                line.pop_back();
            }
            if (auto colon = line.find(':'); colon != std::string::npos) {
                headers[line.substr(0, colon)] =
                    line.substr(line.find_first_not_of(' ', colon + 1));
            }
        }
        requests_.push(headers);
        if (int status = refuseStatus_; status != 0) {
            sendAll(client,
                    "HTTP/1.1 " + std::to_string(status) + " Refused\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        Poco::Net::StreamSocket upstream;
        upstream.connect(Poco::Net::SocketAddress(target));
        sendAll(client, "HTTP/1.1 200 Connection established\r\n\r\n");
        if (!rest.empty()) {
            sendAll(upstream, rest);
        }
        while (!stopping_) {
            Poco::Net::Socket::SocketList readable{client, upstream};
            Poco::Net::Socket::SocketList writable;
            Poco::Net::Socket::SocketList failed;
            if (Poco::Net::Socket::select(readable, writable, failed, kPoll) == 0) {
                continue;
            }
            for (Poco::Net::Socket& s : readable) {
                Poco::Net::StreamSocket from(s);
                Poco::Net::StreamSocket to = from == client ? upstream : client;
                int n = from.receiveBytes(buffer, sizeof buffer);
                if (n <= 0) {
                    return;
                }
                to.sendBytes(buffer, n);
            }
        }
    } catch (const Poco::Exception&) {
        // One side went away; the tunnel ends.
    }
}

}  // namespace opampsup::testing
