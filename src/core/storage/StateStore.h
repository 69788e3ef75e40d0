#pragma once

// The supervisor's storage directory: named files, each replaced atomically, so that a kill
// at any instant leaves the old or the new content and never a torn file.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opampsup::storage {

class StateStore {
  public:
    // `collectorGroup`: the group of agent.run_as, which may pass through the directory to
    // the files written for the collector and read nothing else.
    explicit StateStore(std::filesystem::path directory,
                        std::optional<long> collectorGroup = std::nullopt);

    const std::filesystem::path& directory() const { return directory_; }
    std::filesystem::path pathOf(std::string_view name) const;
    const std::optional<long>& collectorGroup() const { return collectorGroup_; }
    // A store for a subdirectory, shared with the same group.
    StateStore subdirectory(std::string_view name) const;

    // Creates the directory, private to the supervisor's user (and passable by the
    // collector's group). Throws std::system_error.
    void prepare() const;

    // The file's content; nullopt when it does not exist. Throws std::system_error when it
    // exists but cannot be read.
    std::optional<std::string> read(std::string_view name) const;

    // Atomically replaces the file (mode 0600). Throws std::system_error.
    void write(std::string_view name, std::string_view content) const;
    // The same for a file the collector reads (its config, the certificates it is offered):
    // readable by the collector's group under agent.run_as.
    void writeForCollector(std::string_view name, std::string_view content) const;
    // Lets the collector's group reach a file or directory made inside the store by other
    // means (a package's binary); nothing happens without agent.run_as.
    void shareWithCollector(const std::filesystem::path& path) const;

    // Deletes the file; nothing happens when it does not exist. Throws std::system_error.
    void remove(std::string_view name) const;

    // Removes what a run that was killed can leave behind: the temporaries of atomic
    // writes (".<name>.tmp-<digits>") and files whose names start with one of
    // `scratchPrefixes` (the supervisor's configs being validated). Only at start, before
    // anything writes to the store. Returns the names removed; throws std::system_error
    // when the directory cannot be listed or a file cannot be removed.
    std::vector<std::string> removeLeftovers(const std::vector<std::string>& scratchPrefixes) const;

    // Moves a file whose content could not be used to "<name>.corrupt", replacing an older
    // one, so the evidence stays for a person to look at and the next start is clean.
    // Returns the new path.
    std::filesystem::path setAside(std::string_view name) const;

  private:
    std::filesystem::path directory_;
    std::optional<long> collectorGroup_;
};

}  // namespace opampsup::storage
