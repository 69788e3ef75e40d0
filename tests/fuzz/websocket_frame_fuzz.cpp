// Fuzzes how a WebSocket connection's bytes become OpAMP messages: RFC 6455 frames read by
// Poco's WebSocket::receiveFrame from a real socket (the reader the transport and the local
// server use), the opcode handling of WebSocketTransport::run, and the message assembler
// and OpAMP header (WsMessageAssembler, unframeWsMessage) that gather fragmented messages.
//
// Input: one options byte, then
//   - stream mode (bit 1 clear): the raw bytes the peer sends, read as frames until the
//     connection ends or is refused;
//   - record mode (bit 1 set): the assembler fed directly, each record being a flags byte
//     (bit 0 FIN, bit 1 continuation) and a length byte followed by that many bytes.
// Bit 0 picks the side: the client (its frames come from the server and carry ServerToAgent)
// or the local server (masked frames from the collector carrying AgentToServer). The upper
// bits set the message size limit, small so that inputs reach it: 16 << bits 2-5 bytes (at
// most 64 KiB) in stream mode, 4 * bits 2-7 in record mode.
//
// Expected outcomes: a Poco::Exception from the reader (the transport and the local server
// catch those), a WsFramingError, a payload that does not parse. Findings: a crash, a
// sanitizer report, any other exception, a hang, or a broken promise of the assembler (a
// payload over its limit, a buffer kept after release()).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <Poco/Buffer.h>
#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/StreamSocketImpl.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/Net/WebSocketImpl.h>
#include <google/protobuf/stubs/logging.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/opamp/ServerMessage.h"
#include "core/opamp/Uuid.h"
#include "core/opamp/WsFraming.h"
#include "fuzz/FuzzSupport.h"
#include "opamp.pb.h"

namespace {

using opampsup::fuzz::finding;
using opampsup::opamp::WsFramingError;
using opampsup::opamp::WsMessage;
using opampsup::opamp::WsMessageAssembler;
using Poco::Net::WebSocket;

// The peer's bytes in stream mode are bounded so they fit a socket buffer at once.
constexpr std::size_t kMaxStreamBytes = 64 * 1024;

const opampsup::opamp::Uuid& instanceUid() {
    static const auto uid = *opampsup::opamp::Uuid::parse("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    return uid;
}

// What the receiving side does with a complete message.
void deliver(std::string_view payload, bool clientSide, std::size_t maxBytes) {
    if (payload.size() > maxBytes) {
        finding("the assembler delivered " + std::to_string(payload.size()) +
                " bytes past its limit of " + std::to_string(maxBytes));
    }
    if (clientSide) {
        ::opamp::proto::ServerToAgent message;
        if (message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
            (void)opampsup::opamp::interpretServerMessage(std::move(message), instanceUid());
        }
    } else {
        ::opamp::proto::AgentToServer message;
        (void)message.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
    }
}

// One data frame into the assembler, as the transport does it. False when the connection
// would be closed.
bool assemble(WsMessageAssembler& assembler, std::string_view frame, bool continuation, bool fin,
              bool clientSide, std::size_t maxBytes) {
    auto assembled = assembler.add(frame, continuation, fin);
    if (std::holds_alternative<WsMessageAssembler::Incomplete>(assembled)) {
        return true;
    }
    if (std::holds_alternative<WsFramingError>(assembled)) {
        return false;
    }
    std::string payload(std::get<WsMessage>(assembled).payload);
    assembler.release();
    if (assembler.retainedBytes() > opampsup::opamp::kKeptBufferBytes) {
        finding("the assembler kept " + std::to_string(assembler.retainedBytes()) +
                " bytes after release()");
    }
    deliver(payload, clientSide, maxBytes);
    return true;
}

// The peer's bytes through a socket pair, read with Poco's frame reader the way
// WebSocketTransport::run and LocalOpampServer::serve read them.
void streamMode(const std::uint8_t* data, std::size_t size, bool clientSide, int maxPayload) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
        finding("socketpair failed");
    }
    size = std::min(size, kMaxStreamBytes);
    std::size_t sent = 0;
    while (sent < size) {
        ssize_t n = ::send(fds[1], data + sent, size - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n <= 0) {
            break;  // the buffer is full: the rest is not sent, as if the peer went away
        }
        sent += static_cast<std::size_t>(n);
    }
    ::close(fds[1]);  // the peer has said everything

    // As WebSocket(HTTPClientSession&, ...) does after the upgrade: the session's socket is
    // detached and wrapped. The client expects unmasked frames and masks its own.
    Poco::Net::HTTPClientSession session{Poco::Net::StreamSocket(
        new Poco::Net::StreamSocketImpl(static_cast<poco_socket_t>(fds[0])))};
    Poco::Net::StreamSocket raw = session.detachSocket();
    WebSocket ws(Poco::Net::StreamSocket(new Poco::Net::WebSocketImpl(
        static_cast<Poco::Net::StreamSocketImpl*>(raw.impl()), session, clientSide)));
    ws.setMaxPayloadSize(maxPayload);
    ws.setReceiveTimeout(Poco::Timespan(1, 0));

    const auto maxBytes = static_cast<std::size_t>(maxPayload);
    WsMessageAssembler assembler(maxBytes);
    Poco::Buffer<char> frame(0);
    try {
        while (true) {
            frame.resize(0);
            int flags = 0;
            int n = ws.receiveFrame(frame, flags);
            if (n == 0 && flags == 0) {
                return;  // the peer closed the connection
            }
            if (n < 0 || static_cast<std::size_t>(n) > frame.size()) {
                finding("receiveFrame returned " + std::to_string(n) + " for a buffer of " +
                        std::to_string(frame.size()));
            }
            int opcode = flags & WebSocket::FRAME_OP_BITMASK;
            bool fin = (flags & WebSocket::FRAME_FLAG_FIN) != 0;
            if (opcode == WebSocket::FRAME_OP_PING || opcode == WebSocket::FRAME_OP_PONG) {
                continue;  // answered (a ping) or only noted
            }
            if (opcode == WebSocket::FRAME_OP_CLOSE || opcode == WebSocket::FRAME_OP_TEXT) {
                return;  // the connection is closed
            }
            std::string_view payload(frame.begin(), static_cast<std::size_t>(n));
            if (!assemble(assembler, payload, opcode == WebSocket::FRAME_OP_CONT, fin, clientSide,
                          maxBytes)) {
                return;
            }
        }
    } catch (const Poco::Exception&) {
        // A malformed or oversized frame, or the connection ending inside one: both the
        // transport and the local server catch these and close the connection.
    }
}

// Records straight into the assembler.
void recordMode(const std::uint8_t* data, std::size_t size, bool clientSide, std::size_t maxBytes) {
    WsMessageAssembler assembler(maxBytes);
    std::size_t at = 0;
    while (at + 2 <= size) {
        const std::uint8_t flags = data[at];
        const std::size_t length = std::min<std::size_t>(data[at + 1], size - at - 2);
        std::string_view frame(reinterpret_cast<const char*>(data + at + 2), length);
        at += 2 + length;
        // A refused message ends the connection in the transport; here the assembler must
        // also stay usable when it is fed on regardless.
        (void)assemble(assembler, frame, (flags & 2U) != 0, (flags & 1U) != 0, clientSide,
                       maxBytes);
    }
}

}  // namespace

// protobuf logs each string field with invalid UTF-8 it parses; fuzzed input has many.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
    google::protobuf::SetLogHandler(nullptr);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    const std::uint8_t options = data[0];
    const bool clientSide = (options & 1U) == 0;
    if ((options & 2U) == 0) {
        // 16 bytes up to 64 KiB, the limits that matter for small inputs.
        const int maxPayload = 16 << ((options >> 2) & 0x0FU);
        streamMode(data + 1, size - 1, clientSide, std::min(maxPayload, 64 * 1024));
    } else {
        recordMode(data + 1, size - 1, clientSide, static_cast<std::size_t>(options >> 2) * 4);
    }
    return 0;
}
