#pragma once

// What bootstrapping learned from a collector binary (its AgentDescription and available
// components), kept in <storage>/bootstrap_cache.dat so a supervisor restart with the same
// binary needs no extra launch. The Go supervisor bootstraps on every start.
//
// The entry is keyed by the executable's path, size, modification time and SHA-256: any
// change to the binary (an upgrade, a package swap) misses the cache.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "core/storage/StateStore.h"
#include "opamp.pb.h"

namespace opampsup::agent {

struct ExecutableFingerprint {
    std::string path;
    std::uintmax_t size = 0;
    std::int64_t modified = 0;  // nanoseconds since the file clock's epoch
    std::string sha256;         // hex

    // Throws std::system_error when the file cannot be read.
    static ExecutableFingerprint of(const std::filesystem::path& executable);
    std::string key() const;
};

struct BootstrapInfo {
    ::opamp::proto::AgentDescription description;
    std::optional<::opamp::proto::AvailableComponents> components;
};

class BootstrapCache {
  public:
    static constexpr const char* kFileName = "bootstrap_cache.dat";

    explicit BootstrapCache(const storage::StateStore& store) : store_(store) {}

    // The cached info for this binary; nullopt on a miss. A damaged file is set aside and
    // counts as a miss.
    std::optional<BootstrapInfo> load(const ExecutableFingerprint& fingerprint) const;
    // Throws std::system_error when the file cannot be written.
    void save(const ExecutableFingerprint& fingerprint, const BootstrapInfo& info) const;

  private:
    const storage::StateStore& store_;
};

}  // namespace opampsup::agent
