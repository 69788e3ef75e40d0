#include "platform/account.h"

#include <stdexcept>

namespace opampsup::platform {

// A Windows service runs under the account it is registered with (sc.exe config obj=, or
// the MSI's service account), and the collector inherits it: there is no run_as to do.
bool supportsRunAs() {
    return false;
}

Account lookUpAccount(const std::string& /*user*/, const std::string& /*group*/) {
    throw std::runtime_error(
        "is not supported on Windows: run the supervisor's service under the account the "
        "collector should have");
}

std::string whyCannotRunAs(const Account& /*account*/) {
    return "agent.run_as is not supported on Windows";
}

}  // namespace opampsup::platform
