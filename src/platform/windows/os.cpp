#include "platform/os.h"

#include <stdexcept>
#include <string>

#include <windows.h>

namespace opampsup::platform {

std::string_view osType() {
    return "windows";
}

bool supportsHupReload() {
    return false;
}

void returnLargeBuffersToTheOs() {
    // The process heap gives large blocks (VirtualAlloc'd) back to the OS by itself.
}

std::filesystem::path currentExecutable() {
    // Paths may be longer than MAX_PATH; grow until the name fits.
    std::wstring buffer(MAX_PATH, L'\0');
    while (true) {
        DWORD n = GetModuleFileNameW(nullptr, buffer.data(), static_cast<DWORD>(buffer.size()));
        if (n == 0) {
            throw std::runtime_error("cannot find the supervisor's own executable");
        }
        if (n < buffer.size()) {
            buffer.resize(n);
            return std::filesystem::path(buffer);
        }
        buffer.resize(buffer.size() * 2);
    }
}

}  // namespace opampsup::platform
