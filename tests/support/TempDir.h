#pragma once

// A fresh directory per test, removed with everything in it when the test ends.

#include <filesystem>
#include <string>

namespace opampsup::testing {

class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    // Writes `content` to `name` inside the directory and returns the full path.
    std::filesystem::path write(const std::string& name, const std::string& content) const;

    // Creates an executable file (a shell script) named `name`.
    std::filesystem::path writeExecutable(const std::string& name) const;

  private:
    std::filesystem::path path_;
};

}  // namespace opampsup::testing
