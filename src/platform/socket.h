#pragma once

// Ending a connection from another thread. A TLS socket's own shutdown speaks TLS first
// and gives up (leaving the socket open) when the handshake has not finished, so a thread
// blocked reading it would wait for its timeout; shutting the OS socket down underneath
// ends that read at once.

#include <cstdint>

namespace opampsup::platform {

// Shuts both directions of a connected socket down (its native descriptor or SOCKET
// handle). Errors (an already closed peer) are ignored: the caller only wants readers
// woken.
void shutdownSocket(std::intptr_t nativeHandle) noexcept;

}  // namespace opampsup::platform
