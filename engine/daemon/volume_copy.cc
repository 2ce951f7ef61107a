#include "engine/daemon/volume_copy.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "fmt/format.h"

namespace liman::engine {
namespace {

// A directory tree deeper than this is refused rather than walked (each level holds two fds).
constexpr int kMaxDepth = 256;

// Owner, then mode (chown(2) clears set-user-ID bits), then times, of an entry just made.
absl::Status CopyAttributes(int dst_dir_fd, const std::string& name, const struct stat& st, const std::string& shown) {
  if (fchownat(dst_dir_fd, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
    return ErrnoError(fmt::format("chown {}", Quote(shown)));
  if (!S_ISLNK(st.st_mode) && fchmodat(dst_dir_fd, name.c_str(), st.st_mode & 07777, 0) != 0)
    return ErrnoError(fmt::format("chmod {}", Quote(shown)));
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (utimensat(dst_dir_fd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
    return ErrnoError(fmt::format("set the times of {}", Quote(shown)));
  return absl::OkStatus();
}

absl::Status CopyFileContents(int src_dir_fd, int dst_dir_fd, const std::string& name, const struct stat& st,
                              const std::string& shown) {
  UniqueFd src(openat(src_dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!src) return ErrnoError(fmt::format("open {}", Quote(shown)));
  UniqueFd dst(openat(dst_dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!dst) return ErrnoError(fmt::format("create {}", Quote(shown)));
  // copy_file_range(2) shares or copies in the kernel; between filesystems of different types
  // (an overlay snapshot and the volumes' disk) it answers EXDEV since 5.19: sendfile(2) then.
  bool in_kernel_copy = true;
  for (off_t left = st.st_size; left > 0;) {
    ssize_t copied = in_kernel_copy ? copy_file_range(src.get(), nullptr, dst.get(), nullptr, static_cast<size_t>(left), 0)
                                    : sendfile(dst.get(), src.get(), nullptr, static_cast<size_t>(left));
    if (copied < 0 && errno == EINTR) continue;
    if (copied < 0 && in_kernel_copy && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
      in_kernel_copy = false;
      continue;
    }
    if (copied < 0) return ErrnoError(fmt::format("copy {}", Quote(shown)));
    if (copied == 0) break;  // the file shrank meanwhile: a read-only snapshot does not, but stop
    left -= copied;
  }
  return absl::OkStatus();
}

absl::Status CopyTree(int src_fd, int dst_fd, const std::string& shown, int depth) {
  if (depth > kMaxDepth) return absl::FailedPreconditionError(fmt::format("{}: deeper than {} directories", Quote(shown), kMaxDepth));
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirAt(src_fd, shown));
  for (const std::string& name : names) {
    std::string path = JoinPath(shown, name);
    struct stat st;
    if (fstatat(src_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return ErrnoError(fmt::format("stat {}", Quote(path)));
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(dst_fd, name.c_str(), 0700) != 0) return ErrnoError(fmt::format("mkdir {}", Quote(path)));
      UniqueFd src_child(openat(src_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd dst_child(openat(dst_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!src_child || !dst_child) return ErrnoError(fmt::format("open {}", Quote(path)));
      LIMAN_RETURN_IF_ERROR(CopyTree(src_child.get(), dst_child.get(), path, depth + 1));
    } else if (S_ISREG(st.st_mode)) {
      LIMAN_RETURN_IF_ERROR(CopyFileContents(src_fd, dst_fd, name, st, path));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : PATH_MAX), '\0');
      ssize_t length = readlinkat(src_fd, name.c_str(), target.data(), target.size());
      if (length < 0) return ErrnoError(fmt::format("readlink {}", Quote(path)));
      target.resize(static_cast<size_t>(length));
      if (symlinkat(target.c_str(), dst_fd, name.c_str()) != 0) return ErrnoError(fmt::format("symlink {}", Quote(path)));
    } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      if (mknodat(dst_fd, name.c_str(), st.st_mode & S_IFMT, st.st_rdev) != 0) return ErrnoError(fmt::format("mknod {}", Quote(path)));
    } else {
      continue;  // a socket: nothing to copy (tar leaves them out too)
    }
    LIMAN_RETURN_IF_ERROR(CopyAttributes(dst_fd, name, st, path));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CopyImagePathIntoVolume(int root_fd, const std::string& image_path, const std::string& volume_dir) {
  absl::StatusOr<UniqueFd> source = OpenInRoot(root_fd, image_path, O_RDONLY | O_DIRECTORY);
  if (!source.ok()) {
    std::optional<int> error = StatusErrno(source.status());
    if (error == ENOENT || error == ENOTDIR) return absl::OkStatus();  // nothing to copy
    return source.status();
  }
  UniqueFd volume(open(volume_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!volume) return ErrnoError(fmt::format("open {}", Quote(volume_dir)));
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> present, ListDirAt(volume.get(), volume_dir));
  if (!present.empty()) return absl::OkStatus();
  LIMAN_RETURN_IF_ERROR(CopyTree(source->get(), volume.get(), volume_dir, 0));
  // The volume's own directory takes the image directory's owner and mode (moby's copyOwnership).
  struct stat st;
  if (fstat(source->get(), &st) != 0) return ErrnoError(fmt::format("stat {} in the image", Quote(image_path)));
  if (fchown(volume.get(), st.st_uid, st.st_gid) != 0) return ErrnoError(fmt::format("chown {}", Quote(volume_dir)));
  if (fchmod(volume.get(), st.st_mode & 07777) != 0) return ErrnoError(fmt::format("chmod {}", Quote(volume_dir)));
  return absl::OkStatus();
}

}  // namespace liman::engine
