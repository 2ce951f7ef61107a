// Writes the entries libarchive parses into a root directory: our own code rather than
// archive_read_extract, so that every path is resolved inside the root (root_dir.h), whiteouts
// take the form the root needs (whiteouts.h) and nothing is done per entry that a layer does not
// need (no fsync, no path re-resolution per call).
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/unique_fd.h"
#include "containerd/archive/apply.h"
#include "containerd/archive/root_dir.h"
#include "containerd/archive/whiteouts.h"

namespace liman::containerd::archive {

class Extractor {
 public:
  // `root_fd` stays owned by the caller; `lower_roots`: see ApplyOptions::lower_dirs; of
  // `options`, the whiteout, owner and overwrite choices.
  Extractor(int root_fd, const ApplyOptions& options, std::vector<UniqueFd> lower_roots);

  // Writes one entry (and its data, read from `reader`). Errors name the entry.
  absl::Status Extract(::archive* reader, archive_entry* entry);
  // Sets directory times, deepest first, now that nothing more is written into them.
  absl::Status Finish();

 private:
  absl::Status ExtractEntry(::archive* reader, archive_entry* entry, const char* raw_name);
  absl::Status WriteRegular(::archive* reader, archive_entry* entry, int dir_fd);
  absl::Status MakeDirectory(archive_entry* entry, int dir_fd);
  absl::Status MakeSymlink(archive_entry* entry, int dir_fd);
  absl::Status MakeNode(archive_entry* entry, int dir_fd);
  absl::Status MakeHardlink(const char* target, int dir_fd);
  // Clears the entry's path for a new file: what is there is removed, except a directory when
  // `keep_directory` (returns true then). `keep_directory` is set for directory entries only.
  absl::StatusOr<bool> ClearPath(int dir_fd, bool keep_directory);
  // Owner, then mode (chown clears setuid), then xattrs (a write or chown would clear
  // security.capability), then times. `fd` >= 0: through the open file; otherwise by name.
  absl::Status SetMetadata(archive_entry* entry, int fd, int dir_fd, bool is_symlink);
  absl::Status SetXattrs(archive_entry* entry, int fd, int dir_fd);

  int root_fd_;
  const bool apply_whiteouts_;
  const std::optional<std::pair<uid_t, gid_t>> owner_;
  const bool no_overwrite_dir_non_dir_;
  std::vector<DirTimes> dir_times_;
  ParentDirs parents_;
  Whiteouts whiteouts_;
  // Reused across entries: the cleaned path, its base name NUL-terminated, a hardlink's target.
  std::string path_;
  std::string name_;
  std::string link_path_;
};

}  // namespace liman::containerd::archive
