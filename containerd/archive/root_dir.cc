#include "containerd/archive/root_dir.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "common/file_util.h"
#include "common/status.h"

namespace liman::containerd::archive {

absl::Status RemoveAllAt(int dirfd, const char* name, std::string_view shown) {
  if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return absl::OkStatus();
  if (errno != EISDIR && errno != EPERM) return ErrnoError(errno, fmt::format("remove {}", Quote(shown)));
  UniqueFd fd(openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return ErrnoError(errno, fmt::format("open {}", Quote(shown)));
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> children, ListDirAt(fd.get(), shown));
  for (const std::string& child : children)
    LIMAN_RETURN_IF_ERROR(RemoveAllAt(fd.get(), child.c_str(), fmt::format("{}/{}", shown, child)));
  if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
    return ErrnoError(errno, fmt::format("remove {}", Quote(shown)));
  return absl::OkStatus();
}

std::string ProcFdPath(int fd, std::string_view name) {
  return name.empty() ? fmt::format("/proc/self/fd/{}", fd) : fmt::format("/proc/self/fd/{}/{}", fd, name);
}

absl::StatusOr<int> ParentDirs::Get(std::string_view path, bool create) {
  if (path.empty()) return root_fd_;
  if (!stale_ && cached_fd_ && cached_path_ == path) return cached_fd_.get();
  stale_ = false;
  cached_fd_.reset();
  cached_path_.assign(path);
  absl::StatusOr<UniqueFd> fd = OpenInRoot(root_fd_, cached_path_, O_PATH | O_DIRECTORY);
  if (!fd.ok() && create && StatusErrno(fd.status()) == ENOENT) fd = Create(cached_path_);
  if (!fd.ok()) {
    cached_path_.clear();
    return fd.status();
  }
  cached_fd_ = *std::move(fd);
  return cached_fd_.get();
}

// Walks `path` from the top, making each component that does not resolve. Every prefix is
// resolved from the root again (not from the previous component's fd) so that a symlink met on
// the way is still resolved with the root as "/".
absl::StatusOr<UniqueFd> ParentDirs::Create(const std::string& path) {
  UniqueFd current;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    lookup_.assign(path, 0, slash);
    std::string_view name(path.data() + pos, slash - pos);
    pos = slash + 1;
    absl::StatusOr<UniqueFd> fd = OpenInRoot(root_fd_, lookup_, O_PATH | O_DIRECTORY);
    if (!fd.ok()) {
      if (StatusErrno(fd.status()) != ENOENT) return fd.status();
      int parent_fd = current ? current.get() : root_fd_;
      LIMAN_RETURN_IF_ERROR(MakeDir(parent_fd, name, lookup_));
      std::string name_z(name);
      fd = UniqueFd(openat(parent_fd, name_z.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!*fd) return ErrnoError(errno, fmt::format("open {}", Quote(lookup_)));
    }
    current = *std::move(fd);
  }
  return current;
}

absl::Status ParentDirs::MakeDir(int parent_fd, std::string_view name, const std::string& path) {
  struct stat like{};
  like.st_mode = S_IFDIR | 0755;
  bool from_lower = false;
  for (const UniqueFd& lower : lower_roots_) {
    absl::StatusOr<UniqueFd> fd = OpenInRoot(lower.get(), path, O_PATH);
    if (!fd.ok()) continue;
    struct stat st;
    // The first lower layer with anything at the path decides; a non-directory there (or a
    // whiteout) hides the layers below, so the default applies.
    if (fstat(fd->get(), &st) == 0 && S_ISDIR(st.st_mode)) {
      like = st;
      from_lower = true;
    }
    break;
  }
  std::string name_z(name);
  if (mkdirat(parent_fd, name_z.c_str(), 0700) != 0) {
    // The name did not resolve yet exists: a symlink whose target is missing inside the root.
    if (errno == EEXIST)
      return absl::FailedPreconditionError(
          fmt::format("create parent directory {}: it is a symlink whose target does not exist in the root", Quote(path)));
    return ErrnoError(errno, fmt::format("mkdir {}", Quote(path)));
  }
  if (fchownat(parent_fd, name_z.c_str(), like.st_uid, like.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
    return ErrnoError(errno, fmt::format("chown {}", Quote(path)));
  if (fchmodat(parent_fd, name_z.c_str(), like.st_mode & 07777, 0) != 0)
    return ErrnoError(errno, fmt::format("chmod {}", Quote(path)));
  if (from_lower && created_times_ != nullptr) created_times_->push_back(DirTimes{path, {like.st_atim, like.st_mtim}});
  return absl::OkStatus();
}

}  // namespace liman::containerd::archive
