#include "platform/fs.h"

#include <cerrno>
#include <random>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace opampsup::platform {
namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
    throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

// Closes the descriptor on every path out of a scope.
class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }

  private:
    int fd_;
};

std::filesystem::path temporarySibling(const std::filesystem::path& path) {
    std::random_device random;
    return path.parent_path() /
           ("." + path.filename().string() + ".tmp-" + std::to_string(random()));
}

}  // namespace

void writeFileAtomically(const std::filesystem::path& path, std::string_view content,
                         std::optional<long> sharedWithGroup) {
    std::filesystem::path temp = temporarySibling(path);
    Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
        fail("cannot create", temp);
    }
    // Shared before the rename, so the collector never finds the new file unreadable.
    if (sharedWithGroup &&
        (::fchown(fd.get(), static_cast<uid_t>(-1), static_cast<gid_t>(*sharedWithGroup)) != 0 ||
         ::fchmod(fd.get(), 0640) != 0)) {
        int saved = errno;
        ::unlink(temp.c_str());
        errno = saved;
        fail("cannot share with the collector's group", temp);
    }
    const char* data = content.data();
    std::size_t left = content.size();
    while (left > 0) {
        ssize_t written = ::write(fd.get(), data, left);
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            int saved = errno;
            ::unlink(temp.c_str());
            errno = saved;
            fail("cannot write", temp);
        }
        data += written;
        left -= static_cast<std::size_t>(written);
    }
    if (::fsync(fd.get()) != 0) {
        int saved = errno;
        ::unlink(temp.c_str());
        errno = saved;
        fail("cannot flush", temp);
    }
    if (::close(fd.release()) != 0) {
        int saved = errno;
        ::unlink(temp.c_str());
        errno = saved;
        fail("cannot close", temp);
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        int saved = errno;
        ::unlink(temp.c_str());
        errno = saved;
        fail("cannot replace", path);
    }
    std::filesystem::path directory = path.parent_path().empty() ? "." : path.parent_path();
    Fd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0 || ::fsync(dir.get()) != 0) {
        fail("cannot flush directory", directory);
    }
}

void flushToDisk(const std::filesystem::path& file) {
    Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0 || ::fsync(fd.get()) != 0) {
        fail("cannot flush", file);
    }
    std::filesystem::path directory = file.parent_path().empty() ? "." : file.parent_path();
    Fd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0 || ::fsync(dir.get()) != 0) {
        fail("cannot flush directory", directory);
    }
}

void createPrivateDirectory(const std::filesystem::path& directory,
                            std::optional<long> sharedWithGroup) {
    std::error_code ec;
    std::filesystem::create_directories(directory, ec);
    if (ec) {
        throw std::system_error(ec, "cannot create directory " + directory.string());
    }
    if (sharedWithGroup) {
        shareWithGroup(directory, *sharedWithGroup);
    } else if (::chmod(directory.c_str(), 0700) != 0) {
        fail("cannot restrict the permissions of", directory);
    }
}

void shareWithGroup(const std::filesystem::path& path, long group) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) {
        fail("cannot share with the collector's group", path);
    }
    if (S_ISLNK(info.st_mode)) {
        errno = ELOOP;  // never follow a link out of the supervisor's own tree
        fail("cannot share a symbolic link with the collector's group:", path);
    }
    mode_t mode = 0640;
    if (S_ISDIR(info.st_mode)) {
        mode = 0710;
    } else if ((info.st_mode & S_IXUSR) != 0) {
        mode = 0750;
    }
    if (::chown(path.c_str(), static_cast<uid_t>(-1), static_cast<gid_t>(group)) != 0 ||
        ::chmod(path.c_str(), mode) != 0) {
        fail("cannot share with the collector's group", path);
    }
}

}  // namespace opampsup::platform
