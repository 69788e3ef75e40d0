#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "CsrSigner.h"
#include "core/opamp/CertificateRequest.h"
#include "core/supervisor/CertificateRequester.h"
#include "support/TempDir.h"
#include "support/TestPki.h"

namespace opampsup::supervisor {
namespace {

namespace pb = ::opamp::proto;
using std::chrono::hours;
using ::testing::HasSubstr;

constexpr std::uint64_t kTakesRequests = pb::ServerCapabilities_AcceptsConnectionSettingsRequest;
const std::string kUid = "018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f";

std::string readAll(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

class CertificateRequesterTest : public ::testing::Test {
  protected:
    CertificateRequesterTest() : store_(dir_.path() / "storage"), pki_(dir_.path(), {"x"}) {
        store_.prepare();
        settings_.enabled = true;
        telemetry::LoggerOptions options;
        options.outputPaths = {(dir_.path() / "log").string()};
        logger_ = telemetry::Logger::create(options);
    }

    // The certificate a server would issue for the request, valid for `validity`.
    std::string issue(const pb::ConnectionSettingsRequest& request, hours validity,
                      const std::string& uid = kUid) {
        devserver::CsrSigner signer(pki_.caCert.string(), pki_.caKey.string(), validity);
        return signer.sign(request.opamp().certificate_request().csr(), uid);
    }

    std::string log() const { return readAll(dir_.path() / "log"); }

    testing::TempDir dir_;
    storage::StateStore store_;
    testing::TestPki pki_;
    config::CertificateRequestSettings settings_;
    telemetry::Logger logger_ = telemetry::Logger::create({});
};

TEST_F(CertificateRequesterTest, AsksOncePerConnectionWhenThereIsNoCertificate) {
    CertificateRequester requester(settings_, store_, logger_);
    const auto now = std::chrono::system_clock::now();
    auto request = requester.requestIfNeeded(std::nullopt, kUid, kTakesRequests, now);
    ASSERT_TRUE(request);
    EXPECT_THAT(request->opamp().certificate_request().csr(),
                HasSubstr("-----BEGIN CERTIFICATE REQUEST-----"));
    EXPECT_THAT(readAll(store_.pathOf(CertificateRequester::kKeyFile)), HasSubstr("PRIVATE KEY"));
    EXPECT_FALSE(requester.requestIfNeeded(std::nullopt, kUid, kTakesRequests, now));
    requester.mayAskAgain();
    EXPECT_TRUE(requester.requestIfNeeded(std::nullopt, kUid, kTakesRequests, now));
    EXPECT_THAT(log(), HasSubstr("the server has issued no certificate yet"));
}

TEST_F(CertificateRequesterTest, NothingIsAskedOfAServerThatTakesNoRequestsOrWhenDisabled) {
    CertificateRequester requester(settings_, store_, logger_);
    const auto now = std::chrono::system_clock::now();
    EXPECT_FALSE(requester.requestIfNeeded(std::nullopt, kUid, 0x3F, now));
    EXPECT_THAT(log(), HasSubstr("does not take certificate requests"));
    EXPECT_FALSE(std::filesystem::exists(store_.pathOf(CertificateRequester::kKeyFile)));
    config::CertificateRequestSettings off;
    CertificateRequester disabled(off, store_, logger_);
    EXPECT_FALSE(disabled.requestIfNeeded(std::nullopt, kUid, kTakesRequests, now));
}

TEST_F(CertificateRequesterTest, TheIssuedCertificateIsPairedWithTheWaitingKeyAndKept) {
    CertificateRequester requester(settings_, store_, logger_);
    const auto now = std::chrono::system_clock::now();
    auto request = requester.requestIfNeeded(std::nullopt, kUid, kTakesRequests, now);
    ASSERT_TRUE(request);
    pb::OpAMPConnectionSettings offer;
    offer.mutable_certificate()->set_cert(issue(*request, hours(24 * 365)));
    EXPECT_EQ(requester.pairWithKey(offer, nullptr), std::nullopt);
    EXPECT_TRUE(opamp::certificateMatchesKey(offer.certificate().cert(),
                                             offer.certificate().private_key()));

    // A restarted supervisor still has the waiting key.
    CertificateRequester restarted(settings_, store_, logger_);
    pb::OpAMPConnectionSettings again;
    again.mutable_certificate()->set_cert(offer.certificate().cert());
    EXPECT_EQ(restarted.pairWithKey(again, nullptr), std::nullopt);
    restarted.committed(again);
    EXPECT_FALSE(std::filesystem::exists(store_.pathOf(CertificateRequester::kKeyFile)));

    // The certificate in use is good: nothing to ask on the next connection.
    restarted.mayAskAgain();
    EXPECT_FALSE(restarted.requestIfNeeded(offer.certificate().cert(), kUid, kTakesRequests, now));
}

TEST_F(CertificateRequesterTest, ACertificateForAnotherKeyOrWithoutARequestIsRefused) {
    CertificateRequester fresh(settings_, store_, logger_);
    pb::OpAMPConnectionSettings stray;
    stray.mutable_certificate()->set_cert(readAll(pki_.clientCert));
    EXPECT_THAT(fresh.pairWithKey(stray, nullptr).value_or(""),
                HasSubstr("no certificate request of this supervisor is waiting"));

    CertificateRequester requester(settings_, store_, logger_);
    ASSERT_TRUE(requester.requestIfNeeded(std::nullopt, kUid, kTakesRequests,
                                          std::chrono::system_clock::now()));
    EXPECT_THAT(requester.pairWithKey(stray, nullptr).value_or(""),
                HasSubstr("is not for the key of the last certificate request"));
    // An offer that brings its own key, or no certificate, passes untouched.
    pb::OpAMPConnectionSettings own;
    own.mutable_certificate()->set_cert("CERT");
    own.mutable_certificate()->set_private_key("KEY");
    EXPECT_EQ(requester.pairWithKey(own, nullptr), std::nullopt);
    EXPECT_EQ(own.certificate().private_key(), "KEY");
    pb::OpAMPConnectionSettings none;
    EXPECT_EQ(requester.pairWithKey(none, nullptr), std::nullopt);
}

TEST_F(CertificateRequesterTest, RenewsNearTheEndAndForANewInstanceUid) {
    CertificateRequester requester(settings_, store_, logger_);
    const auto now = std::chrono::system_clock::now();
    auto request = requester.requestIfNeeded(std::nullopt, kUid, kTakesRequests, now);
    ASSERT_TRUE(request);
    // Ten days of validity, renew_before 30 days: renewed in the last third.
    const std::string cert = issue(*request, hours(240));
    const auto notAfter = *opamp::certificateNotAfter(cert);
    auto asks = [&](std::chrono::system_clock::time_point at, const std::string& uid = kUid) {
        requester.mayAskAgain();
        return requester.requestIfNeeded(cert, uid, kTakesRequests, at).has_value();
    };
    EXPECT_FALSE(asks(now));
    EXPECT_FALSE(asks(notAfter - hours(81)));
    EXPECT_TRUE(asks(notAfter - hours(79)));
    EXPECT_THAT(log(), HasSubstr("the certificate in use expires within 80h"));
    // A long-lived certificate is renewed renew_before ahead.
    settings_.renewBefore = hours(48);
    EXPECT_FALSE(asks(notAfter - hours(49)));
    EXPECT_TRUE(asks(notAfter - hours(47)));
    // A new instance UID needs a certificate naming it.
    EXPECT_TRUE(asks(now, "018fe0c4-1d4a-7b5e-9c3f-000000000000"));
    EXPECT_THAT(log(), HasSubstr("is for instance " + kUid +
                                 ", not "
                                 "018fe0c4-1d4a-7b5e-9c3f-000000000000"));
}

TEST_F(CertificateRequesterTest, ACertificateTheServerNamedItselfIsNotAskedForAgain) {
    CertificateRequester requester(settings_, store_, logger_);
    // Named "opampsup test agent" by its CA, valid for a day.
    const std::string hostNamed = readAll(pki_.clientCert);
    EXPECT_FALSE(requester.requestIfNeeded(hostNamed, kUid, kTakesRequests,
                                           std::chrono::system_clock::now()));
}

TEST_F(CertificateRequesterTest, TheCertificateInUseSentAgainKeepsItsKey) {
    pb::TLSCertificate committed;
    committed.set_cert("CERT");
    committed.set_private_key("KEY");
    CertificateRequester requester(settings_, store_, logger_);
    pb::OpAMPConnectionSettings resent;
    resent.mutable_certificate()->set_cert("CERT");
    EXPECT_EQ(requester.pairWithKey(resent, &committed), std::nullopt);
    EXPECT_EQ(resent.certificate().private_key(), "KEY");
}

}  // namespace
}  // namespace opampsup::supervisor
