#include "platform/account.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

namespace opampsup::platform {
namespace {

std::vector<char> lookupBuffer(int sizeName) {
    long size = ::sysconf(sizeName);
    return std::vector<char>(static_cast<std::size_t>(size > 0 ? size : 16384));
}

// getgrouplist's element type is gid_t on Linux and int on macOS.
template <typename GroupId>
std::vector<long> groupsOf(const std::string& user, long primary,
                           int (*list)(const char*, GroupId, GroupId*, int*)) {
    std::vector<GroupId> groups(32);
    int count = static_cast<int>(groups.size());
    while (list(user.c_str(), static_cast<GroupId>(primary), groups.data(), &count) < 0) {
        // count now holds the size needed (Linux); where it does not, double.
        std::size_t wanted = count > static_cast<int>(groups.size())
                                 ? static_cast<std::size_t>(count)
                                 : groups.size() * 2;
        if (wanted > 65536) {
            throw std::runtime_error("user \"" + user + "\" belongs to too many groups");
        }
        groups.resize(wanted);
        count = static_cast<int>(groups.size());
    }
    std::vector<long> out;
    for (int i = 0; i < count; ++i) {
        out.push_back(static_cast<long>(groups[static_cast<std::size_t>(i)]));
    }
    return out;
}

}  // namespace

bool supportsRunAs() {
    return true;
}

Account lookUpAccount(const std::string& user, const std::string& groupName) {
    if (user.empty()) {
        throw std::runtime_error("the user name is empty");
    }
    Account account;
    account.user = user;
    {
        passwd entry{};
        passwd* found = nullptr;
        std::vector<char> buffer = lookupBuffer(_SC_GETPW_R_SIZE_MAX);
        int error = 0;
        while ((error = ::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found)) ==
               ERANGE) {
            buffer.resize(buffer.size() * 2);
        }
        if (error != 0) {
            throw std::runtime_error("cannot look up user \"" + user +
                                     "\": " + std::strerror(error));
        }
        if (found == nullptr) {
            throw std::runtime_error("no such user \"" + user + "\"");
        }
        account.uid = static_cast<long>(entry.pw_uid);
        account.gid = static_cast<long>(entry.pw_gid);
        account.home = entry.pw_dir != nullptr ? entry.pw_dir : "";
    }

    {
        struct group entry {};
        struct group* found = nullptr;
        std::vector<char> buffer = lookupBuffer(_SC_GETGR_R_SIZE_MAX);
        int error = 0;
        auto lookUp = [&] {
            return groupName.empty() ? ::getgrgid_r(static_cast<gid_t>(account.gid), &entry,
                                                    buffer.data(), buffer.size(), &found)
                                     : ::getgrnam_r(groupName.c_str(), &entry, buffer.data(),
                                                    buffer.size(), &found);
        };
        while ((error = lookUp()) == ERANGE) {
            buffer.resize(buffer.size() * 2);
        }
        if (error != 0) {
            throw std::runtime_error("cannot look up group \"" + groupName +
                                     "\": " + std::strerror(error));
        }
        if (found != nullptr) {
            account.gid = static_cast<long>(entry.gr_gid);
            account.group = entry.gr_name != nullptr ? entry.gr_name : "";
        } else if (!groupName.empty()) {
            throw std::runtime_error("no such group \"" + groupName + "\"");
        } else {
            account.group = std::to_string(account.gid);  // a primary group without a name
        }
    }
    account.supplementaryGroups = groupsOf(user, account.gid, &::getgrouplist);
    return account;
}

std::string whyCannotRunAs(const Account& account) {
    const long uid = static_cast<long>(::geteuid());
    if (uid == 0) {
        return "";
    }
    if (uid == account.uid && static_cast<long>(::getegid()) == account.gid) {
        return "";
    }
    return "the supervisor runs as uid " + std::to_string(uid) +
           " and may not start processes as user \"" + account.user + "\" (uid " +
           std::to_string(account.uid) + "); run it as root, or remove agent.run_as";
}

}  // namespace opampsup::platform
