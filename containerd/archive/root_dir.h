// Directories inside an unpack root. Every lookup goes through openat2(2) with RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS on the root's fd: ".." and symlinks, absolute or relative, resolve as if
// the root were "/" (as containerd's fs.RootPath does), so no path from a layer leads outside it.
// The last component of an entry is then always operated on with *at calls relative to its
// parent's fd and never followed.
#pragma once

#include <sys/stat.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/file_util.h"  // OpenInRoot
#include "common/unique_fd.h"

namespace liman::containerd::archive {

// rm -rf of `name` in `dirfd`, never following symlinks; a missing name is fine. `shown` names it
// in errors.
absl::Status RemoveAllAt(int dirfd, const char* name, std::string_view shown);

// "/proc/self/fd/<fd>/<name>", for the calls without an *at form (lsetxattr, llistxattr): the fd
// pins the directory and `name`, one component, is not followed by the l* calls.
std::string ProcFdPath(int fd, std::string_view name);

// Times to set on a directory once everything inside it is written.
struct DirTimes {
  std::string path;
  struct timespec times[2];  // atime, mtime
};

// The parent directories of entries, resolved inside the root, cached (entries of a directory
// come together in a tar) and created when missing. A created directory copies mode, owner and
// times from the same path in the first of `lower_roots` that has it (the layers below an overlay
// upper, top first), so it does not mask the lower directory's attributes; otherwise it is 0755 root.
class ParentDirs {
 public:
  ParentDirs(int root_fd, std::vector<UniqueFd> lower_roots, std::vector<DirTimes>* created_times)
      : root_fd_(root_fd), lower_roots_(std::move(lower_roots)), created_times_(created_times) {}

  // The directory `path` ("" for the root) as an O_PATH fd owned by the cache, valid until the next
  // Get. With `create`, missing directories are made; without, ENOENT is an error.
  absl::StatusOr<int> Get(std::string_view path, bool create);

  // Call after anything under the root was removed or replaced: a cached fd may then pin a
  // directory no longer at its path (or reached through a symlink since replaced). The fd in use
  // stays open until the next Get.
  void Invalidate() { stale_ = true; }

 private:
  absl::StatusOr<UniqueFd> Create(const std::string& path);
  absl::Status MakeDir(int parent_fd, std::string_view name, const std::string& path);

  int root_fd_;
  std::vector<UniqueFd> lower_roots_;
  std::vector<DirTimes>* created_times_;
  std::string cached_path_;
  UniqueFd cached_fd_;
  bool stale_ = true;
  std::string lookup_;  // reused for NUL-terminated paths
};

}  // namespace liman::containerd::archive
