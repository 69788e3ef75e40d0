#include "platform/posix/child_process_hooks.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace opampsup::platform::posix {

bool tieToParent(int parentPid) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
        return true;  // not fatal: the collector's own ppid watch still applies
    }
    // The parent may have died before prctl took effect.
    return ::getppid() == parentPid;
}

void closeDescriptorsOnExec() {
    if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) {
        return;
    }
    // Kernels before 5.11: mark them one by one.
    long max = ::sysconf(_SC_OPEN_MAX);
    for (int fd = 3; fd < max && fd < 65536; ++fd) {
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
}

}  // namespace opampsup::platform::posix
