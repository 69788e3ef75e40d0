#include "core/opamp/HttpSession.h"

#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/URI.h>

#include "core/opamp/TlsContext.h"

namespace opampsup::opamp {

std::unique_ptr<Poco::Net::HTTPClientSession> makeHttpSession(const Transport::Settings& settings) {
    Poco::URI uri(settings.endpoint);
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (uri.getScheme() == "wss" || uri.getScheme() == "https") {
        Poco::Net::Context::Ptr context =
            makeClientTlsContext(settings.tls.value_or(config::TlsClientSettings{}), uri.getHost());
        session =
            std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), context);
    } else {
        session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    }
    session->setTimeout(Poco::Timespan(
        std::chrono::duration_cast<std::chrono::microseconds>(settings.connectTimeout).count()));
    return session;
}

Poco::Net::HTTPRequest makeRequest(const Transport::Settings& settings, const std::string& method) {
    Poco::URI uri(settings.endpoint);
    Poco::Net::HTTPRequest request(method,
                                   uri.getPathAndQuery().empty() ? "/" : uri.getPathAndQuery(),
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [name, values] : settings.headers) {
        for (const std::string& value : values) {
            request.add(name, value);
        }
    }
    request.set("User-Agent", settings.userAgent);
    return request;
}

}  // namespace opampsup::opamp
