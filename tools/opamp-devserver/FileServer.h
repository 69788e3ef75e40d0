#pragma once

// Serving the files put through the admin API at /files/<name>, as a download server would,
// so a robust downloader can be tested against it: an ETag and Accept-Ranges on every file,
// single byte ranges (206, or 416 past the end), If-Range, and the download faults (an
// injected status, a connection cut short of Content-Length, a throttled body). Every
// request is recorded (DevServer::fileRequests) before anything else happens to it.

#include <cstdint>
#include <string>
#include <string_view>

namespace Poco::Net {
class HTTPServerRequest;
class HTTPServerResponse;
}  // namespace Poco::Net

namespace opampsup::devserver {

class DevServer;

// The part of a file a GET's Range header selects, as far as this server honours it.
struct ByteSelection {
    enum class Kind {
        Whole,          // no usable Range: malformed, several ranges, or none at all
        Part,           // bytes first..last, inclusive
        Unsatisfiable,  // starts at or past the end
    };
    Kind kind = Kind::Whole;
    std::uint64_t first = 0;
    std::uint64_t last = 0;
};

// Reads `bytes=N-`, `bytes=N-M` and `bytes=-S` (the last S bytes) against a file of `size`
// bytes; anything else selects the whole file, as servers may.
ByteSelection selectBytes(std::string_view rangeHeader, std::uint64_t size);

// Answers a GET for /files/<name>.
void serveFile(DevServer& server, Poco::Net::HTTPServerRequest& request,
               Poco::Net::HTTPServerResponse& response, const std::string& name);

}  // namespace opampsup::devserver
