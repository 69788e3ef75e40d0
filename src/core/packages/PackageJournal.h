#pragma once

// packages/journal.yaml: what the package manager has installed, the offer it works from,
// the install in progress and the statuses last reported. Each step of an install is
// written here before it is taken, so a supervisor killed at any point finds, at its next
// start, either the step to resume or nothing half-done to trust:
//
//   downloading  the .part file may be incomplete: resume it
//   staged       the file is verified and unpacked: go on with the install
//   trial        a new collector binary was on trial: the installed one (`agent`) runs
//                again, and the trial is retried (a limited number of times)
//
// `agent` changes only when a new collector binary has passed its trial, so the binary the
// supervisor starts after any crash is one that ran healthy.

#include <map>
#include <optional>
#include <set>
#include <string>

#include "opamp.pb.h"

namespace opampsup::packages {

inline constexpr const char* kPackagesDirectory = "packages";
inline constexpr const char* kJournalFile = "journal.yaml";

struct InstalledPackage {
    std::string version;
    std::string hash;  // PackageAvailable.hash, raw bytes
    std::string path;  // relative to the packages directory
};

struct PendingInstall {
    enum class Step { Downloading, Staged, Trial };
    std::string name;  // "" for the collector itself
    Step step = Step::Downloading;
    std::string stagedPath;  // relative to the packages directory, once staged
    int trials = 0;          // trials begun for this binary (interrupted ones included)
};

struct PackageJournal {
    std::optional<InstalledPackage> agent;          // the collector binary a package installed
    std::optional<InstalledPackage> previousAgent;  // the one before it, kept on disk
    std::map<std::string, InstalledPackage> addons;
    std::set<std::string> badHashes;  // packages that failed their install: never retried
    std::optional<::opamp::proto::PackagesAvailable> offer;  // the server's last offer
    std::optional<PendingInstall> pending;
    ::opamp::proto::PackageStatuses statuses;  // as last reported
};

std::string serializeJournal(const PackageJournal& journal);
// Throws std::runtime_error naming the key that cannot be read.
PackageJournal parseJournal(const std::string& yaml);

const char* stepName(PendingInstall::Step step);

}  // namespace opampsup::packages
