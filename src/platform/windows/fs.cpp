#include "platform/fs.h"

#define WIN32_LEAN_AND_MEAN
#include <random>
#include <string>
#include <system_error>

#include <windows.h>

namespace opampsup::platform {
namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
    throw std::system_error(static_cast<int>(::GetLastError()), std::system_category(),
                            what + " " + path.string());
}

}  // namespace

void writeFileAtomically(const std::filesystem::path& path, std::string_view content,
                         std::optional<long> sharedWithGroup) {
    if (sharedWithGroup) {
        shareWithGroup(path, *sharedWithGroup);  // throws: Windows has no run_as
    }
    std::random_device random;
    std::filesystem::path temp = path.parent_path() / (L"." + path.filename().wstring() + L".tmp-" +
                                                       std::to_wstring(random()));
    HANDLE file = ::CreateFileW(temp.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_NEW,
                                FILE_ATTRIBUTE_NORMAL, nullptr);
    if (file == INVALID_HANDLE_VALUE) {
        fail("cannot create", temp);
    }
    const char* data = content.data();
    std::size_t left = content.size();
    while (left > 0) {
        DWORD chunk = left > 0x40000000 ? 0x40000000 : static_cast<DWORD>(left);
        DWORD written = 0;
        if (!::WriteFile(file, data, chunk, &written, nullptr)) {
            DWORD error = ::GetLastError();
            ::CloseHandle(file);
            ::DeleteFileW(temp.c_str());
            ::SetLastError(error);
            fail("cannot write", temp);
        }
        data += written;
        left -= written;
    }
    if (!::FlushFileBuffers(file)) {
        DWORD error = ::GetLastError();
        ::CloseHandle(file);
        ::DeleteFileW(temp.c_str());
        ::SetLastError(error);
        fail("cannot flush", temp);
    }
    ::CloseHandle(file);
    // WRITE_THROUGH returns only once the rename is on disk, which stands in for the
    // directory fsync POSIX needs.
    if (!::MoveFileExW(temp.c_str(), path.c_str(),
                       MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
        DWORD error = ::GetLastError();
        ::DeleteFileW(temp.c_str());
        ::SetLastError(error);
        fail("cannot replace", path);
    }
}

void flushToDisk(const std::filesystem::path& file) {
    // FlushFileBuffers needs write access; the directory entry needs no separate flush.
    HANDLE handle = ::CreateFileW(file.c_str(), GENERIC_WRITE, FILE_SHARE_READ, nullptr,
                                  OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
    if (handle == INVALID_HANDLE_VALUE) {
        fail("cannot open", file);
    }
    if (!::FlushFileBuffers(handle)) {
        DWORD error = ::GetLastError();
        ::CloseHandle(handle);
        ::SetLastError(error);
        fail("cannot flush", file);
    }
    ::CloseHandle(handle);
}

void createPrivateDirectory(const std::filesystem::path& directory,
                            std::optional<long> sharedWithGroup) {
    if (sharedWithGroup) {
        shareWithGroup(directory, *sharedWithGroup);  // throws: Windows has no run_as
    }
    std::error_code ec;
    std::filesystem::create_directories(directory, ec);
    if (ec) {
        throw std::system_error(ec, "cannot create directory " + directory.string());
    }
}

// agent.run_as is refused when the config is loaded on Windows, so no group ever gets here.
void shareWithGroup(const std::filesystem::path& path, long /*group*/) {
    throw std::system_error(std::make_error_code(std::errc::operation_not_supported),
                            "cannot share " + path.string() +
                                " with a group: agent.run_as is not supported on Windows");
}

}  // namespace opampsup::platform
