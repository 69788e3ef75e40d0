#include <fstream>
#include <system_error>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/opamp/Hex.h"
#include "core/storage/PersistentState.h"
#include "core/storage/StateStore.h"
#include "platform/fs.h"
#include "support/TempDir.h"

#ifndef _WIN32
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace opampsup::storage {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> filesIn(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

TEST(AtomicWrite, ReplacesContentAndLeavesNoTemporaryFiles) {
    testing::TempDir dir;
    auto path = dir.path() / "state.dat";
    platform::writeFileAtomically(path, "first");
    platform::writeFileAtomically(path, std::string("second\0binary", 13));
    std::ifstream in(path, std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content, std::string("second\0binary", 13));
    EXPECT_EQ(filesIn(dir.path()), std::vector<std::string>{"state.dat"});
}

TEST(AtomicWrite, FilesAreOwnerOnly) {
    testing::TempDir dir;
    auto path = dir.path() / "secret.dat";
    platform::writeFileAtomically(path, "x");
    auto perms = std::filesystem::status(path).permissions() & std::filesystem::perms::all;
    EXPECT_EQ(perms, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST(AtomicWrite, ErrorsNameThePath) {
    testing::TempDir dir;
    try {
        platform::writeFileAtomically(dir.path() / "missing" / "x.dat", "x");
        FAIL();
    } catch (const std::system_error& e) {
        EXPECT_THAT(e.what(), HasSubstr((dir.path() / "missing").string()));
    }
}

TEST(PrivateDirectory, CreatedWithOwnerOnlyAccess) {
    testing::TempDir dir;
    auto storage = dir.path() / "a" / "b";
    platform::createPrivateDirectory(storage);
    EXPECT_EQ(std::filesystem::status(storage).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_all);
    std::filesystem::permissions(storage, std::filesystem::perms::all);
    platform::createPrivateDirectory(storage);  // idempotent, and tightens again
    EXPECT_EQ(std::filesystem::status(storage).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_all);
}

TEST(StateStore, ReadWriteAndSetAside) {
    testing::TempDir dir;
    StateStore store(dir.path() / "storage");
    store.prepare();
    EXPECT_FALSE(store.read("x.dat").has_value());
    store.write("x.dat", "payload");
    EXPECT_EQ(store.read("x.dat"), "payload");
    auto aside = store.setAside("x.dat");
    EXPECT_EQ(aside, store.pathOf("x.dat.corrupt"));
    EXPECT_FALSE(store.read("x.dat").has_value());
    EXPECT_EQ(store.read("x.dat.corrupt"), "payload");
}

// What a killed run leaves: atomic-write temporaries and configs being validated. Anything
// else, including look-alikes, stays.
TEST(StateStore, LeftoversOfAKilledRunAreRemovedAndNothingElse) {
    testing::TempDir dir;
    StateStore store(dir.path() / "storage");
    store.prepare();
    store.write("persistent_state.yaml", "instance_id: x\n");
    for (const char* name : {".persistent_state.yaml.tmp-1234567", ".effective.yaml.tmp-9",
                             "validate-config-0a1b.yaml",
                             // look-alikes, kept
                             "effective.yaml.tmp-12", ".hidden", ".x.tmp-", ".x.tmp-12a",
                             "my-validate-config-x.yaml", "agent.log"}) {
        std::ofstream(store.pathOf(name)) << "x";
    }
    std::filesystem::create_directories(store.pathOf("validate-config-dir"));
    std::filesystem::create_directories(store.pathOf(".dir.tmp-5"));

    EXPECT_EQ(
        store.removeLeftovers({"validate-config-"}),
        (std::vector<std::string>{".effective.yaml.tmp-9", ".persistent_state.yaml.tmp-1234567",
                                  "validate-config-0a1b.yaml"}));
    EXPECT_EQ(
        filesIn(store.directory()),
        (std::vector<std::string>{".dir.tmp-5", ".hidden", ".x.tmp-", ".x.tmp-12a", "agent.log",
                                  "effective.yaml.tmp-12", "my-validate-config-x.yaml",
                                  "persistent_state.yaml", "validate-config-dir"}));
    EXPECT_TRUE(store.removeLeftovers({"validate-config-"}).empty());
    EXPECT_THROW(StateStore(dir.path() / "missing").removeLeftovers({}), std::system_error);
}

#ifndef _WIN32
// agent.run_as: the collector's group passes through the store to the files written for
// it, and reads nothing else. As root the test shares with nogroup (65534), otherwise with
// its own group, the only one a non-root owner may give a file.
struct Ownership {
    int mode = -1;
    long group = -1;
};

Ownership ownershipOf(const std::filesystem::path& path) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) {
        return {};
    }
    return {static_cast<int>(info.st_mode & 07777), static_cast<long>(info.st_gid)};
}

long groupToShareWith() {
    return ::geteuid() == 0 ? 65534L : static_cast<long>(::getegid());
}

TEST(CollectorGroup, TheGroupPassesTheStoreAndReadsOnlyTheFilesWrittenForTheCollector) {
    testing::TempDir dir;
    const long group = groupToShareWith();
    StateStore store(dir.path() / "storage", group);
    store.prepare();
    store.write("persistent_state.yaml", "private");
    store.writeForCollector("effective.yaml", "shared");
    store.writeForCollector("effective.yaml", "shared again");  // replaced, still shared
    EXPECT_EQ(ownershipOf(store.directory()).mode, 0710);
    EXPECT_EQ(ownershipOf(store.directory()).group, group);
    EXPECT_EQ(ownershipOf(store.pathOf("persistent_state.yaml")).mode, 0600);
    EXPECT_EQ(ownershipOf(store.pathOf("effective.yaml")).mode, 0640);
    EXPECT_EQ(ownershipOf(store.pathOf("effective.yaml")).group, group);
    EXPECT_EQ(filesIn(store.directory()),
              (std::vector<std::string>{"effective.yaml", "persistent_state.yaml"}));

    StateStore packages = store.subdirectory("packages");
    packages.prepare();
    EXPECT_EQ(ownershipOf(packages.directory()).mode, 0710);
    EXPECT_EQ(packages.collectorGroup(), group);
    std::filesystem::create_directories(packages.pathOf("agent/abc"));
    platform::writeFileAtomically(packages.pathOf("agent/abc/otelcol"), "binary");
    std::filesystem::permissions(packages.pathOf("agent/abc/otelcol"),
                                 std::filesystem::perms::owner_all);
    for (const char* name : {"agent", "agent/abc", "agent/abc/otelcol"}) {
        packages.shareWithCollector(packages.pathOf(name));
    }
    EXPECT_EQ(ownershipOf(packages.pathOf("agent/abc")).mode, 0710);
    EXPECT_EQ(ownershipOf(packages.pathOf("agent/abc/otelcol")).mode, 0750);
    EXPECT_EQ(ownershipOf(packages.pathOf("agent/abc/otelcol")).group, group);

    std::filesystem::create_symlink("/etc/passwd", packages.pathOf("link"));
    EXPECT_THROW(packages.shareWithCollector(packages.pathOf("link")), std::system_error);
}

TEST(CollectorGroup, WithoutRunAsNothingIsShared) {
    testing::TempDir dir;
    StateStore store(dir.path() / "storage");
    store.prepare();
    store.writeForCollector("effective.yaml", "x");
    store.shareWithCollector(store.pathOf("effective.yaml"));
    EXPECT_EQ(ownershipOf(store.directory()).mode, 0700);
    EXPECT_EQ(ownershipOf(store.pathOf("effective.yaml")).mode, 0600);
}
#endif

class PersistentStateTest : public ::testing::Test {
  protected:
    PersistentStateTest() : store_(dir_.path()) {}
    testing::TempDir dir_;
    StateStore store_;
};

TEST_F(PersistentStateTest, CreatesFromTheConfiguredInstanceId) {
    LoadedPersistentState loaded =
        loadOrCreatePersistentState(store_, "018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f");
    EXPECT_TRUE(loaded.created);
    EXPECT_EQ(loaded.state.instanceId.toString(), "018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f");
    EXPECT_EQ(store_.read(kPersistentStateFile),
              "instance_id: 018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f\n");
}

TEST_F(PersistentStateTest, GeneratesAUuidV7AndKeepsItAcrossRestarts) {
    LoadedPersistentState first = loadOrCreatePersistentState(store_, "");
    EXPECT_TRUE(first.created);
    EXPECT_EQ(first.state.instanceId.version(), 7);
    LoadedPersistentState second =
        loadOrCreatePersistentState(store_, "018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f");
    EXPECT_FALSE(second.created);
    EXPECT_EQ(second.state.instanceId, first.state.instanceId);  // the file wins over config
}

TEST_F(PersistentStateTest, CorruptFileIsSetAsideAndReplaced) {
    store_.write(kPersistentStateFile, "instance_id: [not, a, uuid\n");
    LoadedPersistentState loaded = loadOrCreatePersistentState(store_, "");
    EXPECT_TRUE(loaded.created);
    ASSERT_EQ(loaded.notes.size(), 1U);
    EXPECT_THAT(loaded.notes[0], HasSubstr("invalid YAML"));
    EXPECT_THAT(loaded.notes[0], HasSubstr("persistent_state.yaml.corrupt"));
    EXPECT_EQ(store_.read("persistent_state.yaml.corrupt"), "instance_id: [not, a, uuid\n");

    store_.write(kPersistentStateFile, "instance_id: 00000000-0000-0000-0000-000000000000\n");
    EXPECT_THAT(loadOrCreatePersistentState(store_, "").notes.at(0), HasSubstr("is not a UUID"));
    store_.write(kPersistentStateFile, "something_else: 1\n");
    EXPECT_THAT(loadOrCreatePersistentState(store_, "").notes.at(0),
                HasSubstr("instance_id is missing"));
}

TEST_F(PersistentStateTest, KeepsKeysItDoesNotKnow) {
    store_.write(kPersistentStateFile,
                 "instance_id: 018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f\nopamp_connection_settings:\n  "
                 "bootstrap_hash: ab\n");
    LoadedPersistentState loaded = loadOrCreatePersistentState(store_, "");
    EXPECT_FALSE(loaded.created);
    loaded.state.instanceId = opamp::Uuid::generateV7();
    savePersistentState(store_, loaded.state);
    std::string saved = *store_.read(kPersistentStateFile);
    EXPECT_THAT(saved, HasSubstr("instance_id: " + loaded.state.instanceId.toString()));
    EXPECT_THAT(saved, HasSubstr("opamp_connection_settings:\n  bootstrap_hash: ab"));
}

TEST_F(PersistentStateTest, ReadsTheRemoteConfigStatusTheGoSupervisorWrites) {
    store_.write(kPersistentStateFile, R"(
instance_id: "018feed6-905b-7aa6-ba37-b0eec565de03"
last_remote_config_status:
  status: 3
  last_remote_config_hash: 259ac3f596a87e6b8ca3b431908ac237ed8ae86128274da7911fcbedb93186a3
  error_message: "test error message")");
    LoadedPersistentState loaded = loadOrCreatePersistentState(store_, "");
    EXPECT_TRUE(loaded.notes.empty());
    ASSERT_TRUE(loaded.state.lastRemoteConfigStatus);
    const auto& status = *loaded.state.lastRemoteConfigStatus;
    EXPECT_EQ(status.status(), ::opamp::proto::RemoteConfigStatuses_FAILED);
    EXPECT_EQ(opamp::hex(status.last_remote_config_hash()),
              "259ac3f596a87e6b8ca3b431908ac237ed8ae86128274da7911fcbedb93186a3");
    EXPECT_EQ(status.error_message(), "test error message");
}

TEST_F(PersistentStateTest, WritesTheRemoteConfigStatusByteForByte) {
    PersistentState state;
    state.instanceId = *opamp::Uuid::parse("018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f");
    ::opamp::proto::RemoteConfigStatus status;
    status.set_status(::opamp::proto::RemoteConfigStatuses_APPLIED);
    status.set_last_remote_config_hash(std::string("\x01\xab\xff", 3));
    state.lastRemoteConfigStatus = status;
    savePersistentState(store_, state);
    EXPECT_EQ(store_.read(kPersistentStateFile),
              "instance_id: 018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f\n"
              "last_remote_config_status:\n"
              "  status: 1\n"
              "  last_remote_config_hash: 01abff\n"
              "  error_message: \"\"\n");
    LoadedPersistentState again = loadOrCreatePersistentState(store_, "");
    ASSERT_TRUE(again.state.lastRemoteConfigStatus);
    EXPECT_EQ(again.state.lastRemoteConfigStatus->SerializeAsString(), status.SerializeAsString());
}

TEST_F(PersistentStateTest, AMalformedStatusIsDroppedAndTheInstanceIdKept) {
    for (const char* bad : {"status: 9", "status: x", "last_remote_config_hash: xyz", "[1, 2]"}) {
        store_.write(kPersistentStateFile,
                     std::string("instance_id: 018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f\n"
                                 "last_remote_config_status:\n  ") +
                         bad + "\n");
        LoadedPersistentState loaded = loadOrCreatePersistentState(store_, "");
        EXPECT_FALSE(loaded.created) << bad;
        EXPECT_FALSE(loaded.state.lastRemoteConfigStatus) << bad;
        ASSERT_EQ(loaded.notes.size(), 1U) << bad;
        EXPECT_THAT(loaded.notes[0], HasSubstr("last_remote_config_status: ")) << bad;
        EXPECT_THAT(loaded.notes[0], HasSubstr("; ignored")) << bad;
    }
}

TEST(Hex, RoundTrip) {
    EXPECT_EQ(opamp::unhex("01ABff"), std::string("\x01\xab\xff", 3));
    EXPECT_EQ(opamp::unhex(""), std::string());
    EXPECT_EQ(opamp::unhex("0"), std::nullopt);
    EXPECT_EQ(opamp::unhex("0g"), std::nullopt);
}

}  // namespace
}  // namespace opampsup::storage
