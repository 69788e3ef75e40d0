#include "FaultProxy.h"

#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>

namespace opampsup::faults {
namespace {

const Poco::Timespan kPoll(0, 50 * 1000);

// Moves what `from` has to `to`; false when `from` closed or failed.
bool pass(Poco::Net::StreamSocket& from, Poco::Net::StreamSocket& to) {
    char buffer[16384];
    int n = from.receiveBytes(buffer, sizeof buffer);
    if (n <= 0) {
        return false;
    }
    for (int sent = 0; sent < n;) {
        sent += to.sendBytes(buffer + sent, n - sent);
    }
    return true;
}

}  // namespace

FaultProxy::FaultProxy(std::uint16_t upstreamPort)
    : listener_(Poco::Net::SocketAddress("127.0.0.1", 0)),
      upstreamPort_(upstreamPort),
      acceptor_([this] { acceptLoop(); }) {}

FaultProxy::~FaultProxy() {
    stopping_ = true;
    acceptor_.join();
    std::vector<std::thread> threads;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        threads.swap(threads_);
    }
    for (std::thread& t : threads) {
        t.join();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& socket : heldSockets_) {
        socket.close();
    }
}

std::uint16_t FaultProxy::port() const {
    return listener_.address().port();
}

std::string FaultProxy::via(const std::string& serverEndpoint) const {
    // scheme://127.0.0.1:PORT/path
    const std::size_t host = serverEndpoint.find("://") + 3;
    const std::size_t colon = serverEndpoint.find(':', host);
    const std::size_t path = serverEndpoint.find('/', colon);
    return serverEndpoint.substr(0, colon + 1) + std::to_string(port()) +
           serverEndpoint.substr(path);
}

void FaultProxy::setUpstream(std::uint16_t port) {
    upstreamPort_ = port;
}

void FaultProxy::holdNext(int count) {
    holdLeft_ = count;
}

int FaultProxy::blackHoleOpenConnections() {
    std::lock_guard<std::mutex> lock(mutex_);
    int n = 0;
    for (const auto& r : relays_) {
        if (r->open && !r->blackHoled.exchange(true)) {
            ++n;
        }
    }
    return n;
}

int FaultProxy::openRelays() const {
    std::lock_guard<std::mutex> lock(mutex_);
    int n = 0;
    for (const auto& r : relays_) {
        n += r->open ? 1 : 0;
    }
    return n;
}

void FaultProxy::acceptLoop() {
    while (!stopping_) {
        try {
            if (!listener_.poll(kPoll, Poco::Net::Socket::SELECT_READ)) {
                continue;
            }
            Poco::Net::StreamSocket client = listener_.acceptConnection();
            ++accepted_;
            std::lock_guard<std::mutex> lock(mutex_);
            if (holdLeft_ > 0) {
                --holdLeft_;
                ++held_;
                heldSockets_.push_back(client);
                continue;
            }
            auto r = std::make_shared<Relay>();
            r->client = client;
            relays_.push_back(r);
            threads_.emplace_back([this, r] { relay(r); });
        } catch (const Poco::Exception&) {
            // A failed accept: the next one may work.
        }
    }
}

void FaultProxy::relay(const std::shared_ptr<Relay>& r) {
    try {
        r->upstream.connect(Poco::Net::SocketAddress("127.0.0.1", upstreamPort_.load()),
                            Poco::Timespan(5, 0));
    } catch (const Poco::Exception&) {
        r->client.close();
        r->open = false;
        return;
    }
    try {
        while (!stopping_) {
            if (r->blackHoled) {
                // Nothing moves and nothing closes: both peers wait on a silent line.
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
                continue;
            }
            Poco::Net::Socket::SocketList readable{r->client, r->upstream};
            Poco::Net::Socket::SocketList writable;
            Poco::Net::Socket::SocketList failed;
            if (Poco::Net::Socket::select(readable, writable, failed, kPoll) == 0) {
                continue;
            }
            bool ok = true;
            for (auto& s : readable) {
                if (r->blackHoled) {
                    break;
                }
                ok = ok &&
                     (s == r->client ? pass(r->client, r->upstream) : pass(r->upstream, r->client));
            }
            if (!ok) {
                break;
            }
        }
    } catch (const Poco::Exception&) {
        // A reset on either side ends the relay.
    }
    r->open = false;
    try {
        r->client.close();
        r->upstream.close();
    } catch (const Poco::Exception&) {
    }
}

}  // namespace opampsup::faults
