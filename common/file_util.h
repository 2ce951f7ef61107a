// Small file helpers whose errors name the operation and the path.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace liman {

// write(2) until all of `data` is written: EINTR is retried, EAGAIN (a non-blocking descriptor
// shared with another program) waits until writable. False when the descriptor fails (EPIPE…).
bool WriteAll(int fd, std::string_view data);

absl::StatusOr<std::string> ReadFile(const std::string& path);

// openat2(root_fd, path, flags | O_CLOEXEC) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: ".." and
// symlinks, absolute or relative, resolve as if root_fd were "/", so no path inside a container
// or layer tree leads out of it. "" opens the root itself. Errors carry the errno and name `path`.
absl::StatusOr<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags);
// Reads `name` relative to the directory fd `dirfd` (AT_FDCWD for plain paths).
absl::StatusOr<std::string> ReadFileAt(int dirfd, const std::string& name);

// Writes `data` into an existing file (cgroup and proc knobs): open O_WRONLY, one write().
absl::Status WriteFile(const std::string& path, std::string_view data);
absl::Status WriteFileAt(int dirfd, const std::string& name, std::string_view data);

// Durable replace: write to a temporary beside `path`, fsync, rename over `path`, fsync the dir.
absl::Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0644);
// The same without the fsyncs: readers never see a partial file, but a crash may lose it (for
// files under /run, which a reboot clears anyway).
absl::Status ReplaceFile(const std::string& path, std::string_view data, mode_t mode = 0644);

// mkdir -p; existing directories are fine, an existing non-directory is an error.
absl::Status MkdirAll(const std::string& path, mode_t mode = 0755);

// rm -rf without following symlinks; a missing path is fine.
absl::Status RemoveAll(const std::string& path);

bool PathExists(const std::string& path);

// True when something is mounted on `path` itself (statx(2) STATX_ATTR_MOUNT_ROOT, which also
// tells a bind mount of a directory of the same filesystem); false when it is not or is missing.
bool IsMountPoint(const std::string& path);

// Entries of a directory, without "." and "..".
absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path);
// The same for the directory open as `dir_fd` (which stays open and is not moved); errors name
// it as `shown`.
absl::StatusOr<std::vector<std::string>> ListDirAt(int dir_fd, std::string_view shown);
// Only the entries that are directories (not symlinks to them).
absl::StatusOr<std::vector<std::string>> ListSubdirectories(const std::string& path);

// Joins path components with exactly one '/' between them.
std::string JoinPath(std::string_view a, std::string_view b);

// Go's path.Clean of "/" + `path`, lexically: "//", "." and ".." collapsed (".." at the root
// stays at the root), no trailing '/'. "a/./b/../c" -> "/a/c"; "" -> "/".
std::string CleanAbsolutePath(std::string_view path);

// The target of the symbolic link `path` (readlink(2)), of any length.
absl::StatusOr<std::string> ReadLink(const std::string& path);

// The directory part of `path`, like dirname(1): "/a/b" -> "/a", "/a" -> "/", "a" -> ".".
std::string ParentDirectory(const std::string& path);

}  // namespace liman
