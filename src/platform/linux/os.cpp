#include "platform/os.h"

#include <system_error>

#include <malloc.h>

namespace opampsup::platform {

std::string_view osType() {
    return "linux";
}

bool supportsHupReload() {
    return true;
}

void returnLargeBuffersToTheOs() {
#if defined(__GLIBC__)
    // A fixed threshold also turns glibc's dynamic adjustment off.
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
}

std::filesystem::path currentExecutable() {
    return std::filesystem::read_symlink("/proc/self/exe");
}

}  // namespace opampsup::platform
