#pragma once

// File-system operations whose guarantees differ per OS.

#include <filesystem>
#include <string_view>

namespace opampsup::platform {

// Replaces `path` with `content` so that a crash or power loss at any instant leaves either
// the old file or the new one, never a torn one: write a temporary file in the same
// directory, flush it to disk, rename it over `path`, then flush the directory entry.
// The file is readable and writable by its owner only. Throws std::system_error naming
// the path and the failing step.
void writeFileAtomically(const std::filesystem::path& path, std::string_view content);

// Flushes a file written with ordinary streams to disk, and the directory entry naming it,
// so a power loss right after cannot leave the name pointing at a truncated file.
// Throws std::system_error.
void flushToDisk(const std::filesystem::path& file);

// Creates `directory` (and its parents) if needed and restricts it to its owner (0700 on
// POSIX; on Windows it inherits the ACL of %ProgramData%, which admits Administrators and
// SYSTEM). Throws std::system_error.
void createPrivateDirectory(const std::filesystem::path& directory);

}  // namespace opampsup::platform
