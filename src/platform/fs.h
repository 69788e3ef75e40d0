#pragma once

// File-system operations whose guarantees differ per OS.

#include <filesystem>
#include <optional>
#include <string_view>

namespace opampsup::platform {

// Replaces `path` with `content` so that a crash or power loss at any instant leaves either
// the old file or the new one, never a torn one: write a temporary file in the same
// directory, flush it to disk, rename it over `path`, then flush the directory entry.
// The file is readable and writable by its owner only, and readable by `sharedWithGroup`
// when given (POSIX: mode 0640 with that group; the collector's group under agent.run_as).
// Throws std::system_error naming the path and the failing step.
void writeFileAtomically(const std::filesystem::path& path, std::string_view content,
                         std::optional<long> sharedWithGroup = std::nullopt);

// Flushes a file written with ordinary streams to disk, and the directory entry naming it,
// so a power loss right after cannot leave the name pointing at a truncated file.
// Throws std::system_error.
void flushToDisk(const std::filesystem::path& file);

// Creates `directory` (and its parents) if needed and restricts it to its owner (0700 on
// POSIX; on Windows it inherits the ACL of %ProgramData%, which admits Administrators and
// SYSTEM). With `sharedWithGroup`, that group may pass through it to files shared with it
// but not list it (0710). Throws std::system_error.
void createPrivateDirectory(const std::filesystem::path& directory,
                            std::optional<long> sharedWithGroup = std::nullopt);

// Lets `group` reach an existing file or directory the supervisor made: a directory gets
// search only (0710), a file read (0640), or read and execute if its owner may execute it
// (0750). The owner stays; others lose access. Throws std::system_error; on Windows, which
// has no run_as, throws for any group.
void shareWithGroup(const std::filesystem::path& path, long group);

}  // namespace opampsup::platform
