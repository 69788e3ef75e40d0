#pragma once

// What the fuzz targets share: a scratch directory per fuzzing process (on tmpfs when the
// host has one, so the file system is not the bottleneck), and a way to report a finding
// that is not a crash the sanitizers see themselves (a broken invariant).

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include <signal.h>
#include <unistd.h>

namespace opampsup::fuzz {

// Reports a broken invariant and aborts, which libFuzzer records as a crash with the input.
[[noreturn]] inline void finding(const std::string& what) {
    std::fprintf(stderr, "FUZZ FINDING: %s\n", what.c_str());
    std::fflush(stderr);
    std::abort();
}

// <tmp>/opampsup-fuzz/<target>-<pid>, created empty at the first call and removed when the
// process exits normally. Directories of processes that are gone (a crash) are removed at
// the next start.
inline const std::filesystem::path& scratchDirectory(const std::string& target) {
    namespace fs = std::filesystem;
    struct Scratch {
        fs::path path;
        explicit Scratch(const std::string& name) {
            std::error_code ec;
            fs::path base = fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0
                                ? fs::path("/dev/shm")
                                : fs::temp_directory_path();
            base /= "opampsup-fuzz";
            fs::create_directories(base);
            for (const auto& entry : fs::directory_iterator(base, ec)) {
                const std::string stale = entry.path().filename().string();
                const std::size_t dash = stale.rfind('-');
                if (dash == std::string::npos) {
                    continue;
                }
                const long pid = std::strtol(stale.c_str() + dash + 1, nullptr, 10);
                if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
                    fs::remove_all(entry.path(), ec);
                }
            }
            path = base / (name + "-" + std::to_string(::getpid()));
            fs::remove_all(path, ec);
            fs::create_directories(path);
        }
        ~Scratch() {
            std::error_code ec;
            fs::remove_all(path, ec);
        }
        Scratch(const Scratch&) = delete;
        Scratch& operator=(const Scratch&) = delete;
    };
    static Scratch scratch(target);
    return scratch.path;
}

}  // namespace opampsup::fuzz
