#pragma once

// Takes the collector binary out of a package the OpAMP server offers: a gzip-compressed tar
// archive (upstream's `archive: tar.gz`). The archive comes from the network, so it is
// treated as hostile: every entry is checked, not only the one we want, and anything that
// would write outside the extraction directory, any special file, and anything bigger than
// the limits refuses the whole archive.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace opampsup::packages {

struct ArchiveLimits {
    std::uint64_t maxEntryBytes = 2ULL << 30;  // one entry's size
    std::uint64_t maxTotalBytes = 4ULL << 30;  // all entries' sizes together
    std::size_t maxEntries = 100000;
};

// The archive is malformed, truncated, over a limit, hostile, or lacks the member. The
// message names the problem and, where there is one, the entry.
class ArchiveError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Reads the .tar.gz at `archive` to its end, checking every entry, and writes the regular
// file named `member` (e.g. "otelcol" or "bin/otelcol"; a leading "./" in the archive does
// not matter) to `destination`, created or truncated, with mode 0755.
//
// Throws ArchiveError when the archive cannot be read, is not gzip, is corrupt or truncated
// (zlib reports an error, or the data ends before the gzip trailer, the tar end marker or the
// end of an entry), has a wrong header checksum, an absolute path or a ".." component, a
// link that points outside the archive, a device, FIFO or other special entry, an entry or a
// total over `limits`, too many entries, data after the end marker, or when `member` is
// missing, appears twice, or is not a regular file. The tail of the archive is checked even
// after the member has been written; on any error the destination is removed again. Throws
// std::invalid_argument when `member` itself is not a relative path inside an archive, and
// std::system_error when `destination` cannot be written.
void extractMember(const std::filesystem::path& archive, const std::string& member,
                   const std::filesystem::path& destination, const ArchiveLimits& limits = {});

}  // namespace opampsup::packages
