#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <Poco/DeflatingStream.h>
#include <gtest/gtest.h>

#include "core/packages/TarArchive.h"
#include "support/TempDir.h"

namespace opampsup::packages {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kBlock = 512;

// ---- A small tar writer, so each test builds exactly the archive it needs ----

struct Header {
    std::string name{};
    char type = '0';
    std::optional<std::uint64_t> size{};  // the data's length unless set
    std::string linkName{};
    std::string prefix{};  // the ustar prefix field
    bool gnuMagic = false;
    bool base256Size = false;
    bool spaceTerminated = false;  // numeric fields end in a space instead of a NUL
    int checksumError = 0;         // added to the stored checksum
};

// `width - 1` octal digits and a terminator.
std::string octal(std::uint64_t value, std::size_t width, bool spaceTerminated) {
    std::ostringstream digits;
    digits << std::oct << std::setw(static_cast<int>(width - 1)) << std::setfill('0') << value;
    return digits.str() + (spaceTerminated ? ' ' : '\0');
}

void put(std::string& block, std::size_t offset, std::size_t length, const std::string& text) {
    block.replace(offset, std::min(length, text.size()), text.substr(0, length));
}

std::string headerBlock(const Header& header, std::uint64_t size) {
    std::string block(kBlock, '\0');
    bool space = header.spaceTerminated;
    put(block, 0, 100, header.name);
    put(block, 100, 8, octal(0644, 8, space));
    put(block, 108, 8, octal(1000, 8, space));
    put(block, 116, 8, octal(1000, 8, space));
    if (header.base256Size) {
        block[124] = '\x80';
        for (std::size_t i = 0; i < 8; ++i) {  // the rest of the 11 bytes stay zero
            block[135 - i] = static_cast<char>((size >> (8 * i)) & 0xFFU);
        }
    } else {
        put(block, 124, 12, octal(size, 12, space));
    }
    put(block, 136, 12, octal(1700000000, 12, space));
    block[156] = header.type;
    put(block, 157, 100, header.linkName);
    put(block, 257, 8,
        header.gnuMagic ? std::string("ustar  \0", 8)
                        : std::string("ustar\0"
                                      "00",
                                      8));
    put(block, 265, 32, "user");
    put(block, 297, 32, "group");
    if (!header.gnuMagic) {
        put(block, 345, 155, header.prefix);
    }
    block.replace(148, 8, 8, ' ');
    std::int64_t sum = header.checksumError;
    for (char c : block) {
        sum += static_cast<unsigned char>(c);
    }
    put(block, 148, 8, octal(static_cast<std::uint64_t>(sum), 7, false) + " ");
    return block;
}

// One pax record: its length counts the whole record, including the length's own digits.
std::string paxRecord(const std::string& key, const std::string& value) {
    std::size_t rest = 1 + key.size() + 1 + value.size() + 1;
    std::size_t length = rest + 1;
    while (std::to_string(length).size() + rest != length) {
        ++length;
    }
    return std::to_string(length) + " " + key + "=" + value + "\n";
}

class TarBuilder {
  public:
    TarBuilder& add(const Header& header, const std::string& data = "") {
        bytes_ += headerBlock(header, header.size.value_or(data.size()));
        bytes_ += data;
        bytes_.append((kBlock - data.size() % kBlock) % kBlock, '\0');
        return *this;
    }
    TarBuilder& file(const std::string& name, const std::string& content) {
        return add({.name = name}, content);
    }
    TarBuilder& directory(const std::string& name) { return add({.name = name, .type = '5'}); }
    TarBuilder& symlink(const std::string& name, const std::string& target) {
        return add({.name = name, .type = '2', .linkName = target});
    }
    TarBuilder& hardlink(const std::string& name, const std::string& target) {
        return add({.name = name, .type = '1', .linkName = target});
    }
    TarBuilder& gnuLongName(const std::string& name) {
        return add({.name = "././@LongLink", .type = 'L', .gnuMagic = true}, name + '\0');
    }
    TarBuilder& gnuLongLink(const std::string& target) {
        return add({.name = "././@LongLink", .type = 'K', .gnuMagic = true}, target + '\0');
    }
    TarBuilder& pax(const std::string& records, char type = 'x') {
        return add({.name = "PaxHeaders/entry", .type = type}, records);
    }

    // What is written so far, with no end marker.
    const std::string& unterminated() const { return bytes_; }
    // As tar writes it: two zero blocks, padded with zeros to a 10 KiB record.
    std::string finished() const {
        std::string out = bytes_ + std::string(2 * kBlock, '\0');
        out.append((10240 - out.size() % 10240) % 10240, '\0');
        return out;
    }

  private:
    std::string bytes_;
};

std::string gzip(const std::string& data) {
    std::ostringstream compressed;
    Poco::DeflatingOutputStream deflater(compressed, Poco::DeflatingStreamBuf::STREAM_GZIP);
    deflater.write(data.data(), static_cast<std::streamsize>(data.size()));
    deflater.close();
    return compressed.str();
}

// Bytes that do not compress and include NULs and high bytes, so a copy that goes wrong
// anywhere shows.
std::string binaryContent(std::size_t size, std::uint32_t seed = 1) {
    std::string out(size, '\0');
    std::uint32_t state = seed;
    for (char& c : out) {
        state = state * 1664525U + 1013904223U;
        c = static_cast<char>(state >> 24);
    }
    return out;
}

std::string readFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

class TarArchiveTest : public ::testing::Test {
  protected:
    fs::path destination() const { return dir_.path() / "otelcol.new"; }

    // Extracts `member` from the gzipped `tar` and returns what was written.
    std::string extract(const std::string& tar, const std::string& member = "otelcol",
                        const ArchiveLimits& limits = {}) {
        fs::path archive = dir_.write("package.tar.gz", gzip(tar));
        extractMember(archive, member, destination(), limits);
        return readFile(destination());
    }

    // The ArchiveError that extracting from the file `bytes` (as is) raises; also checks
    // that no destination was left behind.
    std::string errorFromFile(const std::string& bytes, const std::string& member = "otelcol",
                              const ArchiveLimits& limits = {}) {
        fs::path archive = dir_.write("package.tar.gz", bytes);
        std::string message = "(no error)";
        try {
            extractMember(archive, member, destination(), limits);
        } catch (const ArchiveError& e) {
            message = e.what();
        }
        EXPECT_FALSE(fs::exists(destination())) << message;
        return message;
    }

    std::string errorFrom(const std::string& tar, const std::string& member = "otelcol",
                          const ArchiveLimits& limits = {}) {
        return errorFromFile(gzip(tar), member, limits);
    }

    testing::TempDir dir_;
};

// ---- Archives that extract ----

TEST_F(TarArchiveTest, ExtractsTheMemberWithItsBytesAndMode0755) {
    std::string binary = binaryContent(70000);  // more than one copy chunk, not whole blocks
    std::string tar = TarBuilder()
                          .file("README.md", "read me")
                          .file("otelcol", binary)
                          .file("LICENSE", "license text")
                          .finished();
    EXPECT_EQ(extract(tar), binary);
#ifndef _WIN32  // Windows keeps only a read-only bit
    auto perms = fs::status(destination()).permissions();
    EXPECT_EQ(perms & fs::perms::all, static_cast<fs::perms>(0755));
#endif
}

TEST_F(TarArchiveTest, ReplacesAnExistingDestination) {
    dir_.write("otelcol.new", std::string(5000, 'x'));
    EXPECT_EQ(extract(TarBuilder().file("otelcol", "new").finished()), "new");
}

TEST_F(TarArchiveTest, AnEmptyMemberIsWritten) {
    EXPECT_EQ(extract(TarBuilder().file("otelcol", "").finished()), "");
    EXPECT_TRUE(fs::exists(destination()));
}

TEST_F(TarArchiveTest, LeadingDotSlashDoesNotMatter) {
    std::string tar =
        TarBuilder().directory(".").directory("./").file("./otelcol", "dotted").finished();
    EXPECT_EQ(extract(tar), "dotted");
    EXPECT_EQ(extract(TarBuilder().file("otelcol", "plain").finished(), "./otelcol"), "plain");
}

TEST_F(TarArchiveTest, ExtractsANestedMemberAndNotItsNamesake) {
    std::string tar = TarBuilder()
                          .file("otelcol", "top level")
                          .directory("bin/")
                          .file("bin/otelcol", "nested")
                          .finished();
    EXPECT_EQ(extract(tar, "bin/otelcol"), "nested");
}

TEST_F(TarArchiveTest, JoinsTheUstarPrefixAndName) {
    std::string tar =
        TarBuilder().add({.name = "otelcol", .prefix = "dist/linux_amd64"}, "prefixed").finished();
    EXPECT_EQ(extract(tar, "dist/linux_amd64/otelcol"), "prefixed");
}

TEST_F(TarArchiveTest, ReadsAGnuLongName) {
    std::string longName = std::string(120, 'd') + "/" + std::string(60, 'e') + "/otelcol";
    std::string tar = TarBuilder()
                          .gnuLongName(longName)
                          .add({.name = longName.substr(0, 100), .gnuMagic = true}, "long gnu")
                          .finished();
    EXPECT_EQ(extract(tar, longName), "long gnu");
}

TEST_F(TarArchiveTest, ReadsAPaxPath) {
    std::string longName = std::string(150, 'p') + "/otelcol";
    std::string tar = TarBuilder()
                          .pax(paxRecord("mtime", "1700000000.5") + paxRecord("path", longName))
                          .file("truncated-name", "long pax")
                          .finished();
    EXPECT_EQ(extract(tar, longName), "long pax");
}

TEST_F(TarArchiveTest, APaxSizeOverridesTheHeader) {
    std::string binary = binaryContent(1300);
    std::string tar = TarBuilder()
                          .pax(paxRecord("size", std::to_string(binary.size())))
                          .add({.name = "otelcol", .size = 0}, binary)
                          .file("after", "x")
                          .finished();
    EXPECT_EQ(extract(tar), binary);
}

TEST_F(TarArchiveTest, IgnoresAPaxGlobalHeader) {
    std::string tar = TarBuilder()
                          .pax(paxRecord("comment", "built by ci"), 'g')
                          .file("otelcol", "global")
                          .finished();
    EXPECT_EQ(extract(tar), "global");
}

TEST_F(TarArchiveTest, ReadsABase256Size) {
    std::string binary = binaryContent(700);
    std::string tar = TarBuilder()
                          .add({.name = "otelcol", .gnuMagic = true, .base256Size = true}, binary)
                          .file("after", "x")
                          .finished();
    EXPECT_EQ(extract(tar), binary);
}

TEST_F(TarArchiveTest, ReadsSpaceTerminatedNumbers) {
    std::string tar =
        TarBuilder().add({.name = "otelcol", .spaceTerminated = true}, "spaced").finished();
    EXPECT_EQ(extract(tar), "spaced");
}

TEST_F(TarArchiveTest, AcceptsALoneEndBlock) {
    std::string tar =
        TarBuilder().file("otelcol", "lone").unterminated() + std::string(kBlock, '\0');
    EXPECT_EQ(extract(tar), "lone");
}

TEST_F(TarArchiveTest, AcceptsLinksThatStayInside) {
    std::string tar = TarBuilder()
                          .directory("a/")
                          .symlink("a/b", "../x")
                          .symlink("here", ".")
                          .symlink("a/c", "./../a/./b")
                          .hardlink("copy", "a/../otelcol")
                          .file("otelcol", "linked")
                          .finished();
    EXPECT_EQ(extract(tar), "linked");
}

// ---- The member is not there, or not one regular file ----

TEST_F(TarArchiveTest, RefusesAMissingMember) {
    std::string tar = TarBuilder().file("README.md", "x").file("bin/otelcol", "y").finished();
    EXPECT_EQ(errorFrom(tar), "archive has no entry \"otelcol\"");
}

TEST_F(TarArchiveTest, RefusesADuplicatedMember) {
    std::string tar = TarBuilder().file("otelcol", "one").file("./otelcol", "two").finished();
    EXPECT_EQ(errorFrom(tar), "archive entry \"./otelcol\": appears more than once");
}

TEST_F(TarArchiveTest, RefusesAMemberThatIsNotARegularFile) {
    EXPECT_EQ(errorFrom(TarBuilder().symlink("otelcol", "bin/otelcol").finished()),
              "archive entry \"otelcol\": is a symlink, not a regular file");
    EXPECT_EQ(errorFrom(TarBuilder().file("x", "y").hardlink("otelcol", "x").finished()),
              "archive entry \"otelcol\": is a hard link, not a regular file");
    EXPECT_EQ(errorFrom(TarBuilder().directory("otelcol/").finished()),
              "archive entry \"otelcol/\": is a directory, not a regular file");
}

TEST_F(TarArchiveTest, RefusesAMemberNameThatIsNotARelativePath) {
    fs::path archive = dir_.write("package.tar.gz", gzip(TarBuilder().finished()));
    EXPECT_THROW(extractMember(archive, "../otelcol", destination()), std::invalid_argument);
    EXPECT_THROW(extractMember(archive, "/otelcol", destination()), std::invalid_argument);
    EXPECT_THROW(extractMember(archive, "./", destination()), std::invalid_argument);
}

// ---- Hostile names and links ----

struct HostilePath {
    std::string name;
    std::string problem;
};

class HostilePathTest : public TarArchiveTest, public ::testing::WithParamInterface<HostilePath> {};

TEST_P(HostilePathTest, IsRefused) {
    const HostilePath& hostile = GetParam();
    std::string tar = TarBuilder().file("otelcol", "fine").file(hostile.name, "evil").finished();
    EXPECT_EQ(errorFrom(tar), "archive entry \"" + hostile.name + "\": " + hostile.problem);
}

INSTANTIATE_TEST_SUITE_P(Names, HostilePathTest,
                         ::testing::Values(HostilePath{"/etc/cron.d/evil", "path is absolute"},
                                           HostilePath{"C:/Windows/evil.exe", "path is absolute"},
                                           HostilePath{"c:evil", "path is absolute"},
                                           HostilePath{"\\evil", "path is absolute"},
                                           HostilePath{"../evil", "path leaves the archive"},
                                           HostilePath{"a/../../b", "path leaves the archive"},
                                           HostilePath{"a\\..\\..\\b", "path leaves the archive"},
                                           HostilePath{"./bin/..", "path leaves the archive"}));

TEST_F(TarArchiveTest, RefusesAHostilePaxPath) {
    std::string tar = TarBuilder()
                          .pax(paxRecord("path", "../../usr/bin/otelcol"))
                          .file("otelcol", "looks harmless")
                          .finished();
    EXPECT_EQ(errorFrom(tar), "archive entry \"../../usr/bin/otelcol\": path leaves the archive");
}

TEST_F(TarArchiveTest, RefusesAHostileGnuLongName) {
    std::string tar = TarBuilder().gnuLongName("/etc/evil").file("otelcol", "x").finished();
    EXPECT_EQ(errorFrom(tar), "archive entry \"/etc/evil\": path is absolute");
}

TEST_F(TarArchiveTest, RefusesASymlinkToAnAbsolutePath) {
    std::string tar = TarBuilder().file("otelcol", "x").symlink("passwd", "/etc/passwd").finished();
    EXPECT_EQ(errorFrom(tar),
              "archive entry \"passwd\": symlink target \"/etc/passwd\": path is absolute");
}

TEST_F(TarArchiveTest, RefusesASymlinkThatEscapes) {
    std::string tar = TarBuilder().file("otelcol", "x").symlink("a/b", "../../x").finished();
    EXPECT_EQ(errorFrom(tar),
              "archive entry \"a/b\": symlink target \"../../x\": path leaves the archive");
}

// Names are checked without unpacking: one that goes through an earlier symlink could land
// elsewhere than it spells, so it is refused.
TEST_F(TarArchiveTest, RefusesNamesThatGoThroughASymlink) {
    std::string chained =
        TarBuilder().file("otelcol", "x").symlink("a", ".").symlink("a/b", "../etc").finished();
    EXPECT_EQ(errorFrom(chained), "archive entry \"a/b\": path goes through the symlink \"a\"");
    std::string target =
        TarBuilder().file("otelcol", "x").symlink("d", ".").symlink("e", "d/../x").finished();
    EXPECT_EQ(errorFrom(target),
              "archive entry \"e\": symlink target \"d/../x\": goes through the symlink \"d\"");
}

TEST_F(TarArchiveTest, RefusesHostileLinkTargetsFromExtensionHeaders) {
    std::string viaGnu = TarBuilder()
                             .file("otelcol", "x")
                             .gnuLongLink("../../../etc/shadow")
                             .symlink("s", "harmless")
                             .finished();
    EXPECT_EQ(
        errorFrom(viaGnu),
        "archive entry \"s\": symlink target \"../../../etc/shadow\": path leaves the archive");
    std::string viaPax = TarBuilder()
                             .file("otelcol", "x")
                             .pax(paxRecord("linkpath", "/root"))
                             .symlink("s", "harmless")
                             .finished();
    EXPECT_EQ(errorFrom(viaPax), "archive entry \"s\": symlink target \"/root\": path is absolute");
}

TEST_F(TarArchiveTest, RefusesHardLinksOutside) {
    EXPECT_EQ(errorFrom(TarBuilder().file("otelcol", "x").hardlink("h", "../x").finished()),
              "archive entry \"h\": hard link target \"../x\": path leaves the archive");
    EXPECT_EQ(errorFrom(TarBuilder().file("otelcol", "x").hardlink("h", "/etc/shadow").finished()),
              "archive entry \"h\": hard link target \"/etc/shadow\": path is absolute");
    // A hard link's target is a path from the archive root, not from the link's directory.
    EXPECT_EQ(errorFrom(TarBuilder().file("otelcol", "x").hardlink("a/h", "../x").finished()),
              "archive entry \"a/h\": hard link target \"../x\": path leaves the archive");
}

TEST_F(TarArchiveTest, RefusesLinksWithData) {
    std::string tar = TarBuilder()
                          .file("otelcol", "x")
                          .add({.name = "s", .type = '2', .linkName = "otelcol"}, "hidden")
                          .finished();
    EXPECT_EQ(errorFrom(tar), "archive entry \"s\": symlink carries 6 bytes of data");
}

struct SpecialType {
    char type;
    std::string description;
};

class SpecialEntryTest : public TarArchiveTest,
                         public ::testing::WithParamInterface<SpecialType> {};

TEST_P(SpecialEntryTest, IsRefused) {
    std::string tar = TarBuilder()
                          .file("otelcol", "x")
                          .add({.name = "dev/thing", .type = GetParam().type})
                          .finished();
    EXPECT_EQ(errorFrom(tar),
              "archive entry \"dev/thing\": is a special entry (" + GetParam().description + ")");
}

INSTANTIATE_TEST_SUITE_P(Types, SpecialEntryTest,
                         ::testing::Values(SpecialType{'3', "character device"},
                                           SpecialType{'4', "block device"},
                                           SpecialType{'6', "FIFO"},
                                           SpecialType{'S', "entry of unknown type 'S'"},
                                           SpecialType{'V', "entry of unknown type 'V'"}));

TEST_F(TarArchiveTest, RefusesSparseFiles) {
    std::string tar =
        TarBuilder()
            .pax(paxRecord("GNU.sparse.major", "1") + paxRecord("GNU.sparse.minor", "0"))
            .file("otelcol", "map and fragments")
            .finished();
    EXPECT_EQ(errorFrom(tar), "archive entry \"PaxHeaders/entry\": sparse files are not supported");
}

// ---- Limits ----

TEST_F(TarArchiveTest, RefusesAnEntryOverTheSizeLimit) {
    ArchiveLimits limits;
    limits.maxEntryBytes = 100;
    EXPECT_EQ(
        extract(TarBuilder().file("otelcol", std::string(100, 'a')).finished(), "otelcol", limits),
        std::string(100, 'a'));
    std::string tar =
        TarBuilder().file("otelcol", "x").file("big", std::string(101, 'b')).finished();
    EXPECT_EQ(errorFrom(tar, "otelcol", limits),
              "archive entry \"big\": size of 101 bytes exceeds the limit of 100");
}

TEST_F(TarArchiveTest, RefusesAHugeDeclaredSizeBeforeReadingIt) {
    // The header claims 2^62 bytes in base-256, and no data follows: the limit stops us first.
    std::string tar = TarBuilder()
                          .file("otelcol", "x")
                          .add({.name = "huge", .size = 1ULL << 62, .base256Size = true})
                          .unterminated();
    EXPECT_EQ(errorFrom(tar),
              "archive entry \"huge\": size of 4611686018427387904 bytes exceeds "
              "the limit of 2147483648");
}

TEST_F(TarArchiveTest, RefusesArchivesOverTheTotalLimit) {
    ArchiveLimits limits;
    limits.maxTotalBytes = 250;
    std::string tar = TarBuilder()
                          .file("otelcol", std::string(100, 'a'))
                          .file("b", std::string(100, 'b'))
                          .file("c", std::string(51, 'c'))
                          .finished();
    EXPECT_EQ(errorFrom(tar, "otelcol", limits),
              "archive entry \"c\": takes the archive past the limit of 250 bytes in total");
}

TEST_F(TarArchiveTest, RefusesTooManyEntries) {
    ArchiveLimits limits;
    limits.maxEntries = 3;
    TarBuilder three;
    three.directory("bin/").file("bin/otelcol", "x").file("README", "y");
    EXPECT_EQ(extract(three.finished(), "bin/otelcol", limits), "x");
    three.file("LICENSE", "z");
    EXPECT_EQ(errorFrom(three.finished(), "bin/otelcol", limits),
              "archive has more than 3 entries");
}

TEST_F(TarArchiveTest, RefusesAnOversizedExtensionHeader) {
    // Declared at 1 TiB with no data behind it: refused before anything is allocated.
    std::string tar = TarBuilder()
                          .add({.name = "././@LongLink",
                                .type = 'L',
                                .size = 1ULL << 40,
                                .gnuMagic = true,
                                .base256Size = true})
                          .unterminated();
    EXPECT_EQ(errorFrom(tar),
              "archive entry \"././@LongLink\": extension header of 1099511627776 "
              "bytes exceeds the limit of 1048576");
}

TEST_F(TarArchiveTest, RefusesAnEndlessRunOfExtensionHeaders) {
    TarBuilder tar;
    for (int i = 0; i < 9; ++i) {
        tar.pax(paxRecord("comment", "again"));
    }
    tar.file("otelcol", "x");
    EXPECT_EQ(errorFrom(tar.finished()),
              "archive entry \"PaxHeaders/entry\": too many extension headers in a row");
}

// Extension headers count toward no entry, so they have a budget of their own.
TEST_F(TarArchiveTest, RefusesExtensionHeadersBeyondTheirBudget) {
    TarBuilder tar;
    const std::string padding(1000 * 1000, 'p');
    for (int i = 0; i < 17; ++i) {
        tar.pax(paxRecord("comment", padding)).file("f" + std::to_string(i), "x");
    }
    tar.file("otelcol", "x");
    EXPECT_EQ(errorFrom(tar.finished()),
              "archive entry \"PaxHeaders/entry\": extension headers exceed 16777216 bytes in all");
}

// ---- Damaged archives ----

TEST_F(TarArchiveTest, RefusesABadHeaderChecksum) {
    std::string tar = TarBuilder().add({.name = "otelcol", .checksumError = 1}, "x").finished();
    EXPECT_EQ(errorFrom(tar), "archive entry \"otelcol\": header checksum is wrong");
}

TEST_F(TarArchiveTest, RefusesAMalformedPaxHeader) {
    std::string tar = TarBuilder().pax("99 path=otelcol\n").file("otelcol", "x").finished();
    EXPECT_EQ(errorFrom(tar), "archive entry \"PaxHeaders/entry\": malformed pax header record");
}

TEST_F(TarArchiveTest, RefusesAFileThatIsNotGzip) {
    EXPECT_EQ(errorFromFile("just some text, not an archive\n"), "archive is not gzip-compressed");
    EXPECT_EQ(errorFromFile(""), "archive is not gzip-compressed");
    // An uncompressed tar is not accepted either.
    EXPECT_EQ(errorFromFile(TarBuilder().file("otelcol", "x").finished()),
              "archive is not gzip-compressed");
}

TEST_F(TarArchiveTest, RefusesTruncatedGzip) {
    std::string compressed =
        gzip(TarBuilder().file("otelcol", binaryContent(100000)).file("b", "y").finished());
    // Cut in the first deflate block (no output yet), mid-data, and inside the 8-byte
    // trailer, after the whole tar has come out.
    for (std::size_t keep : {std::size_t{20}, compressed.size() / 2, compressed.size() - 4}) {
        EXPECT_EQ(errorFromFile(compressed.substr(0, keep)),
                  "archive is truncated: its gzip stream ends early")
            << "kept " << keep << " of " << compressed.size() << " bytes";
    }
}

TEST_F(TarArchiveTest, RefusesAWrongGzipChecksum) {
    // The CRC sits in the last 8 bytes, after all the tar data: only a reader that goes on
    // to the end of the stream notices.
    std::string compressed = gzip(TarBuilder().file("otelcol", "x").finished());
    compressed[compressed.size() - 8] = static_cast<char>(compressed[compressed.size() - 8] ^ 1);
    EXPECT_EQ(errorFromFile(compressed), "archive is corrupt (gzip: incorrect data check)");
}

TEST_F(TarArchiveTest, RefusesGarbageAfterTheGzipStream) {
    std::string compressed = gzip(TarBuilder().file("otelcol", "x").finished()) + "garbage";
    EXPECT_EQ(errorFromFile(compressed), "archive is corrupt (gzip: incorrect header check)");
}

TEST_F(TarArchiveTest, ReadsConcatenatedGzipMembers) {
    std::string binary = binaryContent(3000);
    std::string tar = TarBuilder().file("otelcol", binary).finished();
    fs::path archive =
        dir_.write("package.tar.gz", gzip(tar.substr(0, 1000)) + gzip(tar.substr(1000)));
    extractMember(archive, "otelcol", destination());
    EXPECT_EQ(readFile(destination()), binary);
}

TEST_F(TarArchiveTest, RefusesATarThatEndsInsideAnEntry) {
    std::string tar = TarBuilder().file("otelcol", binaryContent(3000)).unterminated();
    EXPECT_EQ(errorFrom(tar.substr(0, kBlock + 1000)),
              "archive entry \"otelcol\": the archive is truncated inside this entry");
}

TEST_F(TarArchiveTest, RefusesATarThatEndsInsideAHeader) {
    std::string tar = TarBuilder().file("otelcol", "x").file("b", "y").unterminated();
    EXPECT_EQ(errorFrom(tar.substr(0, 2 * kBlock + 100)),
              "archive is truncated: it ends inside a header");
}

TEST_F(TarArchiveTest, RefusesATarWithoutAnEndMarker) {
    EXPECT_EQ(errorFrom(TarBuilder().file("otelcol", "x").unterminated()),
              "archive is truncated: it ends without an end-of-archive marker");
    // The smallest valid gzip file: no data at all.
    std::string emptyGzip("\x1f\x8b\x08\0\0\0\0\0\0\x03\x03\0\0\0\0\0\0\0\0\0", 20);
    EXPECT_EQ(errorFromFile(emptyGzip),
              "archive is truncated: it ends without an end-of-archive marker");
}

TEST_F(TarArchiveTest, RefusesEntriesHiddenAfterTheEndMarker) {
    std::string tar = TarBuilder().file("otelcol", "x").unterminated() + std::string(kBlock, '\0') +
                      TarBuilder().file("../evil", "y").finished();
    EXPECT_EQ(errorFrom(tar), "archive has data after its end-of-archive marker");
}

TEST_F(TarArchiveTest, RefusesEndlessPaddingAfterTheEndMarker) {
    std::string tar = TarBuilder().file("otelcol", "x").finished() + std::string(2 << 20, '\0');
    EXPECT_EQ(errorFrom(tar),
              "archive has more than 1048576 bytes of padding after its end-of-archive marker");
}

TEST_F(TarArchiveTest, AHostileTailRemovesTheWrittenMember) {
    std::string tar = TarBuilder()
                          .file("otelcol", binaryContent(5000))
                          .symlink("escape", "../../../../etc/passwd")
                          .finished();
    EXPECT_EQ(errorFrom(tar),
              "archive entry \"escape\": symlink target \"../../../../etc/passwd\": "
              "path leaves the archive");
}

TEST_F(TarArchiveTest, ADamagedTailRemovesTheWrittenMember) {
    std::string tar =
        TarBuilder().file("otelcol", "x").add({.name = "b", .checksumError = 7}).finished();
    EXPECT_EQ(errorFrom(tar), "archive entry \"b\": header checksum is wrong");
}

TEST_F(TarArchiveTest, ControlCharactersInNamesAreEscaped) {
    std::string tar =
        TarBuilder().file("otelcol", "x").file("/evil\n[INFO] forged", "y").finished();
    EXPECT_EQ(errorFrom(tar), "archive entry \"/evil\\x0a[INFO] forged\": path is absolute");
}

}  // namespace
}  // namespace opampsup::packages
