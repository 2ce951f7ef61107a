#include "common/file_util.h"

#include <poll.h>

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "fmt/format.h"
#include "common/unique_fd.h"

namespace liman {

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd writable = {fd, POLLOUT, 0};
      poll(&writable, 1, -1);
      continue;
    }
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

absl::StatusOr<std::string> ReadFileAt(int dirfd, const std::string& name) {
  UniqueFd fd(openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoError(absl::StrCat("open ", Quote(name)));
  std::string data;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(absl::StrCat("read ", Quote(name)));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) { return ReadFileAt(AT_FDCWD, path); }

absl::Status WriteFileAt(int dirfd, const std::string& name, std::string_view data) {
  UniqueFd fd(openat(dirfd, name.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return ErrnoError(absl::StrCat("open ", Quote(name)));
  ssize_t n;
  do {
    n = write(fd.get(), data.data(), data.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoError(absl::StrCat("write ", Quote(data), " to ", Quote(name)));
  if (static_cast<size_t>(n) != data.size())
    return absl::DataLossError(absl::StrCat("write ", Quote(name), ": short write"));
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, std::string_view data) {
  return WriteFileAt(AT_FDCWD, path, data);
}

namespace {

// Write to a temporary beside `path`, optionally fsync it, rename it over `path`.
absl::Status WriteAndRename(const std::string& path, std::string_view data, mode_t mode, bool durable) {
  std::string tmp = absl::StrCat(path, ".tmp-", getpid());
  UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return ErrnoError(absl::StrCat("create ", Quote(tmp)));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      unlink(tmp.c_str());
      return ErrnoError(err, absl::StrCat("write ", Quote(tmp)));
    }
    done += static_cast<size_t>(n);
  }
  if (durable && fsync(fd.get()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return ErrnoError(err, absl::StrCat("fsync ", Quote(tmp)));
  }
  fd.reset();
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return ErrnoError(err, absl::StrCat("rename ", Quote(tmp), " to ", Quote(path)));
  }
  if (durable) {
    std::string dir = path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
    UniqueFd dirfd(open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dirfd) fsync(dirfd.get());
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  return WriteAndRename(path, data, mode, /*durable=*/true);
}

absl::Status ReplaceFile(const std::string& path, std::string_view data, mode_t mode) {
  return WriteAndRename(path, data, mode, /*durable=*/false);
}

absl::Status MkdirAll(const std::string& path, mode_t mode) {
  if (path.empty()) return absl::InvalidArgumentError("mkdir: empty path");
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    size_t next = path.find('/', pos + 1);
    partial = path.substr(0, next);
    pos = next;
    if (partial.empty() || partial == "/") continue;
    if (mkdir(partial.c_str(), mode) != 0 && errno != EEXIST)
      return ErrnoError(absl::StrCat("mkdir ", Quote(partial)));
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return ErrnoError(absl::StrCat("stat ", Quote(path)));
  if (!S_ISDIR(st.st_mode)) return ErrnoError(ENOTDIR, absl::StrCat("mkdir ", Quote(path)));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ListDirAt(int dir_fd, std::string_view shown) {
  // fdopendir(3) takes the descriptor it is given: a duplicate, so `dir_fd` stays the caller's.
  DIR* dir = fdopendir(dup(dir_fd));
  if (dir == nullptr) return ErrnoError(absl::StrCat("opendir ", Quote(shown)));
  std::vector<std::string> names;
  while (dirent* entry = readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  closedir(dir);
  return names;
}

namespace {
absl::Status RemoveAllAt(int dirfd, const std::string& name, const std::string& shown) {
  if (unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) return absl::OkStatus();
  if (errno != EISDIR && errno != EPERM)
    return ErrnoError(absl::StrCat("remove ", Quote(shown)));
  UniqueFd fd(openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return ErrnoError(absl::StrCat("open ", Quote(shown)));
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirAt(fd.get(), shown));
  for (const std::string& child : names)
    LIMAN_RETURN_IF_ERROR(RemoveAllAt(fd.get(), child, JoinPath(shown, child)));
  if (unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return ErrnoError(absl::StrCat("rmdir ", Quote(shown)));
  return absl::OkStatus();
}
}  // namespace

absl::Status RemoveAll(const std::string& path) { return RemoveAllAt(AT_FDCWD, path, path); }

bool PathExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

bool IsMountPoint(const std::string& path) {
  struct statx stx {};
  if (statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, 0, &stx) != 0) return false;
  return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

namespace {
// Names in `path` without "." and ".."; only directories when `directories_only`, told by the
// d_type readdir(3) gives (cgroupfs, ext4, tmpfs and overlayfs fill it) and lstat(2) otherwise.
absl::StatusOr<std::vector<std::string>> ReadDirectory(const std::string& path, bool directories_only) {
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return ErrnoError(absl::StrCat("opendir ", Quote(path)));
  std::vector<std::string> names;
  while (dirent* entry = readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (directories_only) {
      if (entry->d_type == DT_UNKNOWN) {
        struct stat st;
        if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) continue;
      } else if (entry->d_type != DT_DIR) {
        continue;
      }
    }
    names.emplace_back(name);
  }
  closedir(dir);
  return names;
}
}  // namespace

absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) { return ReadDirectory(path, false); }

absl::StatusOr<std::vector<std::string>> ListSubdirectories(const std::string& path) {
  return ReadDirectory(path, true);
}

absl::StatusOr<std::string> ReadLink(const std::string& path) {
  std::string target(256, '\0');
  for (;;) {
    ssize_t n = readlink(path.c_str(), target.data(), target.size());
    if (n < 0) return ErrnoError(absl::StrCat("readlink ", Quote(path)));
    if (static_cast<size_t>(n) < target.size()) {
      target.resize(static_cast<size_t>(n));
      return target;
    }
    target.resize(target.size() * 2);  // maybe truncated: readlink(2) does not say
  }
}

std::string ParentDirectory(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  while (a.size() > 1 && a.back() == '/') a.remove_suffix(1);
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  if (a == "/") return fmt::format("/{}", b);
  return fmt::format("{}/{}", a, b);
}

std::string CleanAbsolutePath(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string clean;
  for (std::string_view part : parts) {
    clean.push_back('/');
    clean.append(part);
  }
  return clean.empty() ? "/" : clean;
}

absl::StatusOr<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const char* name = path.empty() ? "." : path.c_str();
  // openat2(2): with RESOLVE_IN_ROOT the kernel may answer EAGAIN when a rename raced the
  // lookup; retrying is what the man page asks for.
  for (int attempt = 0;; ++attempt) {
    long fd = syscall(SYS_openat2, root_fd, name, &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if ((errno == EAGAIN && attempt < 16) || errno == EINTR) continue;
    if (errno == ENOSYS) return ErrnoError(errno, "openat2 (Linux 5.6 or later is needed)");
    return ErrnoError(errno, fmt::format("open {}", Quote(path.empty() ? "/" : path)));
  }
}

}  // namespace liman
