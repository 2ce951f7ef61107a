#include "common/disk_usage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <set>
#include <string_view>
#include <utility>

#include "common/file_util.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace liman {
namespace {

// st_blocks counts 512-byte units whatever the filesystem's block size (stat(2)).
constexpr int64_t kStatBlockSize = 512;

class UsageWalker {
 public:
  // Accounts the directory open as `dir` (shown as `path` in errors) and everything below it.
  absl::Status WalkDirectory(UniqueFd dir, const std::string& path) {
    // fdopendir takes ownership of its fd; keep `dir` for the *at() calls below.
    DIR* stream = fdopendir(dup(dir.get()));
    if (stream == nullptr) return ErrnoError(fmt::format("opendir {}", Quote(path)));
    std::vector<std::string> subdirs;
    absl::Status status;
    errno = 0;
    while (dirent* entry = readdir(stream)) {
      std::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      struct stat st;
      if (fstatat(dir.get(), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        // Removed between readdir and stat: it no longer uses anything.
        if (errno == ENOENT) continue;
        status = ErrnoError(fmt::format("stat {}", Quote(JoinPath(path, name))));
        break;
      }
      Account(st);
      if (S_ISDIR(st.st_mode)) subdirs.emplace_back(name);
    }
    closedir(stream);
    LIMAN_RETURN_IF_ERROR(status);
    for (const std::string& name : subdirs) {
      // O_NOFOLLOW: a directory swapped for a symlink since the stat must not lead outside.
      UniqueFd child(openat(dir.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      std::string child_path = JoinPath(path, name);
      if (!child) {
        if (errno == ENOENT) continue;
        return ErrnoError(fmt::format("open {}", Quote(child_path)));
      }
      LIMAN_RETURN_IF_ERROR(WalkDirectory(std::move(child), child_path));
    }
    return absl::OkStatus();
  }

  void Account(const struct stat& st) {
    if (!seen_.emplace(st.st_dev, st.st_ino).second) return;
    usage_.size += static_cast<int64_t>(st.st_blocks) * kStatBlockSize;
    usage_.inodes++;
  }

  const DiskUsage& usage() const { return usage_; }

 private:
  std::set<std::pair<dev_t, ino_t>> seen_;
  DiskUsage usage_;
};

}  // namespace

absl::StatusOr<DiskUsage> MeasureDiskUsage(const std::string& root) {
  UniqueFd dir(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) return ErrnoError(fmt::format("open {}", Quote(root)));
  struct stat st;
  if (fstat(dir.get(), &st) != 0) return ErrnoError(fmt::format("stat {}", Quote(root)));
  UsageWalker walker;
  walker.Account(st);
  LIMAN_RETURN_IF_ERROR(walker.WalkDirectory(std::move(dir), root));
  return walker.usage();
}

}  // namespace liman
