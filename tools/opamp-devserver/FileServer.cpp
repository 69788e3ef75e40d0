#include "FileServer.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <limits>
#include <optional>
#include <ostream>
#include <thread>

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/String.h>

#include "DevServer.h"

namespace opampsup::devserver {
using Poco::Net::HTTPResponse;

namespace {

// Throttled bodies go out in chunks of at most this, with a pause after each.
constexpr std::size_t kThrottleChunkBytes = 4096;

std::string_view trim(std::string_view text) {
    auto isSpace = [](char c) { return c == ' ' || c == '\t'; };
    while (!text.empty() && isSpace(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && isSpace(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

// A byte position: digits only. Too large a number saturates, so a start past any file is
// still past the end rather than malformed.
std::optional<std::uint64_t> parsePosition(std::string_view text) {
    if (text.empty() ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc::result_out_of_range) {
        return std::numeric_limits<std::uint64_t>::max();
    }
    return value;
}

ByteSelection part(std::uint64_t first, std::uint64_t last) {
    return {ByteSelection::Kind::Part, first, last};
}

ByteSelection unsatisfiable() {
    return {ByteSelection::Kind::Unsatisfiable, 0, 0};
}

// `-S`: the last S bytes, or the whole file when it is shorter.
ByteSelection selectSuffix(std::string_view lengthText, std::uint64_t size) {
    auto length = parsePosition(lengthText);
    if (!length) {
        return {};
    }
    if (*length == 0 || size == 0) {
        return unsatisfiable();
    }
    return part(size - std::min(*length, size), size - 1);
}

std::string quoted(const std::string& text) {
    return "\"" + text + "\"";
}

void sendText(Poco::Net::HTTPServerResponse& response, int status, const std::string& text) {
    response.setStatusAndReason(static_cast<HTTPResponse::HTTPStatus>(status));
    response.setContentType("text/plain");
    response.setContentLength(static_cast<std::streamsize>(text.size()));
    response.send() << text;
}

DevServer::Headers headersAsSent(const Poco::Net::HTTPServerRequest& request) {
    DevServer::Headers headers;
    for (const auto& [name, value] : request) {
        headers.emplace_back(name, value);
    }
    return headers;
}

// A Range applies only while the file is still the one the client saw (If-Range, RFC 9110
// 13.1.5); after a change the client must get the whole new file. No Last-Modified is
// sent, so only the ETag can match.
bool rangeStillApplies(const Poco::Net::HTTPServerRequest& request, const std::string& etag) {
    std::string ifRange = request.get("If-Range", "");
    return ifRange.empty() || ifRange == etag;
}

// Counts a body being sent for as long as it lives.
class DownloadInProgress {
  public:
    explicit DownloadInProgress(DevServer& server) : server_(server) { server_.downloadStarted(); }
    ~DownloadInProgress() { server_.downloadEnded(); }
    DownloadInProgress(const DownloadInProgress&) = delete;
    DownloadInProgress& operator=(const DownloadInProgress&) = delete;

  private:
    DevServer& server_;
};

std::size_t throttledChunkBytes(std::uint64_t bytesPerSecond) {
    // About ten chunks a second at low rates, so progress stays visible.
    return static_cast<std::size_t>(
        std::clamp<std::uint64_t>(bytesPerSecond / 10, 1, kThrottleChunkBytes));
}

// Writes `bytes`, paced by the download throttle when one is set. False when a write failed
// (the client went away) or the server is stopping: either ends the download at once.
bool writeBody(DevServer& server, std::ostream& out, std::string_view bytes) {
    std::size_t offset = 0;
    while (offset < bytes.size()) {
        std::uint64_t rate = server.faults().downloadThrottle();
        std::size_t chunk = bytes.size() - offset;
        if (rate != 0) {
            chunk = std::min(chunk, throttledChunkBytes(rate));
        }
        out.write(bytes.data() + offset, static_cast<std::streamsize>(chunk));
        out.flush();
        if (!out || server.stopping()) {
            return false;
        }
        offset += chunk;
        if (rate != 0 && offset < bytes.size()) {
            std::this_thread::sleep_for(std::chrono::microseconds(chunk * 1000000 / rate));
        }
    }
    return true;
}

void shutDownConnection(Poco::Net::HTTPServerRequest& request) {
    try {
        static_cast<Poco::Net::HTTPServerRequestImpl&>(request).socket().shutdown();
    } catch (const Poco::Exception&) {
        // Already gone.
    }
}

// Sends `body` with its full Content-Length; an armed cut stops it short and ends the
// connection, as a failing network would.
void sendBody(DevServer& server, Poco::Net::HTTPServerRequest& request,
              Poco::Net::HTTPServerResponse& response, std::string_view body,
              const std::string& name) {
    DownloadInProgress counted(server);
    response.setContentLength64(static_cast<Poco::Int64>(body.size()));
    std::optional<std::uint64_t> cut = server.faults().takeDownloadCut();
    std::string_view sent = body;
    if (cut) {
        sent = body.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(*cut, body.size())));
    }
    std::ostream& out = response.send();
    bool delivered = writeBody(server, out, sent);
    if (cut) {
        shutDownConnection(request);
        server.log("cut the download of " + name + " after " + std::to_string(sent.size()) +
                   " of " + std::to_string(body.size()) + " bytes (injected fault)");
    } else if (!delivered) {
        server.log("the download of " + name + " ended early: the client went away");
    }
}

void refuseRange(Poco::Net::HTTPServerResponse& response, std::uint64_t size) {
    response.set("Content-Range", "bytes */" + std::to_string(size));
    sendText(response, HTTPResponse::HTTP_REQUESTED_RANGE_NOT_SATISFIABLE,
             "the range starts past the end of the file (" + std::to_string(size) + " bytes)\n");
}

}  // namespace

ByteSelection selectBytes(std::string_view rangeHeader, std::uint64_t size) {
    constexpr std::string_view kUnit = "bytes=";
    std::string_view header = trim(rangeHeader);
    if (header.size() < kUnit.size() ||
        Poco::icompare(std::string(header.substr(0, kUnit.size())), std::string(kUnit)) != 0) {
        return {};
    }
    std::string_view spec = trim(header.substr(kUnit.size()));
    auto dash = spec.find('-');
    if (spec.find(',') != std::string_view::npos || dash == std::string_view::npos) {
        return {};  // several ranges or none: the whole file
    }
    std::string_view firstText = trim(spec.substr(0, dash));
    std::string_view lastText = trim(spec.substr(dash + 1));
    if (firstText.empty()) {
        return selectSuffix(lastText, size);
    }
    auto first = parsePosition(firstText);
    if (!first) {
        return {};
    }
    std::uint64_t last = std::numeric_limits<std::uint64_t>::max();
    if (!lastText.empty()) {
        auto given = parsePosition(lastText);
        if (!given || *given < *first) {
            return {};
        }
        last = *given;
    }
    if (*first >= size) {
        return unsatisfiable();
    }
    return part(*first, std::min(last, size - 1));
}

void serveFile(DevServer& server, Poco::Net::HTTPServerRequest& request,
               Poco::Net::HTTPServerResponse& response, const std::string& name) {
    server.recordFileRequest(name, headersAsSent(request));
    if (auto status = server.faults().takeDownloadFailure()) {
        sendText(response, *status, "download refused (injected fault)\n");
        server.log("answered a download of " + name + " with HTTP " + std::to_string(*status) +
                   " (injected fault)");
        return;
    }
    auto file = server.servedFile(name);
    if (!file) {
        sendText(response, HTTPResponse::HTTP_NOT_FOUND, "no file named " + name + "\n");
        return;
    }
    const std::string& content = *file->content;
    std::string etag = quoted(file->sha256);
    ByteSelection selection;
    if (rangeStillApplies(request, etag)) {
        selection = selectBytes(request.get("Range", ""), content.size());
    }
    if (selection.kind == ByteSelection::Kind::Unsatisfiable) {
        refuseRange(response, content.size());
        return;
    }
    response.setContentType("application/octet-stream");
    response.set("Accept-Ranges", "bytes");
    response.set("ETag", etag);
    std::string_view body = content;
    if (selection.kind == ByteSelection::Kind::Part) {
        response.setStatusAndReason(HTTPResponse::HTTP_PARTIAL_CONTENT);
        response.set("Content-Range", "bytes " + std::to_string(selection.first) + "-" +
                                          std::to_string(selection.last) + "/" +
                                          std::to_string(content.size()));
        body = body.substr(static_cast<std::size_t>(selection.first),
                           static_cast<std::size_t>(selection.last - selection.first + 1));
    }
    sendBody(server, request, response, body, name);
}

}  // namespace opampsup::devserver
