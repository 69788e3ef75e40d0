// Fuzzes the extraction of a package archive (packages::extractMember): gzip, the tar
// headers (ustar, GNU long names, pax records, base-256 sizes), and the checks that refuse
// hostile entries (absolute paths, "..", links leaving the archive or paths through them,
// special files, limits), into a fresh sandbox directory for each input.
//
// Input: one options byte, then the archive.
//   bit 0     the rest is a tar stream, which the fuzzer gzips (so the tar reader is reached
//             by most inputs); clear, it is the .tar.gz file itself
//   bit 1     the member is "bin/otelcol" rather than "otelcol"
//   bits 2-3  the limits: the supervisor's for a 1 MiB download, or small ones
//
// Expected outcomes: the member extracted, or an ArchiveError. Findings: a crash, a sanitizer
// report, any other exception, a hang, a file written anywhere but the destination, a
// destination that is not a regular file, or one left behind by a refused archive.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include <zlib.h>

#include "core/packages/TarArchive.h"
#include "fuzz/FuzzSupport.h"

namespace {

namespace fs = std::filesystem;
using opampsup::fuzz::finding;
using opampsup::packages::ArchiveError;
using opampsup::packages::ArchiveLimits;

std::string gzip(const std::uint8_t* data, std::size_t size) {
    z_stream stream{};
    if (deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        finding("deflateInit2 failed");
    }
    std::string out(deflateBound(&stream, static_cast<uLong>(size)), '\0');
    stream.next_in = const_cast<Bytef*>(data);
    stream.avail_in = static_cast<uInt>(size);
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    if (deflate(&stream, Z_FINISH) != Z_STREAM_END) {
        finding("deflate did not finish");
    }
    out.resize(stream.total_out);
    deflateEnd(&stream);
    return out;
}

ArchiveLimits limitsFor(unsigned choice) {
    switch (choice) {
        case 1:
            return {100, 300, 3};
        case 2:
            return {64 * 1024, 128 * 1024, 16};
        case 3:
            return {1U << 20, 4U << 20, 1};
        default:
            // What the package manager gives a 1 MiB download (agent.package.max_download_size).
            return {4U << 20, 4U << 20, 100000};
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    static const fs::path root = opampsup::fuzz::scratchDirectory("tar_archive_fuzz");
    const std::uint8_t options = data[0];
    const fs::path box = root / "box";
    const fs::path archive = box / "package.tar.gz";
    const fs::path out = box / "out";
    const fs::path destination = out / "otelcol-contrib";
    std::error_code ec;
    fs::remove_all(box, ec);
    fs::create_directories(out);
    {
        std::ofstream file(archive, std::ios::binary);
        if ((options & 1U) != 0) {
            file << gzip(data + 1, size - 1);
        } else {
            file.write(reinterpret_cast<const char*>(data + 1),
                       static_cast<std::streamsize>(size - 1));
        }
    }
    const std::string member = (options & 2U) != 0 ? "bin/otelcol" : "otelcol";

    bool extracted = false;
    try {
        opampsup::packages::extractMember(archive, member, destination,
                                          limitsFor((options >> 2) & 3U));
        extracted = true;
    } catch (const ArchiveError&) {
        // refused: the package install fails
    }

    // Nothing but the archive and (when extracted) the destination may exist in the box.
    for (auto it = fs::recursive_directory_iterator(box); it != fs::recursive_directory_iterator();
         ++it) {
        const fs::path& path = it->path();
        if (path == archive || path == out) {
            continue;
        }
        if (path != destination) {
            finding("the extraction wrote " + path.string());
        }
        if (!extracted) {
            finding("a refused archive left the destination behind");
        }
        if (!fs::is_regular_file(fs::symlink_status(path))) {
            finding("the destination is not a regular file");
        }
    }
    if (extracted && !fs::exists(fs::symlink_status(destination))) {
        finding("extractMember returned without writing the destination");
    }
    return 0;
}
