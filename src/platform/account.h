#pragma once

// The account the collector runs as when `agent.run_as` is set: the supervisor keeps its
// own privileges (it may need them to install packages or bind ports) while the collector,
// which parses untrusted data all day, gets only those of a dedicated user.

#include <string>
#include <vector>

namespace opampsup::platform {

struct Account {
    std::string user;
    std::string group;
    long uid = -1;
    long gid = -1;
    std::vector<long> supplementaryGroups;  // as a login of `user` would have them
    std::string home;
};

// Whether this OS can start a child as another account (false on Windows, where the
// service itself is run under the account instead).
bool supportsRunAs();

// Looks `user` up in the system's account database, and `group` too, or takes the user's
// primary group when `group` is empty. Throws std::runtime_error naming what is missing.
Account lookUpAccount(const std::string& user, const std::string& group);

// Empty when this process can start children as `account` (it is root, or already runs as
// exactly that user and group); otherwise why not.
std::string whyCannotRunAs(const Account& account);

}  // namespace opampsup::platform
