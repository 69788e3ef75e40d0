// Faults of the disk under the storage directory, driven against the real supervisor
// managing the stand-in collector (see README.md in this directory for the whole table).
// The storage directory is a small tmpfs of its own, made read-only or filled up while
// the supervisor runs; the test needs root (or CAP_SYS_ADMIN) and is skipped without it.
// In each: a config that cannot be kept is FAILED with a reason that names the disk, the
// running collector is kept (the same process, still healthy), nothing persisted is
// corrupted, and once there is room again configs apply as before.
//
// Fault, and its test:
// - the storage read-only:
//   DiskFaults.AReadOnlyStorageFailsConfigsClearlyAndKeepsTheCollector
// - the storage full: DiskFaults.AFullStorageFailsConfigsClearlyAndKeepsTheCollector
// - the same with agent.validate_config off:
//   DiskFaults.AFullStorageWithoutConfigValidationFailsConfigsClearlyAndKeepsTheCollector

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "FaultsE2e.h"

namespace opampsup::faults {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class DiskFaults : public FaultsE2e {
  protected:
    void SetUp() override {
        std::filesystem::create_directories(storage());
        if (::mount("tmpfs", storage().c_str(), "tmpfs", 0, "size=2m,mode=0700") != 0) {
            GTEST_SKIP() << "cannot mount a tmpfs on the storage directory ("
                         << std::strerror(errno) << "): these tests need root or CAP_SYS_ADMIN";
        }
        mounted_ = true;
    }

    void TearDown() override {
        filler_.reset();
        for (int layers = readOnlyLayers_ + (mounted_ ? 1 : 0); layers > 0; --layers) {
            if (::umount2(storage().c_str(), MNT_DETACH) != 0) {
                ADD_FAILURE() << "cannot unmount " << storage() << ": " << std::strerror(errno);
                break;
            }
        }
    }

    // Read-only from now on, for every new open and rename: a read-only bind mount of the
    // storage stacked on it (a remount would be refused while files are open for writing).
    void makeReadOnly() {
        ASSERT_EQ(::mount(storage().c_str(), storage().c_str(), nullptr, MS_BIND, nullptr), 0)
            << std::strerror(errno);
        ++readOnlyLayers_;
        ASSERT_EQ(::mount(nullptr, storage().c_str(), nullptr,
                          static_cast<unsigned long>(MS_REMOUNT | MS_BIND | MS_RDONLY), nullptr),
                  0)
            << std::strerror(errno);
    }

    void makeWritable() {
        ASSERT_EQ(readOnlyLayers_, 1);
        ASSERT_EQ(::umount2(storage().c_str(), MNT_DETACH), 0) << std::strerror(errno);
        --readOnlyLayers_;
    }

    // Every file in the storage and its bytes, agent.log aside (the collector's output).
    std::map<std::string, std::string> snapshot() const {
        std::map<std::string, std::string> files;
        for (const auto& entry : std::filesystem::recursive_directory_iterator(storage())) {
            if (entry.is_regular_file() && entry.path().filename() != "agent.log") {
                files[entry.path().string()] = testing::readFile(entry.path());
            }
        }
        return files;
    }

    // Fills the storage's filesystem to leave `pagesFree` pages (tmpfs allocates by page).
    void fill(std::size_t pagesFree) {
        const auto path = storage() / "filler";
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ASSERT_GE(fd, 0) << std::strerror(errno);
        filler_ = std::make_unique<Filler>(fd, path);
        const std::string chunk(64 * 1024, 'f');
        off_t size = 0;
        while (true) {
            ssize_t n = ::write(fd, chunk.data(), chunk.size());
            if (n <= 0) {
                ASSERT_EQ(errno, ENOSPC) << std::strerror(errno);
                break;
            }
            size += n;
        }
        const long page = ::sysconf(_SC_PAGESIZE);
        ASSERT_EQ(::ftruncate(fd, std::max<off_t>(0, size - static_cast<off_t>(pagesFree) * page)),
                  0);
    }

    std::string freeSpace() const {
        struct statvfs fs {};
        if (::statvfs(storage().c_str(), &fs) != 0) {
            return "unknown";
        }
        return std::to_string(fs.f_bavail * fs.f_frsize) + " bytes free";
    }

    struct Filler {
        Filler(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
        ~Filler() {
            ::close(fd_);
            std::error_code ignored;
            std::filesystem::remove(path_, ignored);
        }
        int fd_;
        std::filesystem::path path_;
    };

    void fillUpWhileConfigsArrive(bool validate);

    bool mounted_ = false;
    int readOnlyLayers_ = 0;
    std::unique_ptr<Filler> filler_;
};

// The storage turns read-only under a running supervisor. A pushed config cannot be kept:
// it is FAILED naming the read-only file system, the collector keeps running the config
// before it, and no persisted file changes. Writable again, the next config applies.
TEST_F(DiskFaults, AReadOnlyStorageFailsConfigsClearlyAndKeepsTheCollector) {
    auto supervisor = startSupervisor(remoteConfigSupervisor(server_.endpoint("ws")));
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    const auto first = dir_.path() / "first.jsonl";
    const std::string firstHash = server_.pushConfig(uid, "", producing(first));
    ASSERT_TRUE(waitForTruth(uid, firstHash, first)) << logOf(*supervisor);
    const auto collector = theCollector();
    ASSERT_TRUE(collector);

    makeReadOnly();
    ASSERT_FALSE(HasFatalFailure());
    const auto before = snapshot();
    const auto refused = dir_.path() / "refused.jsonl";
    const std::string refusedHash = server_.pushConfig(uid, "", producing(refused));
    auto failed = waitForStatus(uid, refusedHash, pb::RemoteConfigStatuses_FAILED);
    ASSERT_TRUE(failed) << logOf(*supervisor);
    EXPECT_THAT(failed->error_message(), HasSubstr("Read-only file system"));
    std::string problem;
    EXPECT_TRUE(waitUntil([&] {
        problem = untruth(uid, refusedHash, first, pb::RemoteConfigStatuses_FAILED);
        return problem.empty();
    })) << problem
        << "\n"
        << logOf(*supervisor);
    EXPECT_EQ(collectorProcesses(), std::vector<pid_t>{*collector});
    EXPECT_FALSE(std::filesystem::exists(refused));
    EXPECT_EQ(snapshot(), before);
    EXPECT_EQ(persistedStateProblems(), std::vector<std::string>{});
    EXPECT_THAT(logOf(*supervisor), HasSubstr("Read-only file system"));

    makeWritable();
    const auto next = dir_.path() / "next.jsonl";
    const std::string nextHash = server_.pushConfig(uid, "", producing(next));
    EXPECT_TRUE(waitForTruth(uid, nextHash, next)) << logOf(*supervisor);
    EXPECT_EQ(persistedStateProblems(), std::vector<std::string>{});
}

// The storage fills up under a running supervisor, leaving from 0 to 6 pages free, and a
// config a little under two pages long is pushed each time: the writes it needs (the
// received config, the status, the file to validate, effective.yaml) fail at different
// points. Each ends with a verdict the server can trust: APPLIED and running, or FAILED
// with the disk named as the reason and the config before it still running, healthy, in the
// same process. The persisted files parse throughout, and with room again the next config
// applies. With agent.validate_config on and off, as the write that fails is not the same.
void DiskFaults::fillUpWhileConfigsArrive(bool validate) {
    auto supervisor = startSupervisor(remoteConfigSupervisor(
        server_.endpoint("ws"),
        std::string("  validate_config: ") + (validate ? "true" : "false") + "\n"));
    const std::string uid = healthyAgent(*supervisor);
    ASSERT_FALSE(uid.empty());
    auto running = dir_.path() / "first.jsonl";
    ASSERT_TRUE(waitForTruth(uid, server_.pushConfig(uid, "", producing(running)), running))
        << logOf(*supervisor);

    int failures = 0;
    for (std::size_t pages : {0U, 1U, 2U, 3U, 4U, 5U, 6U}) {
        SCOPED_TRACE(std::to_string(pages) + " pages left free");
        const auto collector = theCollector();
        ASSERT_TRUE(collector);
        fill(pages);
        ASSERT_FALSE(HasFatalFailure());
        const std::string space = freeSpace();
        const auto out = dir_.path() / ("out-" + std::to_string(pages) + ".jsonl");
        // About two pages a file: some of the writes the config needs fit, some do not.
        const std::string hash =
            server_.pushConfig(uid, "",
                               producing(out) + "processors:\n  batch/padding:\n    note: \"" +
                                   std::string(7300, 'p') + "\"\n");
        pb::RemoteConfigStatus verdict;
        ASSERT_TRUE(waitUntil(
            [&] {
                verdict = serverView(uid).status.remote_config_status();
                return opamp::hex(verdict.last_remote_config_hash()) == hash &&
                       (verdict.status() == pb::RemoteConfigStatuses_APPLIED ||
                        verdict.status() == pb::RemoteConfigStatuses_FAILED);
            },
            20s))
            << "no verdict with " << space << "\n"
            << logOf(*supervisor);
        std::cout << "[ DISK     ] " << pages << " pages free (" << space
                  << "): " << pb::RemoteConfigStatuses_Name(verdict.status()) << " "
                  << verdict.error_message() << "\n";
        std::string problem;
        if (verdict.status() == pb::RemoteConfigStatuses_APPLIED) {
            running = out;
            EXPECT_TRUE(waitUntil([&] {
                problem = untruth(uid, hash, running);
                return problem.empty();
            })) << problem
                << "\n"
                << logOf(*supervisor);
        } else {
            ++failures;
            EXPECT_THAT(verdict.error_message(), HasSubstr("No space left on device"))
                << "with " << space << "\n"
                << logOf(*supervisor);
            EXPECT_TRUE(waitUntil([&] {
                problem = untruth(uid, hash, running, pb::RemoteConfigStatuses_FAILED);
                return problem.empty();
            })) << problem
                << "\n"
                << logOf(*supervisor);
            EXPECT_EQ(collectorProcesses(), std::vector<pid_t>{*collector})
                << "the collector was restarted for a config that failed";
        }
        EXPECT_EQ(persistedStateProblems(), std::vector<std::string>{}) << "with " << space;
        filler_.reset();
    }
    EXPECT_GE(failures, 1) << "the disk was never full enough to fail a config";

    const auto next = dir_.path() / "next.jsonl";
    const std::string nextHash = server_.pushConfig(uid, "", producing(next));
    EXPECT_TRUE(waitForTruth(uid, nextHash, next)) << logOf(*supervisor);
    EXPECT_EQ(persistedStateProblems(), std::vector<std::string>{});
}

TEST_F(DiskFaults, AFullStorageFailsConfigsClearlyAndKeepsTheCollector) {
    fillUpWhileConfigsArrive(true);
}

TEST_F(DiskFaults, AFullStorageWithoutConfigValidationFailsConfigsClearlyAndKeepsTheCollector) {
    fillUpWhileConfigsArrive(false);
}

}  // namespace
}  // namespace opampsup::faults
