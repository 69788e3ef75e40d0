#include "core/opamp/ConnectionOffer.h"

#include <stdexcept>

#include <Poco/Exception.h>
#include <Poco/URI.h>

namespace opampsup::opamp {
namespace pb = ::opamp::proto;

namespace {

bool secure(const std::string& endpoint) {
    return endpoint.rfind("wss://", 0) == 0 || endpoint.rfind("https://", 0) == 0;
}

config::Headers headersOf(const pb::Headers& headers) {
    config::Headers out;
    for (const pb::Header& h : headers.headers()) {
        out[h.key()].push_back(h.value());
    }
    return out;
}

bool sameTls(const std::optional<config::TlsClientSettings>& a,
             const std::optional<config::TlsClientSettings>& b) {
    if (a.has_value() != b.has_value()) {
        return false;
    }
    if (!a) {
        return true;
    }
    return a->insecure == b->insecure && a->insecureSkipVerify == b->insecureSkipVerify &&
           a->caFile == b->caFile && a->caPem == b->caPem && a->certFile == b->certFile &&
           a->certPem == b->certPem && a->keyFile == b->keyFile && a->keyPem == b->keyPem &&
           a->minVersion == b->minVersion && a->maxVersion == b->maxVersion &&
           a->cipherSuites == b->cipherSuites &&
           a->includeSystemCaCertsPool == b->includeSystemCaCertsPool &&
           a->serverNameOverride == b->serverNameOverride;
}

bool sameProxy(const std::optional<ProxyRoute>& a, const std::optional<ProxyRoute>& b) {
    if (a.has_value() != b.has_value()) {
        return false;
    }
    return !a ||
           (a->host == b->host && a->port == b->port && a->connectHeaders == b->connectHeaders);
}

}  // namespace

Client::Settings withConnectionOffer(Client::Settings base, const pb::OpAMPConnectionSettings& o,
                                     const EnvLookup& env) {
    if (!o.destination_endpoint().empty()) {
        const std::string& e = o.destination_endpoint();
        if (e.rfind("ws://", 0) != 0 && e.rfind("http://", 0) != 0 && !secure(e)) {
            throw std::invalid_argument("destination_endpoint \"" + e +
                                        "\" is not a ws://, wss://, http:// or https:// URL");
        }
        try {
            Poco::URI uri(e);
            if (uri.getHost().empty()) {
                throw std::invalid_argument("destination_endpoint \"" + e + "\" has no host");
            }
        } catch (const Poco::Exception& bad) {
            throw std::invalid_argument("destination_endpoint \"" + e +
                                        "\" is not a valid URL: " + bad.message());
        }
        base.endpoint = e;
    }
    if (o.has_headers()) {
        base.headers = headersOf(o.headers());
    }
    if (o.has_certificate() || o.has_tls()) {
        config::TlsClientSettings tls = base.tls.value_or(config::TlsClientSettings{});
        if (o.has_tls()) {
            const pb::TLSConnectionSettings& t = o.tls();
            if (!t.ca_pem_contents().empty()) {
                tls.caFile.clear();
                tls.caPem = t.ca_pem_contents();
            }
            tls.includeSystemCaCertsPool = t.include_system_ca_certs_pool();
            tls.insecureSkipVerify = t.insecure_skip_verify();
            tls.minVersion = t.min_version();
            tls.maxVersion = t.max_version();
            tls.cipherSuites.assign(t.cipher_suites().begin(), t.cipher_suites().end());
        }
        if (o.has_certificate()) {
            // The offered certificate replaces the configured one, files included.
            tls.certFile.clear();
            tls.keyFile.clear();
            tls.certPem = o.certificate().cert();
            tls.keyPem = o.certificate().private_key();
            // ca_cert is the CA that signed the client certificate, for TLS-terminating
            // proxies; the spec advises against trusting it for anything, and it is not the
            // server's CA.
        }
        base.tls = tls;
    }
    if (o.has_proxy()) {
        if (o.proxy().url().empty()) {
            base.proxy.reset();
        } else {
            config::ProxySettings proxy{o.proxy().url(), headersOf(o.proxy().connect_headers())};
            try {
                base.proxy = chooseProxy(base.endpoint, proxy, env);
            } catch (const std::invalid_argument& e) {
                throw std::invalid_argument(std::string("proxy: ") + e.what());
            }
        }
    }
    if (o.heartbeat_interval_seconds() > kMaxHeartbeatSeconds) {
        throw std::invalid_argument("heartbeat_interval_seconds " +
                                    std::to_string(o.heartbeat_interval_seconds()) +
                                    " is more than a day");
    }
    if (o.heartbeat_interval_seconds() > 0) {
        base.heartbeatInterval = std::chrono::seconds(
            static_cast<std::chrono::seconds::rep>(o.heartbeat_interval_seconds()));
    }
    return base;
}

pb::OpAMPConnectionSettings mergeConnectionOffer(pb::OpAMPConnectionSettings base,
                                                 const pb::OpAMPConnectionSettings& o) {
    if (!o.destination_endpoint().empty()) {
        base.set_destination_endpoint(o.destination_endpoint());
    }
    if (o.has_headers()) {
        *base.mutable_headers() = o.headers();
    }
    if (o.has_certificate()) {
        *base.mutable_certificate() = o.certificate();
    }
    if (o.has_tls()) {
        *base.mutable_tls() = o.tls();
    }
    if (o.has_proxy()) {
        *base.mutable_proxy() = o.proxy();
    }
    if (o.heartbeat_interval_seconds() > 0) {
        base.set_heartbeat_interval_seconds(o.heartbeat_interval_seconds());
    }
    return base;
}

bool sameConnection(const Client::Settings& a, const Client::Settings& b) {
    return a.endpoint == b.endpoint && a.headers == b.headers && sameTls(a.tls, b.tls) &&
           sameProxy(a.proxy, b.proxy);
}

}  // namespace opampsup::opamp
