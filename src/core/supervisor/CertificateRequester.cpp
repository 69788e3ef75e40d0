#include "core/supervisor/CertificateRequester.h"

#include <algorithm>

#include "core/config/Duration.h"
#include "core/opamp/CertificateRequest.h"
#include "core/opamp/Uuid.h"

namespace opampsup::supervisor {
namespace pb = ::opamp::proto;

CertificateRequester::CertificateRequester(const config::CertificateRequestSettings& settings,
                                           const storage::StateStore& store,
                                           telemetry::Logger logger)
    : settings_(settings), store_(store), logger_(std::move(logger)) {
    if (!settings_.enabled) {
        return;
    }
    try {
        pendingKey_ = store_.read(kKeyFile).value_or("");
    } catch (const std::exception& e) {
        logger_.error("Cannot read the key of the last certificate request", {{"error", e.what()}});
    }
}

std::optional<std::string> CertificateRequester::reasonToRequest(
    const std::optional<std::string>& issuedCert, const std::string& expectedName,
    std::chrono::system_clock::time_point now) const {
    if (!issuedCert || issuedCert->empty()) {
        return "the server has issued no certificate yet";
    }
    std::optional<std::chrono::system_clock::time_point> notAfter =
        opamp::certificateNotAfter(*issuedCert);
    std::optional<std::chrono::system_clock::time_point> notBefore =
        opamp::certificateNotBefore(*issuedCert);
    if (!notAfter || !notBefore) {
        return "the certificate in use does not parse";
    }
    // A certificate issued for less than three times renew_before is renewed in its last
    // third instead: otherwise every connection would ask for a new one. In seconds: the
    // times may be the clock's ends (a certificate valid until 9999).
    using std::chrono::seconds;
    using std::chrono::time_point_cast;
    const seconds lifetime =
        time_point_cast<seconds>(*notAfter) - time_point_cast<seconds>(*notBefore);
    const seconds window =
        std::min(std::chrono::duration_cast<seconds>(settings_.renewBefore), lifetime / 3);
    if (time_point_cast<seconds>(*notAfter) - time_point_cast<seconds>(now) <= window) {
        return "the certificate in use expires within " + config::formatGoDuration(window);
    }
    // A certificate that names an instance UID must name ours (the server gave a new one);
    // a server that writes its own subject (a host name) is not asked again and again.
    if (settings_.commonName.empty()) {
        const std::string name = opamp::certificateCommonName(*issuedCert).value_or("");
        if (opamp::Uuid::parse(name) && name != expectedName) {
            return "the certificate in use is for instance " + name + ", not " + expectedName;
        }
    } else if (opamp::certificateCommonName(*issuedCert).value_or("") != expectedName) {
        return "the certificate in use is not for \"" + expectedName + "\"";
    }
    return std::nullopt;
}

std::optional<pb::ConnectionSettingsRequest> CertificateRequester::requestIfNeeded(
    const std::optional<std::string>& issuedCert, const std::string& instanceUid,
    std::uint64_t serverCapabilities, std::chrono::system_clock::time_point now) {
    if (!settings_.enabled || sentOnThisConnection_) {
        return std::nullopt;
    }
    const std::string name = settings_.commonName.empty() ? instanceUid : settings_.commonName;
    std::optional<std::string> reason = reasonToRequest(issuedCert, name, now);
    if (!reason) {
        return std::nullopt;
    }
    if ((serverCapabilities & pb::ServerCapabilities_AcceptsConnectionSettingsRequest) == 0) {
        logger_.warn(
            "A client certificate is needed but the OpAMP server does not take "
            "certificate requests (no AcceptsConnectionSettingsRequest)",
            {{"reason", *reason}});
        sentOnThisConnection_ = true;  // said once per connection
        return std::nullopt;
    }
    opamp::CertificateRequest made;
    try {
        made = opamp::makeCertificateRequest(*opamp::keyTypeNamed(settings_.keyType), name,
                                             settings_.organization, settings_.dnsNames);
        store_.write(kKeyFile, made.privateKeyPem);
    } catch (const std::exception& e) {
        logger_.error("Cannot make a certificate request", {{"error", e.what()}});
        sentOnThisConnection_ = true;
        return std::nullopt;
    }
    pendingKey_ = made.privateKeyPem;
    sentOnThisConnection_ = true;
    logger_.info("Asking the OpAMP server for a client certificate",
                 {{"reason", *reason}, {"common_name", name}, {"key_type", settings_.keyType}});
    pb::ConnectionSettingsRequest request;
    request.mutable_opamp()->mutable_certificate_request()->set_csr(made.csrPem);
    return request;
}

std::optional<std::string> CertificateRequester::pairWithKey(
    pb::OpAMPConnectionSettings& offer, const pb::TLSCertificate* committed) const {
    if (!offer.has_certificate() || offer.certificate().cert().empty() ||
        !offer.certificate().private_key().empty()) {
        return std::nullopt;
    }
    if (committed != nullptr && committed->cert() == offer.certificate().cert() &&
        !committed->private_key().empty()) {
        offer.mutable_certificate()->set_private_key(committed->private_key());
        return std::nullopt;
    }
    if (pendingKey_.empty()) {
        return std::string(
            "the offered certificate has no private key, and no certificate "
            "request of this supervisor is waiting for one");
    }
    if (!opamp::certificateMatchesKey(offer.certificate().cert(), pendingKey_)) {
        return std::string(
            "the offered certificate has no private key and is not for the key "
            "of the last certificate request");
    }
    offer.mutable_certificate()->set_private_key(pendingKey_);
    return std::nullopt;
}

void CertificateRequester::committed(const pb::OpAMPConnectionSettings& offer) {
    if (pendingKey_.empty() || offer.certificate().private_key() != pendingKey_) {
        return;
    }
    pendingKey_.clear();
    try {
        store_.remove(kKeyFile);
    } catch (const std::exception& e) {
        logger_.warn("Cannot remove the key file of the answered certificate request",
                     {{"error", e.what()}});
    }
    logger_.info("Connected with the certificate the server issued");
}

}  // namespace opampsup::supervisor
