#include "core/agent/BootstrapCache.h"

#include <array>
#include <fstream>
#include <system_error>

#include <Poco/SHA2Engine.h>

namespace opampsup::agent {
namespace pb = ::opamp::proto;

namespace {

constexpr const char* kMagic = "opampsup-bootstrap-cache 1\n";

}  // namespace

ExecutableFingerprint ExecutableFingerprint::of(const std::filesystem::path& executable) {
    ExecutableFingerprint f;
    f.path = std::filesystem::absolute(executable).lexically_normal().string();
    f.size = std::filesystem::file_size(executable);
    f.modified = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::filesystem::last_write_time(executable).time_since_epoch())
                     .count();
    std::ifstream in(executable, std::ios::binary);
    if (!in) {
        throw std::system_error(std::make_error_code(std::errc::permission_denied),
                                "cannot read " + f.path);
    }
    Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
    std::array<char, 64 * 1024> buffer{};
    while (in) {
        in.read(buffer.data(), buffer.size());
        sha.update(buffer.data(), static_cast<unsigned>(in.gcount()));
    }
    f.sha256 = Poco::DigestEngine::digestToHex(sha.digest());
    return f;
}

std::string ExecutableFingerprint::key() const {
    return path + "\t" + std::to_string(size) + "\t" + std::to_string(modified) + "\t" + sha256;
}

std::optional<BootstrapInfo> BootstrapCache::load(const ExecutableFingerprint& fingerprint) const {
    std::optional<std::string> content = store_.read(kFileName);
    if (!content) {
        return std::nullopt;
    }
    std::string header = kMagic + fingerprint.key() + "\n";
    if (content->rfind(kMagic, 0) != 0) {
        store_.setAside(kFileName);
        return std::nullopt;
    }
    if (content->rfind(header, 0) != 0) {
        return std::nullopt;  // another binary: a plain miss
    }
    pb::AgentToServer saved;
    if (!saved.ParseFromArray(content->data() + header.size(),
                              static_cast<int>(content->size() - header.size())) ||
        !saved.has_agent_description()) {
        store_.setAside(kFileName);
        return std::nullopt;
    }
    BootstrapInfo info;
    info.description = saved.agent_description();
    if (saved.has_available_components()) {
        info.components = saved.available_components();
    }
    return info;
}

void BootstrapCache::save(const ExecutableFingerprint& fingerprint,
                          const BootstrapInfo& info) const {
    // An AgentToServer carries both parts; only these two fields are used.
    pb::AgentToServer saved;
    *saved.mutable_agent_description() = info.description;
    if (info.components) {
        *saved.mutable_available_components() = *info.components;
    }
    store_.write(kFileName, kMagic + fingerprint.key() + "\n" + saved.SerializeAsString());
}

}  // namespace opampsup::agent
