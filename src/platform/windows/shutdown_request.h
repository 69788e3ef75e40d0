#pragma once

// How a stop request that is not a console event (the Service Control Manager's stop,
// shutdown and preshutdown) reaches the same callback as Ctrl-C and Ctrl-Break.

#include <string>

namespace opampsup::platform {

// Hands a request to the live ShutdownWatcher's callback; false when none is installed.
bool requestShutdown(const std::string& name);

}  // namespace opampsup::platform
