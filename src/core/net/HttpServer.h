#pragma once

// An HTTP server for the supervisor's own listeners (the collector's local OpAMP server,
// the health check, the status endpoint) that sleeps while nothing happens.
//
// Poco's HTTPServer polls its listening socket every 250 ms and its dispatcher wakes every
// few seconds; on an idle host those wake-ups are most of the supervisor's CPU. Here one
// thread blocks in accept() until a peer connects or stop() wakes it, and each connection
// is served by Poco's HTTPServerConnection on a thread of its own.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

namespace opampsup::net {

// Poco lets only its own HTTPServer tell the connections that the server stopped; the
// factories given to ours derive from this so that it can too.
class HandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
  public:
    using Ptr = Poco::SharedPtr<HandlerFactory>;
    void announceStop() { serverStopped(this, true); }
};

class HttpServer {
  public:
    // `socket` is bound and listening (plain or TLS). Connections beyond
    // `maxConnections` are closed at once, unanswered (Poco's server queued a few): these
    // listeners serve one collector or an occasional probe, and a flood must not cost a
    // thread per peer.
    HttpServer(HandlerFactory::Ptr factory, const Poco::Net::ServerSocket& socket,
               Poco::Net::HTTPServerParams::Ptr params, std::size_t maxConnections);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    void start();
    // Stops accepting, aborts the connections being served (TLS ones still in their
    // handshake too) and waits for their threads. Not from a connection's own thread.
    void stop();

    std::uint16_t port() const { return port_; }

  private:
    struct Worker {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
        Poco::Net::StreamSocket socket;  // a second reference: the descriptor stays ours
    };

    void acceptLoop();
    void serve(Poco::Net::StreamSocket peer);
    void joinFinished();
    void wakeAccept();

    HandlerFactory::Ptr factory_;
    Poco::Net::ServerSocket socket_;
    Poco::Net::HTTPServerParams::Ptr params_;
    std::size_t maxConnections_;
    std::uint16_t port_;

    std::atomic<bool> stopping_{false};
    std::thread acceptor_;
    std::mutex stopMutex_;       // stop() from the owner and the destructor
    std::list<Worker> workers_;  // touched by the accept thread, then by stop() after joining it
};

}  // namespace opampsup::net
