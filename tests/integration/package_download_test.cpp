// The package downloader against the dev server's file endpoint on loopback: whole files,
// resumption, retries, refusals, limits, TLS with the configured CA, a CONNECT proxy,
// redirects and cancellation.

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/packages/Downloader.h"
#include "support/ChildRun.h"
#include "support/DevServerFixture.h"
#include "support/TempDir.h"
#include "support/TestConnectProxy.h"
#include "support/TestPki.h"

namespace opampsup::packages {
namespace {

using ::testing::HasSubstr;

std::string pattern(std::size_t size) {
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        out[i] = static_cast<char>('a' + (i * 7) % 26);
    }
    return out;
}

// Answers every request with a redirect to `target`.
class Redirector {
  public:
    explicit Redirector(std::string target)
        : server_(new Factory(std::move(target)), Poco::Net::ServerSocket(0),
                  new Poco::Net::HTTPServerParams) {
        server_.start();
    }
    ~Redirector() { server_.stopAll(true); }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(server_.port()) + path;
    }

  private:
    class Handler : public Poco::Net::HTTPRequestHandler {
      public:
        explicit Handler(std::string target) : target_(std::move(target)) {}
        void handleRequest(Poco::Net::HTTPServerRequest&,
                           Poco::Net::HTTPServerResponse& response) override {
            response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_FOUND);
            response.set("Location", target_);
            response.setContentLength(0);
            response.send();
        }

      private:
        std::string target_;
    };
    class Factory : public Poco::Net::HTTPRequestHandlerFactory {
      public:
        explicit Factory(std::string target) : target_(std::move(target)) {}
        Poco::Net::HTTPRequestHandler* createRequestHandler(
            const Poco::Net::HTTPServerRequest&) override {
            return new Handler(target_);
        }

      private:
        std::string target_;
    };
    Poco::Net::HTTPServer server_;
};

class PackageDownload : public ::testing::Test {
  protected:
    Downloader::Connection quick() const {
        Downloader::Connection c;
        c.userAgent = "opampsupervisor/test";
        c.attempts = 3;
        c.firstRetryDelay = std::chrono::milliseconds(20);
        c.timeout = std::chrono::seconds(5);
        return c;
    }

    Downloader::Request request(const std::string& url, std::uint64_t maxBytes = 1 << 30) const {
        Downloader::Request r;
        r.url = url;
        r.partFile = dir_.path() / "file.part";
        r.maxBytes = maxBytes;
        return r;
    }

    std::string downloaded() const { return testing::readFile(dir_.path() / "file.part"); }

    testing::TempDir dir_;
    testing::DevServerFixture server_;
};

TEST_F(PackageDownload, FetchesTheWholeFileAndReportsProgress) {
    const std::string content = pattern(3 << 20);
    auto served = server_.putFile("big", content);
    std::vector<DownloadProgress> seen;
    auto r = request(served.url);
    r.headers = {{"X-Token", "abc"}};
    Downloader(quick()).run(r, [&](const DownloadProgress& p) { seen.push_back(p); });
    EXPECT_EQ(downloaded(), content);
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back().received, content.size());
    EXPECT_EQ(seen.back().total, content.size());
    EXPECT_GT(seen.back().bytesPerSecond, 0);
    auto headers = server_.lastFileRequestHeaders("big");
    EXPECT_EQ(headers["X-Token"], "abc");
    EXPECT_EQ(headers["User-Agent"], "opampsupervisor/test");
    EXPECT_EQ(headers.count("Range"), 0U);
    EXPECT_EQ(std::filesystem::status(dir_.path() / "file.part").permissions(),
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(PackageDownload, ResumesFromWhatIsOnDisk) {
    const std::string content = pattern(100000);
    auto served = server_.putFile("f", content);
    std::ofstream(dir_.path() / "file.part", std::ios::binary) << content.substr(0, 1234);
    Downloader(quick()).run(request(served.url), nullptr);
    EXPECT_EQ(downloaded(), content);
    EXPECT_EQ(server_.fileRequestRanges("f"), (std::vector<std::string>{"bytes=1234-"}));
}

TEST_F(PackageDownload, AFileAlreadyWholeOnDiskIsKept) {
    const std::string content = pattern(5000);
    auto served = server_.putFile("f", content);
    std::ofstream(dir_.path() / "file.part", std::ios::binary) << content;
    Downloader(quick()).run(request(served.url), nullptr);
    EXPECT_EQ(downloaded(), content);
    EXPECT_EQ(server_.fileRequestCount("f"), 1);
}

TEST_F(PackageDownload, MoreOnDiskThanTheFileHasStartsOver) {
    const std::string content = pattern(5000);
    auto served = server_.putFile("f", content);
    std::ofstream(dir_.path() / "file.part", std::ios::binary) << pattern(9000);
    Downloader(quick()).run(request(served.url), nullptr);
    EXPECT_EQ(downloaded(), content);
    EXPECT_EQ(server_.fileRequestRanges("f"), (std::vector<std::string>{"bytes=9000-", ""}));
}

TEST_F(PackageDownload, ACutAndA503AreRetried) {
    const std::string content = pattern(200000);
    auto served = server_.putFile("f", content);
    server_.cutDownloads(50000, 1);
    Downloader(quick()).run(request(served.url), nullptr);
    EXPECT_EQ(downloaded(), content);
    EXPECT_EQ(server_.fileRequestRanges("f"), (std::vector<std::string>{"", "bytes=50000-"}));

    std::filesystem::remove(dir_.path() / "file.part");
    server_.failDownloads(503, 2);
    Downloader(quick()).run(request(served.url), nullptr);
    EXPECT_EQ(downloaded(), content);
}

TEST_F(PackageDownload, AFailureThatKeepsComingEndsTheDownloadNamingIt) {
    auto served = server_.putFile("f", pattern(1000));
    server_.failDownloads(500, 10);
    try {
        Downloader(quick()).run(request(served.url), nullptr);
        FAIL() << "no error";
    } catch (const DownloadError& e) {
        EXPECT_THAT(e.what(), HasSubstr("3 attempts without progress"));
        EXPECT_THAT(e.what(), HasSubstr("HTTP 500"));
    }
    EXPECT_EQ(server_.fileRequestCount("f"), 3);
}

TEST_F(PackageDownload, ARefusalEndsItAtOnce) {
    auto served = server_.putFile("f", pattern(1000));
    server_.failDownloads(403, 1);
    EXPECT_THROW(
        {
            try {
                Downloader(quick()).run(request(served.url), nullptr);
            } catch (const DownloadError& e) {
                EXPECT_THAT(e.what(), HasSubstr("HTTP 403"));
                throw;
            }
        },
        DownloadError);
    EXPECT_EQ(server_.fileRequestCount("f"), 1);
}

TEST_F(PackageDownload, AFileOverTheLimitIsRefused) {
    auto served = server_.putFile("f", pattern(3 << 20));
    try {
        Downloader(quick()).run(request(served.url, 2 << 20), nullptr);
        FAIL() << "no error";
    } catch (const DownloadError& e) {
        EXPECT_THAT(e.what(), HasSubstr("the file is 3145728 bytes, over "
                                        "agent.package.max_download_size_mib (2 MiB)"));
    }
}

TEST_F(PackageDownload, OnlyHttpAndHttpsAreUsed) {
    EXPECT_THROW(Downloader(quick()).run(request("file:///etc/passwd"), nullptr), DownloadError);
    EXPECT_THROW(Downloader(quick()).run(request("ftp://127.0.0.1/x"), nullptr), DownloadError);
}

TEST_F(PackageDownload, HttpsIsVerifiedWithTheConfiguredCa) {
    testing::TestPki pki(dir_.path(), {"localhost", "127.0.0.1"});
    testing::DevServerFixture tls(
        testing::DevServerFixture::Tls{pki.serverCert.string(), pki.serverKey.string(), ""});
    const std::string content = pattern(10000);
    tls.putFile("f", content);
    std::string url = tls.endpoint("https");
    url = url.substr(0, url.find("/v1/opamp")) + "/files/f";

    Downloader::Connection trusted = quick();
    trusted.tls = config::TlsClientSettings{};
    trusted.tls->caFile = pki.caCert.string();
    Downloader(trusted).run(request(url), nullptr);
    EXPECT_EQ(downloaded(), content);

    std::filesystem::remove(dir_.path() / "file.part");
    Downloader::Connection other = quick();
    other.tls = config::TlsClientSettings{};
    other.tls->caFile = pki.otherCaCert.string();
    EXPECT_THROW(Downloader(other).run(request(url), nullptr), DownloadError);
    EXPECT_FALSE(std::filesystem::exists(dir_.path() / "file.part"));
}

TEST_F(PackageDownload, GoesThroughTheProxy) {
    testing::TestConnectProxy proxy;
    const std::string content = pattern(10000);
    auto served = server_.putFile("f", content);
    Downloader::Connection c = quick();
    c.proxyFor = [&](const std::string&) {
        return std::optional<opamp::ProxyRoute>(
            opamp::ProxyRoute{"127.0.0.1", proxy.port(), {}, "test"});
    };
    Downloader(c).run(request(served.url), nullptr);
    EXPECT_EQ(downloaded(), content);
    auto connect = proxy.requests().pop();
    ASSERT_TRUE(connect);
    EXPECT_THAT((*connect)["target"], HasSubstr("127.0.0.1:"));
}

// A redirect is followed; the offer's headers go only to the host it named.
TEST_F(PackageDownload, FollowsRedirectsKeepingHeadersToTheOfferedHost) {
    const std::string content = pattern(10000);
    auto served = server_.putFile("f", content);
    std::string elsewhere = served.url;
    elsewhere.replace(elsewhere.find("127.0.0.1"), 9, "localhost");
    Redirector redirector(elsewhere);
    auto r = request(redirector.url("/download"));
    r.headers = {{"X-Token", "secret"}};
    Downloader(quick()).run(r, nullptr);
    EXPECT_EQ(downloaded(), content);
    EXPECT_EQ(server_.lastFileRequestHeaders("f").count("X-Token"), 0U)
        << "the offer's headers went to another host";
}

TEST_F(PackageDownload, CancelEndsADownloadInProgress) {
    auto served = server_.putFile("f", pattern(1 << 20));
    server_.throttleDownloads(20000);
    Downloader downloader(quick());
    auto running = std::async(std::launch::async, [&] {
        try {
            downloader.run(request(served.url), nullptr);
        } catch (const DownloadCancelled&) {
            return std::string("cancelled");
        } catch (const std::exception& e) {
            return std::string(e.what());
        }
        return std::string("finished");
    });
    ASSERT_TRUE(testing::waitUntil([&] { return server_.fileRequestCount("f") == 1; }));
    downloader.cancel();
    ASSERT_EQ(running.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    EXPECT_EQ(running.get(), "cancelled");
    server_.throttleDownloads(0);
}

}  // namespace
}  // namespace opampsup::packages
