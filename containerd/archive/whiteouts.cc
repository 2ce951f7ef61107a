#include "containerd/archive/whiteouts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "common/file_util.h"
#include "common/status.h"

namespace liman::containerd::archive {
namespace {

// A whiteout under a parent that does not exist (or is not a directory) in a merged tree has
// nothing to delete.
bool NothingThere(const absl::Status& status) {
  std::optional<int> err = StatusErrno(status);
  return err == ENOENT || err == ENOTDIR;
}

}  // namespace

absl::Status Whiteouts::Apply(const WhiteoutName& name, std::string_view parent, const Attributes& attributes) {
  switch (name.kind) {
    case WhiteoutKind::kWhiteout:
      return overlay_ ? MarkDeleted(parent, name.target, attributes) : Delete(parent, name.target);
    case WhiteoutKind::kOpaque:
      return overlay_ ? MarkOpaque(parent) : ClearDirectory(parent);
    case WhiteoutKind::kMeta:  // AUFS hardlink and metadata directories: not content (Docker skips them too)
    case WhiteoutKind::kNone:
      break;
  }
  return absl::OkStatus();
}

absl::Status Whiteouts::Delete(std::string_view parent, std::string_view target) {
  absl::StatusOr<int> dir_fd = parents_.Get(parent, /*create=*/false);
  if (!dir_fd.ok()) return NothingThere(dir_fd.status()) ? absl::OkStatus() : dir_fd.status();
  std::string name(target);
  parents_.Invalidate();
  return RemoveAllAt(*dir_fd, name.c_str(), parent.empty() ? name : fmt::format("{}/{}", parent, name));
}

absl::Status Whiteouts::MarkDeleted(std::string_view parent, std::string_view target, const Attributes& attributes) {
  LIMAN_ASSIGN_OR_RETURN(int dir_fd, parents_.Get(parent, /*create=*/true));
  std::string name(target);
  std::string shown = parent.empty() ? name : fmt::format("{}/{}", parent, name);
  struct stat st;
  if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    parents_.Invalidate();
    LIMAN_RETURN_IF_ERROR(RemoveAllAt(dir_fd, name.c_str(), shown));
  }
  if (mknodat(dir_fd, name.c_str(), S_IFCHR, makedev(0, 0)) != 0)
    return ErrnoError(errno, fmt::format("mknod whiteout {}", Quote(shown)));
  if (fchownat(dir_fd, name.c_str(), attributes.uid, attributes.gid, AT_SYMLINK_NOFOLLOW) != 0)
    return ErrnoError(errno, fmt::format("chown whiteout {}", Quote(shown)));
  // The entry's times, so that writing the upper back out gives the same layer.
  if (utimensat(dir_fd, name.c_str(), attributes.times, AT_SYMLINK_NOFOLLOW) != 0)
    return ErrnoError(errno, fmt::format("set times of whiteout {}", Quote(shown)));
  return absl::OkStatus();
}

absl::Status Whiteouts::MarkOpaque(std::string_view parent) {
  LIMAN_ASSIGN_OR_RETURN(int dir_fd, parents_.Get(parent, /*create=*/true));
  // setxattr through the magic link of the O_PATH fd: the directory itself, not a path lookup.
  if (setxattr(ProcFdPath(dir_fd, "").c_str(), kOpaqueXattr, "y", 1, 0) != 0)
    return ErrnoError(errno, fmt::format("set {} on {}", kOpaqueXattr, Quote(parent.empty() ? "/" : parent)));
  return absl::OkStatus();
}

absl::Status Whiteouts::ClearDirectory(std::string_view parent) {
  absl::StatusOr<int> dir_fd = parents_.Get(parent, /*create=*/false);
  if (!dir_fd.ok()) return NothingThere(dir_fd.status()) ? absl::OkStatus() : dir_fd.status();
  UniqueFd listable(openat(*dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!listable) return ErrnoError(errno, fmt::format("open {}", Quote(parent.empty() ? "/" : parent)));
  parents_.Invalidate();
  std::string path(parent);
  return RemoveNotUnpacked(listable.get(), path);
}

// containerd's applyNaive walks the directory and removes every path it did not unpack in this
// layer; directories it did unpack are kept but their older contents still go.
absl::Status Whiteouts::RemoveNotUnpacked(int dir_fd, std::string& path) {
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirAt(dir_fd, path));
  const size_t path_size = path.size();
  for (const std::string& name : names) {
    if (!path.empty()) path.push_back('/');
    path.append(name);
    absl::Status status;
    if (!unpacked_.contains(path)) {
      status = RemoveAllAt(dir_fd, name.c_str(), path);
    } else {
      struct stat st;
      if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
        UniqueFd child(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        status = child ? RemoveNotUnpacked(child.get(), path) : ErrnoError(errno, fmt::format("open {}", Quote(path)));
      }
    }
    path.resize(path_size);
    LIMAN_RETURN_IF_ERROR(status);
  }
  return absl::OkStatus();
}

}  // namespace liman::containerd::archive
