#include "platform/paths.h"

#include <cstdlib>

namespace opampsup::platform {

std::filesystem::path defaultStorageDirectory() {
    // The wide variant keeps non-ASCII ProgramData locations intact.
    const wchar_t* programData = _wgetenv(L"ProgramData");
    std::filesystem::path base =
        (programData != nullptr && *programData != L'\0') ? programData : L"C:\\ProgramData";
    return base / L"Otelcol" / L"Supervisor";
}

std::string defaultAgentBinaryName() {
    return "otelcol-contrib.exe";
}

}  // namespace opampsup::platform
