#include "platform/posix/child_process_hooks.h"

#include <fcntl.h>
#include <unistd.h>

namespace opampsup::platform::posix {

// macOS has no parent-death signal; the collector's opamp extension watches its parent
// (ppid, ppid_poll_interval) and exits when the supervisor is gone.
bool tieToParent(int parentPid) {
    return ::getppid() == parentPid;
}

void closeDescriptorsOnExec() {
    int max = ::getdtablesize();
    for (int fd = 3; fd < max; ++fd) {
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
}

}  // namespace opampsup::platform::posix
