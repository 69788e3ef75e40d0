#include "core/storage/StateStore.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include "platform/fs.h"

namespace opampsup::storage {

StateStore::StateStore(std::filesystem::path directory, std::optional<long> collectorGroup)
    : directory_(std::move(directory)), collectorGroup_(collectorGroup) {}

StateStore StateStore::subdirectory(std::string_view name) const {
    return StateStore(pathOf(name), collectorGroup_);
}

std::filesystem::path StateStore::pathOf(std::string_view name) const {
    return directory_ / std::filesystem::path(name);
}

void StateStore::prepare() const {
    platform::createPrivateDirectory(directory_, collectorGroup_);
}

std::optional<std::string> StateStore::read(std::string_view name) const {
    std::filesystem::path path = pathOf(name);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        if (ec) {
            throw std::system_error(ec, "cannot check " + path.string());
        }
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    if (!in || in.bad()) {
        throw std::system_error(std::make_error_code(std::errc::io_error),
                                "cannot read " + path.string());
    }
    return content.str();
}

void StateStore::write(std::string_view name, std::string_view content) const {
    platform::writeFileAtomically(pathOf(name), content);
}

void StateStore::writeForCollector(std::string_view name, std::string_view content) const {
    platform::writeFileAtomically(pathOf(name), content, collectorGroup_);
}

void StateStore::shareWithCollector(const std::filesystem::path& path) const {
    if (collectorGroup_) {
        platform::shareWithGroup(path, *collectorGroup_);
    }
}

std::filesystem::path StateStore::setAside(std::string_view name) const {
    std::filesystem::path from = pathOf(name);
    std::filesystem::path to = from;
    to += ".corrupt";
    std::error_code ec;
    std::filesystem::rename(from, to, ec);
    if (ec) {
        throw std::system_error(ec, "cannot move " + from.string() + " aside");
    }
    return to;
}

namespace {

// ".<name>.tmp-<digits>", as platform::writeFileAtomically names its temporaries.
bool isAtomicWriteTemporary(const std::string& name) {
    std::size_t tmp = name.rfind(".tmp-");
    if (name.size() < 2 || name[0] != '.' || tmp == std::string::npos || tmp == 0 ||
        tmp + 5 == name.size()) {
        return false;
    }
    return name.find_first_not_of("0123456789", tmp + 5) == std::string::npos;
}

}  // namespace

std::vector<std::string> StateStore::removeLeftovers(
    const std::vector<std::string>& scratchPrefixes) const {
    std::vector<std::string> removed;
    std::error_code ec;
    std::filesystem::directory_iterator entries(directory_, ec);
    if (ec) {
        throw std::system_error(ec, "cannot list " + directory_.string());
    }
    for (const auto& entry : entries) {
        const std::string name = entry.path().filename().string();
        bool scratch = std::any_of(scratchPrefixes.begin(), scratchPrefixes.end(),
                                   [&](const std::string& p) { return name.rfind(p, 0) == 0; });
        if (!(scratch || isAtomicWriteTemporary(name)) || !entry.is_regular_file(ec)) {
            continue;
        }
        std::filesystem::remove(entry.path(), ec);
        if (ec) {
            throw std::system_error(ec, "cannot remove " + entry.path().string());
        }
        removed.push_back(name);
    }
    std::sort(removed.begin(), removed.end());
    return removed;
}

void StateStore::remove(std::string_view name) const {
    std::error_code ec;
    std::filesystem::remove(pathOf(name), ec);
    if (ec) {
        throw std::system_error(ec, "cannot remove " + pathOf(name).string());
    }
}

}  // namespace opampsup::storage
