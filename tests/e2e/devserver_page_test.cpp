// The dev server's web page in a real browser: headless Chromium loads the page from the
// admin listener, the page lists the real supervisor's agent and shows its description, a
// config typed into the page's form and pushed with its button reaches the agent, and the
// page shows the agent's report that it was APPLIED. Chromium is driven over the Chrome
// DevTools Protocol (JSON messages over a WebSocket), reading and acting on the live DOM.

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <Poco/Buffer.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/JSONString.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "SupervisorE2e.h"

namespace opampsup {
namespace {

using namespace std::chrono_literals;
using e2e::SupervisorE2e;
using testing::Child;
using testing::readFile;
using testing::waitUntil;

// Chromium takes a few seconds to start on a busy machine, and the page refreshes every
// 1.5 s; each wait below is bounded by this.
constexpr std::chrono::milliseconds kBrowserDeadline = 30s;

std::optional<std::filesystem::path> findInPath(const std::string& program) {
    // Read-only, and nothing in the test sets the environment.
    const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe)
    std::istringstream dirs(path != nullptr ? path : "");
    for (std::string dir; std::getline(dirs, dir, ':');) {
        std::filesystem::path candidate = std::filesystem::path(dir) / program;
        if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
    }
    return std::nullopt;
}

// A JavaScript string literal (JSON's syntax is valid JavaScript) for text put into the page.
std::string jsString(const std::string& text) {
    return Poco::toJSON(text);
}

std::string httpGet(std::uint16_t port, const std::string& path) {
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, path,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::string body;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
    return body;
}

// Headless Chromium with its DevTools endpoint on a port it picks, in a profile of its own
// under the test's directory. It runs through setsid, which (the spawned child being no
// group leader) execs it as the leader of a new session: the teardown then kills the
// browser together with its zygote, GPU and renderer processes.
class HeadlessChromium {
  public:
    HeadlessChromium(const testing::TempDir& dir, const std::filesystem::path& chromium)
        : profile_(dir.path() / "chromium-profile"),
          child_(dir, "setsid",
                 {chromium.string(), "--headless=new", "--no-sandbox", "--disable-gpu",
                  "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--remote-debugging-port=0",
                  "--user-data-dir=" + profile_.string(), "about:blank"},
                 // Nothing it writes lands in the real home directory.
                 {{"HOME", (dir.path() / "chromium-home").string()}}) {}

    ~HeadlessChromium() {
        // The session's process group outlives a browser that already exited while its
        // helpers remain, and its id cannot be reused before they are gone.
        kill(-child_.pid(), SIGKILL);
    }

    HeadlessChromium(const HeadlessChromium&) = delete;
    HeadlessChromium& operator=(const HeadlessChromium&) = delete;

    // The DevTools port, from the file Chromium writes once it listens; nullopt when it
    // exits first or does not get there in time.
    std::optional<std::uint16_t> waitForDevToolsPort() {
        const std::filesystem::path file = profile_ / "DevToolsActivePort";
        std::string content;
        waitUntil(
            [&] {
                content = readFile(file);
                // The port line is complete once its newline is there.
                return content.find('\n') != std::string::npos || child_.poll().has_value();
            },
            kBrowserDeadline);
        if (content.find('\n') == std::string::npos) {
            return std::nullopt;
        }
        return static_cast<std::uint16_t>(std::stoul(content.substr(0, content.find('\n'))));
    }

    std::string log() const { return child_.out() + child_.err(); }

  private:
    std::filesystem::path profile_;
    Child child_;
};

// One browser tab, driven over the Chrome DevTools Protocol: each command is a JSON message
// with an id on the tab's WebSocket, and the answer carrying the same id is its result.
class DevToolsPage {
  public:
    explicit DevToolsPage(std::uint16_t port) : session_("127.0.0.1", port) {
        const std::string path = Poco::URI(pageWebSocketUrl(port)).getPathEtc();
        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, path,
                                       Poco::Net::HTTPMessage::HTTP_1_1);
        Poco::Net::HTTPResponse response;
        socket_ = std::make_unique<Poco::Net::WebSocket>(session_, request, response);
        socket_->setReceiveTimeout(Poco::Timespan(10, 0));
        socket_->setMaxPayloadSize(16 * 1024 * 1024);
    }

    void navigate(const std::string& url) {
        Poco::JSON::Object::Ptr params = new Poco::JSON::Object;
        params->set("url", url);
        auto result = call("Page.navigate", params);
        if (result->has("errorText")) {
            throw std::runtime_error("cannot load " + url + ": " +
                                     result->getValue<std::string>("errorText"));
        }
    }

    // The value of a JavaScript expression in the page, as text; nullopt when it threw or
    // gave nothing (as between two documents).
    std::optional<std::string> evaluate(const std::string& expression) {
        Poco::JSON::Object::Ptr params = new Poco::JSON::Object;
        params->set("expression", expression);
        params->set("returnByValue", true);
        auto answer = call("Runtime.evaluate", params);
        auto result = answer->getObject("result");
        if (answer->has("exceptionDetails") || !result || !result->has("value")) {
            return std::nullopt;
        }
        return result->get("value").convert<std::string>();
    }

  private:
    // The tab Chromium opened with about:blank, once it lists it.
    static std::string pageWebSocketUrl(std::uint16_t port) {
        std::string url;
        waitUntil(
            [&] {
                auto targets = Poco::JSON::Parser()
                                   .parse(httpGet(port, "/json/list"))
                                   .extract<Poco::JSON::Array::Ptr>();
                for (std::size_t i = 0; targets && i < targets->size(); ++i) {
                    auto target = targets->getObject(static_cast<unsigned>(i));
                    if (target->optValue<std::string>("type", "") == "page") {
                        url = target->getValue<std::string>("webSocketDebuggerUrl");
                        return true;
                    }
                }
                return false;
            },
            kBrowserDeadline);
        if (url.empty()) {
            throw std::runtime_error("Chromium lists no page target");
        }
        return url;
    }

    Poco::JSON::Object::Ptr call(const std::string& method, const Poco::JSON::Object::Ptr& params) {
        const int id = ++lastId_;
        Poco::JSON::Object command;
        command.set("id", id);
        command.set("method", method);
        command.set("params", params);
        std::ostringstream text;
        command.stringify(text);
        const std::string frame = text.str();
        socket_->sendFrame(frame.data(), static_cast<int>(frame.size()),
                           Poco::Net::WebSocket::FRAME_TEXT);
        // Anything else on the socket (events, late answers) is not this command's answer.
        for (;;) {
            auto message = receiveMessage();
            if (message->optValue<int>("id", 0) != id) {
                continue;
            }
            if (auto error = message->getObject("error")) {
                throw std::runtime_error(
                    method + " failed: " + error->optValue<std::string>("message", "?"));
            }
            return message->getObject("result");
        }
    }

    // One whole message, its continuation frames included.
    Poco::JSON::Object::Ptr receiveMessage() {
        Poco::Buffer<char> buffer(0);
        int flags = 0;
        do {
            if (socket_->receiveFrame(buffer, flags) == 0 && flags == 0) {
                throw std::runtime_error("Chromium closed the DevTools connection");
            }
        } while ((flags & Poco::Net::WebSocket::FRAME_FLAG_FIN) == 0);
        return Poco::JSON::Parser()
            .parse(std::string(buffer.begin(), buffer.size()))
            .extract<Poco::JSON::Object::Ptr>();
    }

    Poco::Net::HTTPClientSession session_;
    std::unique_ptr<Poco::Net::WebSocket> socket_;
    int lastId_ = 0;
};

class DevServerPage : public SupervisorE2e {
  protected:
    void SetUp() override {
        chromium_ = findInPath("chromium");
        if (!chromium_) {
            GTEST_SKIP() << "Debian's chromium package is not installed (scripts/install-deps.sh "
                            "installs it); the web page test needs a real browser";
        }
    }

    // The supervisor as the remote-config tests run it: over WebSocket, with the stand-in
    // collector and no local config, taking whatever the server pushes.
    std::filesystem::path acceptingSupervisorConfig() {
        return supervisorConfig(server_.endpoint("ws"),
                                "  reports_health: true\n  reports_effective_config: true\n"
                                "  accepts_remote_config: true\n",
                                std::string("  executable: ") + OTELCOL_STANDIN_PATH +
                                    "\n  config_apply_timeout: 3s\n");
    }

    // A config whose traces pipeline writes the stand-in's data to `out`.
    static std::string producing(const std::filesystem::path& out) {
        return "receivers:\n  standin:\n    interval: 50ms\n"
               "exporters:\n  file:\n    path: " +
               out.string() +
               "\nservice:\n  pipelines:\n    traces:\n      receivers: [standin]\n"
               "      exporters: [file]\n";
    }

    // What `expression` shows once `ready` accepts it, or the last thing it showed (or
    // "(nothing)") when the deadline passes first; the caller checks it, so a failure says
    // what the page had.
    static std::string waitForPage(DevToolsPage& page, const std::string& expression,
                                   const std::function<bool(const std::string&)>& ready) {
        std::string last = "(nothing)";
        waitUntil(
            [&] {
                auto value = page.evaluate(expression);
                if (!value) {
                    return false;
                }
                last = *value;
                return ready(last);
            },
            kBrowserDeadline);
        return last;
    }

    static std::function<bool(const std::string&)> is(const std::string& expected) {
        return [expected](const std::string& value) { return value == expected; };
    }

    std::optional<std::filesystem::path> chromium_;
};

// Expressions reading the page, each giving text.

// The agent's row in the agents list, its cells joined by " | "; "" while it is not there.
std::string agentRow(const std::string& uid) {
    return "[...(document.getElementById(" + jsString("agent-" + uid) +
           ")?.cells ?? [])].map(cell => cell.textContent).join(' | ')";
}

std::string descriptionValue(const std::string& key) {
    return "[...document.querySelectorAll('#description tbody tr')]"
           ".filter(row => row.cells[0].textContent === " +
           jsString(key) + ").map(row => row.cells[1].textContent).join(' | ')";
}

std::string textOf(const std::string& id) {
    return "document.getElementById(" + jsString(id) + ").textContent";
}

// The remote config section as one line: "status | hash | error".
std::string remoteConfigLine() {
    return textOf("remote-config-status") + " + ' | ' + " + textOf("remote-config-hash") +
           " + ' | ' + " + textOf("remote-config-error");
}

TEST_F(DevServerPage, ListsTheAgentAndPushesAConfigTheAgentApplies) {
    // Started first: the browser comes up while the supervisor bootstraps.
    HeadlessChromium browser(dir_, *chromium_);
    auto supervisor = startSupervisor(acceptingSupervisorConfig());
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());

    auto port = browser.waitForDevToolsPort();
    ASSERT_TRUE(port) << "Chromium did not open its DevTools port:\n" << browser.log();
    DevToolsPage page(*port);
    page.navigate(server_.server().pageUrl());

    // The agents list: the agent, connected, named as its description says, and healthy.
    const std::string row = uid + " | yes | otelcol-standin | 0.130.0 | yes";
    ASSERT_EQ(waitForPage(page, agentRow(uid), is(row)), row);

    // Its details, once clicked.
    ASSERT_EQ(page.evaluate("document.getElementById(" + jsString("agent-" + uid) +
                            ").click(), 'clicked'"),
              "clicked");
    ASSERT_EQ(waitForPage(page, textOf("detail-uid"), is(uid)), uid);
    EXPECT_EQ(waitForPage(page, descriptionValue("service.name"), is("otelcol-standin")),
              "otelcol-standin");

    // A config typed into the form and pushed with the button.
    const auto out = dir_.path() / "pushed.jsonl";
    ASSERT_EQ(
        page.evaluate("document.getElementById('config-text').value = " + jsString(producing(out)) +
                      ", document.getElementById('push-config').click(), 'pushed'"),
        "pushed");
    const std::string hash =
        waitForPage(page, "document.getElementById('push-result').dataset.hash ?? ''",
                    [](const std::string& value) { return !value.empty(); });
    ASSERT_EQ(hash.size(), 64U) << "the page shows no config hash after the push: " << hash;
    EXPECT_EQ(server_.agent(uid)->getValue<std::string>("desired_config_hash"), hash)
        << "the server did not get the config from the page";

    // The page follows the agent's reports to APPLIED, for this very config.
    const std::string applied = "APPLIED | " + hash + " | ";
    ASSERT_EQ(waitForPage(page, remoteConfigLine(), is(applied)), applied)
        << "the supervisor's log:\n"
        << logOf(*supervisor);
    // What the page says is what happened: the server has the report, the collector runs
    // the config the page sent, and the page shows it as the effective config.
    auto status = server_.agent(uid)->getObject("remote_config_status");
    EXPECT_EQ(status->getValue<std::string>("status"), "RemoteConfigStatuses_APPLIED");
    EXPECT_EQ(status->getValue<std::string>("last_remote_config_hash"), hash);
    EXPECT_TRUE(waitUntil([&] { return !testing::completeLines(out).empty(); }))
        << logOf(*supervisor);
    EXPECT_EQ(waitForPage(page,
                          textOf("effective-config") + ".includes(" + jsString(out.string()) +
                              ") ? 'shown' : 'missing'",
                          is("shown")),
              "shown");
}

}  // namespace
}  // namespace opampsup
