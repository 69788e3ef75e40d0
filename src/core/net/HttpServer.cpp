#include "core/net/HttpServer.h"

#include <chrono>
#include <system_error>

#include <Poco/Net/HTTPServerConnection.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include "platform/socket.h"

namespace opampsup::net {

HttpServer::HttpServer(HandlerFactory::Ptr factory, const Poco::Net::ServerSocket& socket,
                       Poco::Net::HTTPServerParams::Ptr params, std::size_t maxConnections)
    : factory_(std::move(factory)),
      socket_(socket),
      params_(std::move(params)),
      maxConnections_(maxConnections),
      port_(socket.address().port()) {}

HttpServer::~HttpServer() {
    stop();
}

void HttpServer::start() {
    acceptor_ = std::thread([this] { acceptLoop(); });
}

void HttpServer::acceptLoop() {
    while (!stopping_) {
        Poco::Net::StreamSocket peer;
        try {
            peer = socket_.acceptConnection();
        } catch (const Poco::Exception&) {
            if (stopping_) {
                break;
            }
            // Out of descriptors or a peer gone before accept(): back off a little rather
            // than spin on an error that will repeat at once.
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            continue;
        }
        if (stopping_) {
            break;
        }
        joinFinished();
        if (workers_.size() >= maxConnections_) {
            peer.close();
            continue;
        }
        serve(std::move(peer));
    }
}

void HttpServer::serve(Poco::Net::StreamSocket peer) {
    try {
        // Answers and WebSocket frames go out in several writes; Nagle's algorithm would
        // hold the later ones for the peer's delayed ACK.
        peer.setNoDelay(true);
    } catch (const Poco::Exception&) {
    }
    // Made here, before stop() can announce the end, so every connection hears it.
    auto connection = std::make_shared<Poco::Net::HTTPServerConnection>(peer, params_, factory_);
    auto done = std::make_shared<std::atomic<bool>>(false);
    try {
        workers_.push_back(Worker{std::thread([connection, done] {
                                      try {
                                          connection->run();
                                      } catch (...) {
                                          // A peer that broke the protocol or the TLS
                                          // handshake: only its own connection ends.
                                      }
                                      *done = true;
                                  }),
                                  done, peer});
    } catch (const std::system_error&) {
        peer.close();  // no thread to serve it (the process is at its limit): turned away
    }
}

void HttpServer::joinFinished() {
    for (auto it = workers_.begin(); it != workers_.end();) {
        if (*it->done) {
            it->thread.join();
            it = workers_.erase(it);
        } else {
            ++it;
        }
    }
}

void HttpServer::wakeAccept() {
    // Shutting a listening socket down ends a blocked accept() on Linux; where it does not
    // (macOS, Windows), a connection of our own does.
    try {
        socket_.impl()->shutdown();
    } catch (const Poco::Exception&) {
    }
    try {
        Poco::Net::SocketAddress bound = socket_.address();
        const bool wildcard = bound.host().isWildcard();
        Poco::Net::SocketAddress target(
            wildcard ? (bound.family() == Poco::Net::AddressFamily::IPv6 ? "::1" : "127.0.0.1")
                     : bound.host().toString(),
            bound.port());
        Poco::Net::StreamSocket waker;
        waker.connect(target, Poco::Timespan(1, 0));
    } catch (const Poco::Exception&) {
    }
}

void HttpServer::stop() {
    std::lock_guard<std::mutex> lock(stopMutex_);
    if (!acceptor_.joinable()) {
        return;
    }
    stopping_ = true;
    wakeAccept();
    acceptor_.join();
    socket_.close();
    // Each HTTPServerConnection shuts its socket down when told the server stopped; a TLS
    // one still in its handshake cannot, so the OS socket is shut down underneath too.
    factory_->announceStop();
    for (Worker& worker : workers_) {
        platform::shutdownSocket(static_cast<std::intptr_t>(worker.socket.impl()->sockfd()));
        worker.thread.join();
    }
    workers_.clear();
}

}  // namespace opampsup::net
