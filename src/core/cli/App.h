#pragma once

// What the opampsupervisor executable does with its command line. Kept out of main.cpp so
// tests can run it in-process with their own streams.

#include <iosfwd>
#include <string>
#include <vector>

namespace opampsup::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// `args` excludes the program name. Returns the process exit code.
int runApp(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace opampsup::cli
