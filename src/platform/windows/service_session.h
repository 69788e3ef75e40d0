#pragma once

// Whether this process runs as a service, for the parts of the Windows backend that must
// act differently there (a service has no console).

namespace opampsup::platform {

// True once the Service Control Manager has started the service's main function.
bool runningAsService();

}  // namespace opampsup::platform
