#include "core/opamp/HttpSession.h"

#include <sstream>
#include <stdexcept>

#include <Poco/Base64Encoder.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketImpl.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/URI.h>

#include "core/opamp/TlsContext.h"

namespace opampsup::opamp {

namespace {

// Asks the proxy for a tunnel to host:port and returns the socket once it stands.
Poco::Net::StreamSocket openTunnel(const ProxyRoute& proxy, const std::string& host,
                                   std::uint16_t port, Poco::Timespan timeout) {
    Poco::Net::StreamSocket socket;
    socket.connect(Poco::Net::SocketAddress(proxy.host, proxy.port), timeout);
    socket.setReceiveTimeout(timeout);
    socket.setSendTimeout(timeout);
    Poco::Net::HTTPClientSession proxySession(socket);
    std::string target = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    target += ":" + std::to_string(port);
    Poco::Net::HTTPRequest connect(Poco::Net::HTTPRequest::HTTP_CONNECT, target,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    connect.setHost(target);
    for (const auto& [name, values] : proxy.connectHeaders) {
        for (const std::string& value : values) {
            connect.add(name, value);
        }
    }
    proxySession.sendRequest(connect);
    Poco::Net::HTTPResponse response;
    proxySession.receiveResponse(response);
    if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) {
        throw std::runtime_error(
            "the proxy " + proxy.host + ":" + std::to_string(proxy.port) + " (from " +
            proxy.source + ") refused the tunnel to " + target + ": HTTP " +
            std::to_string(static_cast<int>(response.getStatus())) + " " + response.getReason());
    }
    return proxySession.detachSocket();
}

}  // namespace

std::unique_ptr<Poco::Net::HTTPClientSession> makeHttpSession(const Transport::Settings& settings) {
    // The session's handshake runs on this thread: a refusal recorded for an earlier
    // connection must not be taken for its.
    recordCertificateRejections(!settings.tls || !settings.tls->insecureSkipVerify);
    Poco::URI uri(settings.endpoint);
    bool secure = uri.getScheme() == "wss" || uri.getScheme() == "https";
    Poco::Timespan timeout(
        std::chrono::duration_cast<std::chrono::microseconds>(settings.connectTimeout).count());
    Poco::Net::Context::Ptr context;
    if (secure) {
        context =
            makeClientTlsContext(settings.tls.value_or(config::TlsClientSettings{}), uri.getHost());
    }
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (settings.proxy) {
        Poco::Net::StreamSocket tunnel =
            openTunnel(*settings.proxy, uri.getHost(), uri.getPort(), timeout);
        // The TLS handshake runs over the tunnel here. The session gets the connected
        // socket as a plain HTTPClientSession: Poco 1.11's HTTPSClientSession(socket)
        // throws on a connected socket, and reads and writes go through TLS either way.
        Poco::Net::StreamSocket connected =
            secure ? Poco::Net::SecureStreamSocket::attach(tunnel, uri.getHost(), context) : tunnel;
        session = std::make_unique<Poco::Net::HTTPClientSession>(connected);
    } else if (secure) {
        session =
            std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), context);
    } else {
        session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    }
    session->setTimeout(timeout);
    return session;
}

std::string connectionFailureText(const Poco::Exception& e) {
    std::string rejection = takeCertificateRejection();
    // Only a failed handshake is the certificate's fault; a later timeout or reset is not.
    const bool handshake = dynamic_cast<const Poco::Net::SSLException*>(&e) != nullptr;
    return handshake && !rejection.empty() ? rejection : e.displayText();
}

Poco::Net::HTTPRequest makeRequest(const Transport::Settings& settings, const std::string& method) {
    Poco::URI uri(settings.endpoint);
    Poco::Net::HTTPRequest request(method,
                                   uri.getPathAndQuery().empty() ? "/" : uri.getPathAndQuery(),
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    // Set here because a session built on a proxy tunnel does not know the host.
    request.setHost(uri.getHost(), uri.getPort());
    for (const auto& [name, values] : settings.headers) {
        for (const std::string& value : values) {
            request.add(name, value);
        }
    }
    if (settings.auth) {
        for (const auto& [name, values] : settings.auth->headers()) {
            request.erase(name);
            for (const std::string& value : values) {
                // A line break would end the header early and start another: a token file
                // with two lines, or a token server that sends one.
                if (value.find_first_of("\r\n") != std::string::npos) {
                    throw AuthError("the " + name + " header would hold a line break");
                }
                request.add(name, value);
            }
        }
    }
    request.set("User-Agent", settings.userAgent);
    return request;
}

bool credentialsRefused(const Transport::Settings& settings, int httpStatus) {
    return httpStatus == 401 && settings.auth && settings.auth->rejected();
}

std::string basicCredential(const std::string& userColonPassword) {
    std::ostringstream out;
    Poco::Base64Encoder encoder(out);
    encoder.rdbuf()->setLineLength(0);
    encoder << userColonPassword;
    encoder.close();
    return "Basic " + out.str();
}

void shutdownConnection(Poco::Net::HTTPClientSession& session) {
    Poco::Net::SocketImpl* socket = session.socket().impl();
    if (socket != nullptr) {
        // The plain socket's shutdown, whatever the socket's kind (see the header).
        socket->Poco::Net::SocketImpl::shutdown();
    }
}

void InFlight::start() {
    std::lock_guard<std::mutex> lock(mutex_);
    finished_ = false;
    session_ = nullptr;
}

void InFlight::use(Poco::Net::HTTPClientSession* session) {
    std::lock_guard<std::mutex> lock(mutex_);
    session_ = session;
}

void InFlight::finished() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        finished_ = true;
        session_ = nullptr;
    }
    done_.notify_all();
}

void InFlight::stopWithin(std::chrono::milliseconds grace) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (done_.wait_for(lock, grace, [this] { return finished_; })) {
        return;
    }
    if (session_ != nullptr) {
        try {
            // Shutdown, not close: the I/O thread still owns the descriptor.
            shutdownConnection(*session_);
        } catch (const Poco::Exception&) {
            // Not connected yet: the connect timeout bounds the wait.
        }
    }
}

}  // namespace opampsup::opamp
