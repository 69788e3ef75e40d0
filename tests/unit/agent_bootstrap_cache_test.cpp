#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "core/agent/BootstrapCache.h"
#include "support/TempDir.h"

namespace opampsup::agent {
namespace {

namespace pb = ::opamp::proto;

BootstrapInfo info(const std::string& version) {
    BootstrapInfo i;
    auto* kv = i.description.add_identifying_attributes();
    kv->set_key("service.version");
    kv->mutable_value()->set_string_value(version);
    pb::AvailableComponents components;
    components.set_hash("h");
    i.components = components;
    return i;
}

class BootstrapCacheTest : public ::testing::Test {
  protected:
    BootstrapCacheTest() : store_(dir_.path() / "storage"), cache_(store_) {
        store_.prepare();
        exe_ = dir_.write("otelcol", "binary v1");
    }
    testing::TempDir dir_;
    storage::StateStore store_;
    BootstrapCache cache_;
    std::filesystem::path exe_;
};

TEST_F(BootstrapCacheTest, HitForTheSameBinary) {
    auto fingerprint = ExecutableFingerprint::of(exe_);
    EXPECT_EQ(fingerprint.sha256.size(), 64U);
    EXPECT_FALSE(cache_.load(fingerprint));
    cache_.save(fingerprint, info("0.1.0"));
    auto hit = cache_.load(ExecutableFingerprint::of(exe_));
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->description.identifying_attributes(0).value().string_value(), "0.1.0");
    ASSERT_TRUE(hit->components);
    EXPECT_EQ(hit->components->hash(), "h");
}

TEST_F(BootstrapCacheTest, AnyChangeToTheBinaryMisses) {
    cache_.save(ExecutableFingerprint::of(exe_), info("0.1.0"));
    // Same size, new content: the digest tells them apart even if the time did not move.
    std::ofstream(exe_, std::ios::trunc) << "binary v2";
    EXPECT_FALSE(cache_.load(ExecutableFingerprint::of(exe_)));
}

TEST_F(BootstrapCacheTest, DamagedFileIsSetAsideAndMisses) {
    auto fingerprint = ExecutableFingerprint::of(exe_);
    store_.write(BootstrapCache::kFileName, "garbage");
    EXPECT_FALSE(cache_.load(fingerprint));
    EXPECT_TRUE(std::filesystem::exists(store_.pathOf("bootstrap_cache.dat.corrupt")));
    cache_.save(fingerprint, info("0.2.0"));
    EXPECT_TRUE(cache_.load(fingerprint));
}

}  // namespace
}  // namespace opampsup::agent
