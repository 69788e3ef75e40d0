#include "platform/os.h"

#include <cstdint>
#include <stdexcept>
#include <vector>

#include <mach-o/dyld.h>

namespace opampsup::platform {

std::string_view osType() {
    return "darwin";
}

bool supportsHupReload() {
    return true;
}

void returnLargeBuffersToTheOs() {
    // The system allocator returns large regions to the OS by itself.
}

std::filesystem::path currentExecutable() {
    std::uint32_t size = 0;
    _NSGetExecutablePath(nullptr, &size);
    std::vector<char> buffer(size + 1, '\0');
    if (_NSGetExecutablePath(buffer.data(), &size) != 0) {
        throw std::runtime_error("cannot find the supervisor's own executable");
    }
    return std::filesystem::weakly_canonical(buffer.data());
}

}  // namespace opampsup::platform
