#include "core/opamp/WebSocketTransport.h"

#include <algorithm>
#include <chrono>

#include <Poco/Buffer.h>
#include <Poco/Net/DatagramSocket.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/URI.h>

#include "core/opamp/HttpSession.h"
#include "core/opamp/RetryAfter.h"
#include "core/opamp/WsFraming.h"

namespace opampsup::opamp {

// A loopback datagram socket the I/O thread waits on next to the WebSocket, so send() and
// close() can wake it without touching the WebSocket from another thread.
class WebSocketTransport::Wakeup {
  public:
    Wakeup() : socket_(Poco::Net::SocketAddress("127.0.0.1", 0)) { address_ = socket_.address(); }
    void signal() {
        char byte = 1;
        try {
            Poco::Net::DatagramSocket sender;
            sender.sendTo(&byte, 1, address_);
        } catch (const Poco::Exception&) {
            // The I/O thread also wakes on its timeout; a lost wake-up only delays a send.
        }
    }
    void drain() {
        char buffer[64];
        while (socket_.available() > 0) {
            socket_.receiveBytes(buffer, sizeof buffer);
        }
    }
    Poco::Net::DatagramSocket& socket() { return socket_; }

  private:
    Poco::Net::DatagramSocket socket_;
    Poco::Net::SocketAddress address_;
};

namespace {

constexpr int kCloseNormal = 1000;
constexpr int kCloseGoingAway = 1001;
constexpr int kCloseProtocolError = 1002;
constexpr int kCloseTooBig = 1009;

// How long the I/O thread sleeps when nothing happens; it only bounds how late a lost
// wake-up can be noticed.
const Poco::Timespan kIdleWait(60, 0);

// After our close frame, the server answers with its own (RFC 6455 5.5.1). Waiting for
// it, briefly, lets the server read everything we sent before the TCP connection goes.
void awaitServerClose(Poco::Net::WebSocket& ws, Poco::Buffer<char>& frame) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    try {
        while (std::chrono::steady_clock::now() < deadline) {
            if (ws.available() <= 0 &&
                !ws.poll(Poco::Timespan(0, 100 * 1000), Poco::Net::Socket::SELECT_READ)) {
                continue;
            }
            frame.resize(0);
            int flags = 0;
            int n = ws.receiveFrame(frame, flags);
            if ((n == 0 && flags == 0) || (flags & Poco::Net::WebSocket::FRAME_OP_BITMASK) ==
                                              Poco::Net::WebSocket::FRAME_OP_CLOSE) {
                return;
            }
        }
    } catch (const Poco::Exception&) {
        // The server closed without answering; nothing more to wait for.
    }
}

}  // namespace

WebSocketTransport::WebSocketTransport(Settings settings, Callbacks callbacks,
                                       telemetry::Logger logger)
    : settings_(std::move(settings)),
      callbacks_(std::move(callbacks)),
      logger_(std::move(logger)) {}

WebSocketTransport::~WebSocketTransport() {
    close();
}

void WebSocketTransport::connect() {
    if (thread_.joinable()) {
        thread_.join();
    }
    closing_ = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        outbox_.clear();
        lastPayload_.reset();
        wakeup_ = std::make_shared<Wakeup>();
    }
    inFlight_.start();
    thread_ = std::thread([this] {
        run();
        inFlight_.finished();
    });
}

bool WebSocketTransport::send(std::string payload) {
    if (!connected_) {
        return false;
    }
    std::shared_ptr<Wakeup> wakeup;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        outbox_.push_back(std::move(payload));
        wakeup = wakeup_;
    }
    wakeup->signal();
    return true;
}

void WebSocketTransport::close(std::optional<std::string> lastPayload) {
    std::shared_ptr<Wakeup> wakeup;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        lastPayload_ = std::move(lastPayload);
        wakeup = wakeup_;
        closing_ = true;
    }
    if (wakeup) {
        wakeup->signal();
    }
    if (thread_.joinable()) {
        inFlight_.stopWithin(kCloseGrace);
        thread_.join();
    }
}

void WebSocketTransport::finish(Disconnect disconnect) {
    connected_ = false;
    if (!closing_ && callbacks_.disconnected) {
        callbacks_.disconnected(std::move(disconnect));
    }
}

void WebSocketTransport::run() {
    std::shared_ptr<Wakeup> wakeup;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        wakeup = wakeup_;
    }
    Poco::URI uri(settings_.endpoint);
    std::unique_ptr<Poco::Net::HTTPClientSession> sessionPtr;
    try {
        sessionPtr = makeHttpSession(settings_);
    } catch (const Poco::Exception& e) {
        // Through a proxy the TLS handshake happens here.
        finish({"cannot connect to " + settings_.endpoint + ": " + connectionFailureText(e),
                std::nullopt, false});
        return;
    } catch (const std::exception& e) {
        finish({e.what(), std::nullopt, true});
        return;
    }
    Poco::Net::HTTPClientSession& session = *sessionPtr;
    Poco::Net::HTTPRequest request;
    try {
        request = makeRequest(settings_, Poco::Net::HTTPRequest::HTTP_GET);
    } catch (const AuthError& e) {
        finish({std::string("cannot authenticate to the OpAMP server: ") + e.what(), std::nullopt,
                false});
        return;
    }
    Poco::Net::HTTPResponse response;
    std::unique_ptr<Poco::Net::WebSocket> ws;
    try {
        inFlight_.use(&session);
        ws = std::make_unique<Poco::Net::WebSocket>(session, request, response);
        inFlight_.use(nullptr);  // the socket now belongs to the WebSocket
    } catch (const Poco::Exception& e) {
        inFlight_.use(nullptr);
        Disconnect failure{
            "cannot connect to " + settings_.endpoint + ": " + connectionFailureText(e),
            std::nullopt, false};
        int status = static_cast<int>(response.getStatus());
        if (status >= 400) {
            failure.reason = "the server refused the WebSocket upgrade: HTTP " +
                             std::to_string(status) + " " + response.getReason();
            if (response.has("Retry-After")) {
                failure.retryAfter =
                    parseRetryAfter(response.get("Retry-After"), std::chrono::system_clock::now());
            }
            failure.permanent = status < 500 && status != 408 && status != 429 &&
                                !credentialsRefused(settings_, status);
        }
        finish(failure);
        return;
    }
    ws->setMaxPayloadSize(static_cast<int>(kMaxMessageBytes + 16));
    connected_ = true;
    if (callbacks_.connected) {
        callbacks_.connected();
    }

    Poco::Buffer<char> frame(0);
    WsMessageAssembler assembler;
    auto closeWith = [&](int code, const std::string& reason) {
        try {
            ws->shutdown(static_cast<Poco::UInt16>(code), reason);
        } catch (const Poco::Exception&) {
            // The connection is going away either way.
        }
        finish({reason, std::nullopt, false});
    };
    using Clock = std::chrono::steady_clock;
    const auto keepalive = settings_.keepaliveInterval;
    Clock::time_point lastHeard = Clock::now();
    std::optional<Clock::time_point> pingSent;
    try {
        while (true) {
            if (keepalive.count() > 0) {
                auto now = Clock::now();
                if (pingSent && now - *pingSent >= keepalive) {
                    closeWith(kCloseGoingAway,
                              "the server did not answer a WebSocket ping within " +
                                  std::to_string(keepalive.count()) +
                                  " ms; the connection is dead");
                    return;
                }
                if (!pingSent && now - lastHeard >= keepalive) {
                    ws->sendFrame("", 0,
                                  static_cast<int>(Poco::Net::WebSocket::FRAME_FLAG_FIN) |
                                      static_cast<int>(Poco::Net::WebSocket::FRAME_OP_PING));
                    pingSent = now;
                }
            }
            // Bytes a layer above the socket already holds (decrypted TLS records, Poco's
            // WebSocket buffer) are invisible to select(): read them before waiting, or a
            // frame that came with the previous one would wait for the next packet.
            bool dataReady = ws->available() > 0;
            bool woken = false;
            if (!dataReady) {
                Poco::Net::Socket::SocketList readable{*ws, wakeup->socket()};
                Poco::Net::Socket::SocketList writable;
                Poco::Net::Socket::SocketList failed;
                Poco::Timespan wait = kIdleWait;
                if (keepalive.count() > 0) {
                    auto due = (pingSent ? *pingSent : lastHeard) + keepalive - Clock::now();
                    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(due);
                    wait = Poco::Timespan(std::clamp<Poco::Timespan::TimeDiff>(
                        micros.count(), 1000, kIdleWait.totalMicroseconds()));
                }
                Poco::Net::Socket::select(readable, writable, failed, wait);
                for (const Poco::Net::Socket& s : readable) {
                    if (s == wakeup->socket()) {
                        woken = true;
                    } else {
                        dataReady = true;
                    }
                }
            }
            if (woken) {
                wakeup->drain();
            }
            // Outgoing first: a closing client flushes its queue, then says goodbye.
            std::deque<std::string> toSend;
            std::optional<std::string> last;
            // Read once, under the lock that close() sets it under: a second read later
            // could see a close whose goodbye message was not taken here, and lose it.
            bool closingNow = false;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                toSend.swap(outbox_);
                closingNow = closing_;
                if (closingNow) {
                    last = std::move(lastPayload_);
                    lastPayload_.reset();
                }
            }
            for (const std::string& payload : toSend) {
                std::string bytes = frameWsMessage(payload);
                ws->sendFrame(bytes.data(), static_cast<int>(bytes.size()),
                              Poco::Net::WebSocket::FRAME_BINARY);
            }
            if (closingNow) {
                if (last) {
                    std::string bytes = frameWsMessage(*last);
                    ws->sendFrame(bytes.data(), static_cast<int>(bytes.size()),
                                  Poco::Net::WebSocket::FRAME_BINARY);
                }
                closeWith(kCloseNormal, "agent is shutting down");
                awaitServerClose(*ws, frame);
                return;
            }
            if (!dataReady) {
                continue;
            }
            frame.resize(0);
            int flags = 0;
            int n = ws->receiveFrame(frame, flags);
            if (n == 0 && flags == 0) {
                finish({"the server closed the connection", std::nullopt, false});
                return;
            }
            // Any frame shows the server is alive, a pong or otherwise.
            lastHeard = Clock::now();
            pingSent.reset();
            int opcode = flags & Poco::Net::WebSocket::FRAME_OP_BITMASK;
            bool fin = (flags & Poco::Net::WebSocket::FRAME_FLAG_FIN) != 0;
            if (opcode == Poco::Net::WebSocket::FRAME_OP_PING) {
                ws->sendFrame(frame.begin(), n,
                              static_cast<int>(Poco::Net::WebSocket::FRAME_FLAG_FIN) |
                                  static_cast<int>(Poco::Net::WebSocket::FRAME_OP_PONG));
                continue;
            }
            if (opcode == Poco::Net::WebSocket::FRAME_OP_PONG) {
                continue;
            }
            if (opcode == Poco::Net::WebSocket::FRAME_OP_CLOSE) {
                closeWith(kCloseNormal, "the server closed the connection");
                return;
            }
            if (opcode == Poco::Net::WebSocket::FRAME_OP_TEXT) {
                closeWith(kCloseProtocolError, "the server sent a text frame; OpAMP uses binary");
                return;
            }
            auto assembled =
                assembler.add(std::string_view(frame.begin(), static_cast<std::size_t>(n)),
                              opcode == Poco::Net::WebSocket::FRAME_OP_CONT, fin);
            if (std::holds_alternative<WsMessageAssembler::Incomplete>(assembled)) {
                continue;
            }
            if (auto* error = std::get_if<WsFramingError>(&assembled)) {
                closeWith(error->tooBig ? kCloseTooBig : kCloseProtocolError,
                          "bad message from the server: " + error->reason);
                return;
            }
            std::string payload(std::get<WsMessage>(assembled).payload);
            assembler.release();
            if (frame.capacity() > kKeptBufferBytes) {
                frame.setCapacity(0, false);
            }
            if (callbacks_.message) {
                callbacks_.message(std::move(payload));
            }
        }
    } catch (const Poco::Net::WebSocketException& e) {
        int code = e.code() == Poco::Net::WebSocket::WS_ERR_PAYLOAD_TOO_BIG ? kCloseTooBig
                                                                            : kCloseProtocolError;
        closeWith(code, "WebSocket error: " + e.displayText());
    } catch (const Poco::Exception& e) {
        finish({"connection lost: " + e.displayText(), std::nullopt, false});
    }
}

}  // namespace opampsup::opamp
