#include "core/packages/TarArchive.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <zlib.h>

namespace opampsup::packages {
namespace {

constexpr std::size_t kBlockBytes = 512;
constexpr std::size_t kCopyChunkBytes = 64 * 1024;
// GNU long names and pax headers are held in memory until the entry they describe; a real
// one is a few hundred bytes, so anything near this is hostile.
constexpr std::uint64_t kMaxExtensionBytes = 1U << 20;
// Writers put at most 'L', 'K' and 'x' (and now and then a 'g') before an entry. A longer
// run is refused so extension headers cannot go on and on without counting as entries.
constexpr int kMaxExtensionsPerEntry = 8;
// All extension headers of an archive together: they count toward no entry's size, so they
// get a budget of their own.
constexpr std::uint64_t kMaxExtensionBytesInAll = 16U << 20;
// tar pads the archive with zeros to a whole record (10 KiB by default). The padding is read
// so that zlib reaches the gzip trailer and verifies its checksum, but only up to this much.
constexpr std::uint64_t kMaxTrailingBytes = 1U << 20;
// Entry names in error messages are shortened to this many bytes.
constexpr std::size_t kMaxQuotedBytes = 200;

using Block = std::array<char, kBlockBytes>;

// Where a ustar header keeps a field.
struct Field {
    std::size_t offset;
    std::size_t length;
};
constexpr Field kNameField{0, 100};
constexpr Field kSizeField{124, 12};
constexpr Field kChecksumField{148, 8};
constexpr std::size_t kTypeOffset = 156;
constexpr Field kLinkNameField{157, 100};
constexpr Field kMagicField{257, 6};
constexpr Field kPrefixField{345, 155};
constexpr std::string_view kPosixMagic{"ustar\0", 6};

constexpr char kHardLink = '1';
constexpr char kSymlink = '2';
constexpr char kDirectory = '5';
constexpr char kGnuLongName = 'L';
constexpr char kGnuLongLink = 'K';
constexpr char kPaxHeader = 'x';
constexpr char kPaxGlobalHeader = 'g';

constexpr std::uint64_t kMaxU64 = std::numeric_limits<std::uint64_t>::max();

// ---- Messages ----

// Names come from the archive, so control bytes are escaped (a name must not be able to
// forge a log line) and a huge pax name is cut short.
std::string printable(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (char c : text.substr(0, kMaxQuotedBytes)) {
        auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7F) {
            out += "\\x";
            out += kHex[byte >> 4];
            out += kHex[byte & 0xFU];
        } else {
            out += c;
        }
    }
    if (text.size() > kMaxQuotedBytes) {
        out += "...";
    }
    return out;
}

std::string inQuotes(std::string_view text) {
    return "\"" + printable(text) + "\"";
}

ArchiveError entryError(std::string_view name, const std::string& problem) {
    return ArchiveError("archive entry " + inQuotes(name) + ": " + problem);
}

// ---- Paths ----

// Splits on '\\' as well as '/': it is a separator on Windows, and a hostile archive may use
// it to slip a ".." past a reader that only knows '/'. Empty and "." components are dropped.
std::vector<std::string_view> componentsOf(std::string_view path) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        std::size_t end = path.find_first_of("/\\", start);
        std::string_view part =
            path.substr(start, end == std::string_view::npos ? end : end - start);
        if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
        if (end == std::string_view::npos) {
            return parts;
        }
        start = end + 1;
    }
}

// The form entry names are compared in: "./bin//otelcol" and "bin/otelcol" are the same.
std::string normalized(std::string_view path) {
    std::string out;
    for (std::string_view part : componentsOf(path)) {
        if (!out.empty()) {
            out += '/';
        }
        out += part;
    }
    return out;
}

bool isAsciiLetter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Rooted on POSIX or Windows: "/x", "\x", "C:x", "C:\x".
bool isAbsolute(std::string_view path) {
    if (!path.empty() && (path[0] == '/' || path[0] == '\\')) {
        return true;
    }
    return path.size() >= 2 && isAsciiLetter(path[0]) && path[1] == ':';
}

// Why `path` cannot name a place inside the archive, or nothing if it can.
std::optional<std::string> problemWithPath(std::string_view path) {
    if (path.find('\0') != std::string_view::npos) {
        return "path contains a NUL byte";
    }
    if (isAbsolute(path)) {
        return "path is absolute";
    }
    for (std::string_view part : componentsOf(path)) {
        if (part == "..") {
            return "path leaves the archive";
        }
    }
    return std::nullopt;
}

// Resolves `target` from the directory `where`, by name alone: the archive has not been
// unpacked, so there is nothing on disk to follow. False when it climbs above the root.
bool staysInsideArchive(std::vector<std::string_view> where, std::string_view target) {
    for (std::string_view part : componentsOf(target)) {
        if (part != "..") {
            where.push_back(part);
        } else if (where.empty()) {
            return false;
        } else {
            where.pop_back();
        }
    }
    return true;
}

std::vector<std::string_view> directoryOf(std::string_view path) {
    std::vector<std::string_view> parts = componentsOf(path);
    if (!parts.empty()) {
        parts.pop_back();
    }
    return parts;
}

// ---- Header fields ----

std::string_view fieldOf(const Block& block, Field field) {
    return {block.data() + field.offset, field.length};
}

// A text field ends at its first NUL or fills the field.
std::string textOf(const Block& block, Field field) {
    std::string_view raw = fieldOf(block, field);
    return std::string(raw.substr(0, raw.find('\0')));
}

bool isAllZero(const char* data, std::size_t size) {
    return std::all_of(data, data + size, [](char c) { return c == '\0'; });
}

// GNU base-256: the high bit of the first byte marks it, the next bit is the sign, and the
// rest is a big-endian number. A negative size means nothing here.
std::optional<std::uint64_t> parseBase256(std::string_view field) {
    auto first = static_cast<unsigned char>(field.front());
    if ((first & 0x40U) != 0) {
        return std::nullopt;
    }
    std::uint64_t value = first & 0x3FU;
    for (char c : field.substr(1)) {
        if (value > (kMaxU64 >> 8)) {
            return std::nullopt;
        }
        value = (value << 8) | static_cast<unsigned char>(c);
    }
    return value;
}

// Octal digits, perhaps led by spaces, ended by spaces or NULs. An empty field is 0.
std::optional<std::uint64_t> parseOctal(std::string_view field) {
    std::size_t at = field.find_first_not_of(' ');
    if (at == std::string_view::npos) {
        return 0;
    }
    std::uint64_t value = 0;
    for (; at < field.size() && field[at] >= '0' && field[at] <= '7'; ++at) {
        if (value > (kMaxU64 >> 3)) {
            return std::nullopt;
        }
        value = value * 8 + static_cast<std::uint64_t>(field[at] - '0');
    }
    if (field.substr(at).find_first_not_of(std::string_view(" \0", 2)) != std::string_view::npos) {
        return std::nullopt;
    }
    return value;
}

std::optional<std::uint64_t> parseNumber(std::string_view field) {
    if (!field.empty() && (static_cast<unsigned char>(field.front()) & 0x80U) != 0) {
        return parseBase256(field);
    }
    return parseOctal(field);
}

std::optional<std::uint64_t> parseDecimal(std::string_view text) {
    if (text.empty()) {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (kMaxU64 - digit) / 10) {
            return std::nullopt;
        }
        value = value * 10 + digit;
    }
    return value;
}

// The checksum is the sum of the header's bytes with the checksum field counted as spaces.
// Some old writers summed signed chars; tar readers accept both sums, and so do we.
bool checksumMatches(const Block& block) {
    std::optional<std::uint64_t> stored = parseOctal(fieldOf(block, kChecksumField));
    if (!stored) {
        return false;
    }
    std::int64_t unsignedSum = 0;
    std::int64_t signedSum = 0;
    for (std::size_t i = 0; i < block.size(); ++i) {
        bool inChecksum =
            i >= kChecksumField.offset && i < kChecksumField.offset + kChecksumField.length;
        char c = inChecksum ? ' ' : block[i];
        unsignedSum += static_cast<unsigned char>(c);
        signedSum += static_cast<signed char>(c);
    }
    auto value = static_cast<std::int64_t>(*stored);
    return value == unsignedSum || value == signedSum;
}

// ---- Entry types ----

bool isRegularFile(char type) {
    return type == '0' || type == '\0' || type == '7';  // '7' is a contiguous file
}

bool isExtensionHeader(char type) {
    return type == kGnuLongName || type == kGnuLongLink || type == kPaxHeader ||
           type == kPaxGlobalHeader;
}

bool isAllowedType(char type) {
    return isRegularFile(type) || type == kDirectory || type == kSymlink || type == kHardLink;
}

std::string describeType(char type) {
    switch (type) {
        case kHardLink:
            return "hard link";
        case kSymlink:
            return "symlink";
        case '3':
            return "character device";
        case '4':
            return "block device";
        case kDirectory:
            return "directory";
        case '6':
            return "FIFO";
        default:
            return isRegularFile(type) ? "regular file"
                                       : "entry of unknown type '" + printable({&type, 1}) + "'";
    }
}

// ---- Reading ----

struct Entry {
    std::string path;
    std::string linkTarget;
    char type = '0';
    std::uint64_t size = 0;
};

// What extension headers say about the entry that follows them. pax wins over GNU.
struct Extensions {
    std::optional<std::string> gnuPath;
    std::optional<std::string> gnuLinkTarget;
    std::optional<std::string> paxPath;
    std::optional<std::string> paxLinkTarget;
    std::optional<std::uint64_t> paxSize;
    int headers = 0;

    void applyTo(Entry& entry) const {
        if (auto path = paxPath ? paxPath : gnuPath) {
            entry.path = *path;
        }
        if (auto target = paxLinkTarget ? paxLinkTarget : gnuLinkTarget) {
            entry.linkTarget = *target;
        }
        if (paxSize) {
            entry.size = *paxSize;
        }
    }
};

struct PaxRecord {
    std::string_view key;
    std::string_view value;
};

// Takes the first "<length> <key>=<value>\n" record off `records`; the length counts the
// whole record.
PaxRecord takePaxRecord(std::string_view& records, std::string_view headerName) {
    std::size_t space = records.find(' ');
    std::optional<std::uint64_t> length = parseDecimal(
        space == std::string_view::npos ? std::string_view{} : records.substr(0, space));
    bool fits = length && *length > space + 1 && *length <= records.size();
    auto recordBytes = fits ? static_cast<std::size_t>(*length) : 0;
    if (!fits || records[recordBytes - 1] != '\n') {
        throw entryError(headerName, "malformed pax header record");
    }
    std::string_view body = records.substr(space + 1, recordBytes - space - 2);
    std::size_t equals = body.find('=');
    if (equals == std::string_view::npos) {
        throw entryError(headerName, "malformed pax header record");
    }
    records.remove_prefix(recordBytes);
    return {body.substr(0, equals), body.substr(equals + 1)};
}

// Only the keys that change an entry's name, link or length matter here; times, owners and
// the like are ignored. An empty value takes an earlier setting back, as pax specifies.
void applyPaxRecord(const PaxRecord& record, std::string_view headerName, Extensions& into) {
    std::optional<std::string> text;
    if (!record.value.empty()) {
        text = std::string(record.value);
    }
    if (record.key == "path") {
        into.paxPath = text;
    } else if (record.key == "linkpath") {
        into.paxLinkTarget = text;
    } else if (record.key == "size") {
        into.paxSize = text ? parseDecimal(*text) : std::nullopt;
        if (text && !into.paxSize) {
            throw entryError(headerName, "pax size is not a number");
        }
    } else if (record.key.substr(0, 11) == "GNU.sparse.") {
        // A sparse file's data is a map plus fragments, not the file's bytes.
        throw entryError(headerName, "sparse files are not supported");
    }
}

void applyPaxRecords(std::string_view records, std::string_view headerName, Extensions& into) {
    // Some writers leave NUL padding after the last record.
    while (!isAllZero(records.data(), records.size())) {
        applyPaxRecord(takePaxRecord(records, headerName), headerName, into);
    }
}

std::uint64_t paddingAfter(std::uint64_t size) {
    return (kBlockBytes - size % kBlockBytes) % kBlockBytes;
}

// The decompressed bytes of the archive. zlib is used directly rather than through Poco's
// InflatingInputStream because that stream reports input which stops mid-stream as a clean
// end whenever the last bytes happened to produce no output; here running out of input
// before the gzip trailer is always an error. Concatenated gzip members are read in turn,
// as gunzip does.
class GzipSource {
  public:
    explicit GzipSource(std::istream& compressed)
        : compressed_(compressed), input_(kCopyChunkBytes) {
        // 16 + MAX_WBITS: expect a gzip wrapper (and verify its CRC), not zlib's own.
        if (inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK) {
            throw std::runtime_error("cannot start zlib");
        }
    }
    GzipSource(const GzipSource&) = delete;
    GzipSource& operator=(const GzipSource&) = delete;
    ~GzipSource() { inflateEnd(&stream_); }

    // Reads up to `size` bytes; fewer only at the end of the data.
    std::size_t read(char* buffer, std::size_t size) {
        std::size_t produced = 0;
        while (produced < size && !finished_) {
            if (stream_.avail_in == 0 && !refill()) {
                if (!memberEnded_) {
                    throw ArchiveError("archive is truncated: its gzip stream ends early");
                }
                finished_ = true;
                break;
            }
            if (memberEnded_) {
                inflateReset(&stream_);  // another gzip member follows
                memberEnded_ = false;
            }
            produced += inflateInto(buffer + produced, size - produced);
        }
        return produced;
    }

  private:
    std::size_t inflateInto(char* buffer, std::size_t size) {
        auto room = static_cast<uInt>(std::min<std::size_t>(size, kCopyChunkBytes));
        stream_.next_out = reinterpret_cast<Bytef*>(buffer);
        stream_.avail_out = room;
        int result = inflate(&stream_, Z_NO_FLUSH);
        if (result == Z_STREAM_END) {
            memberEnded_ = true;
        } else if (result != Z_OK && result != Z_BUF_ERROR) {
            std::string reason =
                stream_.msg != nullptr ? stream_.msg : "error " + std::to_string(result);
            throw ArchiveError("archive is corrupt (gzip: " + reason + ")");
        }
        return room - stream_.avail_out;
    }

    bool refill() {
        compressed_.read(input_.data(), static_cast<std::streamsize>(input_.size()));
        if (compressed_.bad()) {
            throw ArchiveError("cannot read the archive");
        }
        stream_.next_in = reinterpret_cast<Bytef*>(input_.data());
        stream_.avail_in = static_cast<uInt>(compressed_.gcount());
        return stream_.avail_in > 0;
    }

    std::istream& compressed_;
    std::vector<char> input_;
    z_stream stream_{};
    bool memberEnded_ = false;
    bool finished_ = false;
};

// Walks the tar headers, folding extension headers into the entry they describe. The caller
// reads an entry's data with readData(), or not: next() skips what is left.
class TarReader {
  public:
    explicit TarReader(GzipSource& source) : source_(source), scratch_(kCopyChunkBytes) {}

    // The next entry, or nothing at the end-of-archive marker.
    std::optional<Entry> next() {
        skipRestOfEntry();
        Block header;
        while (readHeader(header)) {
            if (isAllZero(header.data(), header.size())) {
                if (extensions_.headers > 0) {
                    throw ArchiveError("archive ends with an extension header and no entry");
                }
                return std::nullopt;
            }
            Entry entry = decodeHeader(header);
            if (!isExtensionHeader(entry.type)) {
                extensions_.applyTo(entry);
                extensions_ = {};
                startData(entry);
                return entry;
            }
            readExtension(entry);
        }
        throw ArchiveError("archive is truncated: it ends without an end-of-archive marker");
    }

    // Reads the current entry's data, up to `size` bytes; 0 once it has all been read.
    std::size_t readData(char* buffer, std::size_t size) {
        auto wanted = static_cast<std::size_t>(std::min<std::uint64_t>(size, dataLeft_));
        readExactly(buffer, wanted);
        dataLeft_ -= wanted;
        return wanted;
    }

    // Reads past the end-of-archive marker to the end of the gzip stream, which makes zlib
    // verify the trailer. GNU tar stops at the first zero block and does not insist on the
    // second, so what follows may be EOF or zeros, but nothing else: data there would be
    // entries we never checked.
    void finish() {
        std::uint64_t trailing = 0;
        while (std::size_t got = source_.read(scratch_.data(), scratch_.size())) {
            if (!isAllZero(scratch_.data(), got)) {
                throw ArchiveError("archive has data after its end-of-archive marker");
            }
            trailing += got;
            if (trailing > kMaxTrailingBytes) {
                throw ArchiveError("archive has more than " + std::to_string(kMaxTrailingBytes) +
                                   " bytes of padding after its end-of-archive marker");
            }
        }
    }

  private:
    // False at the end of the data, when not even a byte of a header is there.
    bool readHeader(Block& header) {
        std::size_t got = source_.read(header.data(), header.size());
        if (got > 0 && got < header.size()) {
            throw ArchiveError("archive is truncated: it ends inside a header");
        }
        return got > 0;
    }

    static Entry decodeHeader(const Block& header) {
        Entry entry;
        entry.path = textOf(header, kNameField);
        // Only POSIX ustar has a prefix; GNU tar keeps other things in those bytes.
        if (fieldOf(header, kMagicField) == kPosixMagic) {
            std::string prefix = textOf(header, kPrefixField);
            if (!prefix.empty()) {
                entry.path = prefix + "/" + entry.path;
            }
        }
        if (!checksumMatches(header)) {
            throw entryError(entry.path, "header checksum is wrong");
        }
        entry.type = header[kTypeOffset];
        entry.linkTarget = textOf(header, kLinkNameField);
        std::optional<std::uint64_t> size = parseNumber(fieldOf(header, kSizeField));
        if (!size) {
            throw entryError(entry.path, "size field is not a number");
        }
        entry.size = *size;
        return entry;
    }

    void readExtension(const Entry& header) {
        if (++extensions_.headers > kMaxExtensionsPerEntry) {
            throw entryError(header.path, "too many extension headers in a row");
        }
        if (header.size > kMaxExtensionBytes) {
            throw entryError(header.path, "extension header of " + std::to_string(header.size) +
                                              " bytes exceeds the limit of " +
                                              std::to_string(kMaxExtensionBytes));
        }
        extensionBytes_ += header.size;
        if (extensionBytes_ > kMaxExtensionBytesInAll) {
            throw entryError(header.path, "extension headers exceed " +
                                              std::to_string(kMaxExtensionBytesInAll) +
                                              " bytes in all");
        }
        startData(header);
        std::string data(static_cast<std::size_t>(header.size), '\0');
        readExactly(data.data(), data.size());
        dataLeft_ = 0;
        skipRestOfEntry();
        std::string untilNul = data.substr(0, data.find('\0'));
        switch (header.type) {
            case kGnuLongName:
                extensions_.gnuPath = untilNul;
                break;
            case kGnuLongLink:
                extensions_.gnuLinkTarget = untilNul;
                break;
            case kPaxHeader:
                applyPaxRecords(data, header.path, extensions_);
                break;
            default:
                break;  // a pax global header: read, but nothing in it changes our checks
        }
    }

    void startData(const Entry& entry) {
        currentName_ = entry.path;
        dataLeft_ = entry.size;
        paddingLeft_ = paddingAfter(entry.size);
    }

    void skipRestOfEntry() {
        skip(dataLeft_);
        skip(paddingLeft_);
    }

    void skip(std::uint64_t& left) {
        while (left > 0) {
            auto step = static_cast<std::size_t>(std::min<std::uint64_t>(left, scratch_.size()));
            readExactly(scratch_.data(), step);
            left -= step;
        }
    }

    void readExactly(char* buffer, std::size_t size) {
        if (source_.read(buffer, size) < size) {
            throw entryError(currentName_, "the archive is truncated inside this entry");
        }
    }

    GzipSource& source_;
    std::vector<char> scratch_;
    Extensions extensions_;
    std::uint64_t extensionBytes_ = 0;
    std::string currentName_;
    std::uint64_t dataLeft_ = 0;
    std::uint64_t paddingLeft_ = 0;
};

// ---- Checking ----

// Refuses what a package must not contain, and keeps the counts the limits apply to.
class EntryChecker {
  public:
    explicit EntryChecker(const ArchiveLimits& limits) : limits_(limits) {}

    // The entry's path in the form members are compared in. Throws if the entry is refused.
    std::string check(const Entry& entry) {
        if (++entries_ > limits_.maxEntries) {
            throw ArchiveError("archive has more than " + std::to_string(limits_.maxEntries) +
                               " entries");
        }
        if (std::optional<std::string> problem = problemWithPath(entry.path)) {
            throw entryError(entry.path, *problem);
        }
        std::string path = normalized(entry.path);
        if (path.empty() && entry.type != kDirectory) {
            throw entryError(entry.path, "has no name");
        }
        if (!isAllowedType(entry.type)) {
            throw entryError(entry.path, "is a special entry (" + describeType(entry.type) + ")");
        }
        checkSize(entry);
        checkNotThroughSymlink(entry.path, path);
        checkLinkTarget(entry);
        if (entry.type == kSymlink) {
            symlinks_.insert(path);
        }
        return path;
    }

  private:
    void checkSize(const Entry& entry) {
        // Links and directories carry no data. Readers disagree on what data after one
        // means, and a disagreement is room for a hostile archive to hide an entry.
        if (!isRegularFile(entry.type) && entry.size != 0) {
            throw entryError(entry.path, describeType(entry.type) + " carries " +
                                             std::to_string(entry.size) + " bytes of data");
        }
        if (entry.size > limits_.maxEntryBytes) {
            throw entryError(entry.path, "size of " + std::to_string(entry.size) +
                                             " bytes exceeds the limit of " +
                                             std::to_string(limits_.maxEntryBytes));
        }
        if (entry.size > limits_.maxTotalBytes - totalBytes_) {
            throw entryError(entry.path, "takes the archive past the limit of " +
                                             std::to_string(limits_.maxTotalBytes) +
                                             " bytes in total");
        }
        totalBytes_ += entry.size;
    }

    // Names are checked without unpacking, so a name that goes through an earlier symlink
    // ("a" -> ".", then "a/b" -> "../x") could mean another place than it spells.
    void checkNotThroughSymlink(const std::string& raw, const std::string& path) const {
        std::string prefix;
        for (std::string_view part : componentsOf(path)) {
            prefix += prefix.empty() ? std::string(part) : "/" + std::string(part);
            if (prefix != path && symlinks_.count(prefix) > 0) {
                throw entryError(raw, "path goes through the symlink " + inQuotes(prefix));
            }
        }
    }

    void checkLinkTarget(const Entry& entry) const {
        if (entry.type != kSymlink && entry.type != kHardLink) {
            return;
        }
        const std::string& target = entry.linkTarget;
        std::string what = describeType(entry.type) + " target " + inQuotes(target);
        if (target.empty() || (entry.type == kHardLink && normalized(target).empty())) {
            throw entryError(entry.path, describeType(entry.type) + " has no target");
        }
        if (target.find('\0') != std::string::npos) {
            throw entryError(entry.path, what + ": path contains a NUL byte");
        }
        if (isAbsolute(target)) {
            throw entryError(entry.path, what + ": path is absolute");
        }
        // A symlink is resolved from the directory it sits in; a hard link names another
        // entry by its path from the archive root.
        std::vector<std::string_view> base =
            entry.type == kSymlink ? directoryOf(entry.path) : std::vector<std::string_view>{};
        if (!staysInsideArchive(base, target)) {
            throw entryError(entry.path, what + ": path leaves the archive");
        }
        // Where the target resolves must not go through a symlink either. It may end at one
        // (a link to a link): that one's own target was checked where it sits.
        const std::vector<std::string_view> parts = componentsOf(target);
        for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
            if (parts[i] == "..") {
                base.pop_back();
            } else {
                base.push_back(parts[i]);
            }
            std::string resolved;
            for (std::string_view p : base) {
                resolved += resolved.empty() ? std::string(p) : "/" + std::string(p);
            }
            if (symlinks_.count(resolved) > 0) {
                throw entryError(entry.path,
                                 what + ": goes through the symlink " + inQuotes(resolved));
            }
        }
    }

    const ArchiveLimits& limits_;
    std::size_t entries_ = 0;
    std::uint64_t totalBytes_ = 0;
    std::set<std::string> symlinks_;  // normalized paths of the symlinks seen so far
};

// ---- Writing ----

// The destination while the archive is read: removed again unless the whole archive proves
// sound, so a failed extraction never leaves a partial binary behind.
class PendingFile {
  public:
    explicit PendingFile(std::filesystem::path path) : path_(std::move(path)) {}
    PendingFile(const PendingFile&) = delete;
    PendingFile& operator=(const PendingFile&) = delete;

    ~PendingFile() {
        if (opened_ && !kept_) {
            out_.close();
            std::error_code ignored;
            std::filesystem::remove(path_, ignored);
        }
    }

    void open() {
        out_.open(path_, std::ios::binary | std::ios::trunc);
        if (!out_) {
            throw std::system_error(std::make_error_code(std::errc::io_error),
                                    "cannot create " + path_.string());
        }
        opened_ = true;
    }

    void write(const char* data, std::size_t size) {
        out_.write(data, static_cast<std::streamsize>(size));
        if (!out_) {
            throw std::system_error(std::make_error_code(std::errc::io_error),
                                    "cannot write " + path_.string());
        }
    }

    void keep() {
        out_.close();
        if (!out_) {
            throw std::system_error(std::make_error_code(std::errc::io_error),
                                    "cannot write " + path_.string());
        }
        using std::filesystem::perms;
        std::filesystem::permissions(path_,
                                     perms::owner_all | perms::group_read | perms::group_exec |
                                         perms::others_read | perms::others_exec,
                                     std::filesystem::perm_options::replace);
        kept_ = true;
    }

  private:
    std::filesystem::path path_;
    std::ofstream out_;
    bool opened_ = false;
    bool kept_ = false;
};

void requireGzipHeader(std::istream& in) {
    std::array<char, 2> magic{};
    in.read(magic.data(), magic.size());
    bool isGzip = in.gcount() == 2 && static_cast<unsigned char>(magic[0]) == 0x1F &&
                  static_cast<unsigned char>(magic[1]) == 0x8B;
    if (!isGzip) {
        throw ArchiveError("archive is not gzip-compressed");
    }
    in.seekg(0);
    if (!in) {
        throw ArchiveError("cannot read the archive");
    }
}

}  // namespace

void extractMember(const std::filesystem::path& archive, const std::string& member,
                   const std::filesystem::path& destination, const ArchiveLimits& limits) {
    std::string wanted = normalized(member);
    if (wanted.empty() || problemWithPath(member)) {
        throw std::invalid_argument("member " + inQuotes(member) +
                                    " is not a relative path inside an archive");
    }
    std::ifstream compressed(archive, std::ios::binary);
    if (!compressed) {
        throw ArchiveError("cannot open archive " + archive.string());
    }
    requireGzipHeader(compressed);

    GzipSource source(compressed);
    TarReader reader(source);
    EntryChecker checker(limits);
    PendingFile output(destination);
    std::vector<char> chunk(kCopyChunkBytes);
    bool found = false;
    while (std::optional<Entry> entry = reader.next()) {
        if (checker.check(*entry) != wanted) {
            continue;
        }
        if (found) {
            throw entryError(entry->path, "appears more than once");
        }
        if (!isRegularFile(entry->type)) {
            throw entryError(entry->path,
                             "is a " + describeType(entry->type) + ", not a regular file");
        }
        output.open();
        while (std::size_t got = reader.readData(chunk.data(), chunk.size())) {
            output.write(chunk.data(), got);
        }
        found = true;
    }
    reader.finish();
    if (!found) {
        throw ArchiveError("archive has no entry " + inQuotes(member));
    }
    output.keep();
}

}  // namespace opampsup::packages
