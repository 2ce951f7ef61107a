#include "containerd/archive/extractor.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/logging.h"
#include "common/status.h"
#include "containerd/archive/entry_path.h"

namespace liman::containerd::archive {
namespace {

// overlayfs keeps its own state in trusted.overlay.*; a layer says "deleted" and "opaque" with
// whiteout entries, and anything else there (redirects, origins) must not come from a tar.
bool IsOverlayXattr(const char* name) { return std::strncmp(name, "trusted.overlay.", 16) == 0; }

void EntryTimes(archive_entry* entry, struct timespec times[2]) {
  times[1].tv_sec = archive_entry_mtime(entry);
  times[1].tv_nsec = archive_entry_mtime_nsec(entry);
  if (archive_entry_atime_is_set(entry)) {
    times[0].tv_sec = archive_entry_atime(entry);
    times[0].tv_nsec = archive_entry_atime_nsec(entry);
  } else {
    times[0] = times[1];
  }
}

absl::Status ReaderError(::archive* reader, std::string_view what) {
  const char* message = archive_error_string(reader);
  return absl::DataLossError(fmt::format("{}: {}", what, message != nullptr ? message : "libarchive error"));
}

absl::Status WriteAll(int fd, const char* data, size_t size, int64_t offset) {
  while (size > 0) {
    ssize_t n = pwrite(fd, data, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "write");
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return absl::OkStatus();
}

size_t Depth(const std::string& path) { return static_cast<size_t>(std::count(path.begin(), path.end(), '/')); }

}  // namespace

Extractor::Extractor(int root_fd, const ApplyOptions& options, std::vector<UniqueFd> lower_roots)
    : root_fd_(root_fd),
      apply_whiteouts_(options.whiteouts),
      owner_(options.owner),
      no_overwrite_dir_non_dir_(options.no_overwrite_dir_non_dir),
      parents_(root_fd, std::move(lower_roots), &dir_times_),
      whiteouts_(options.overlay_whiteouts, parents_) {}

absl::Status Extractor::Extract(::archive* reader, archive_entry* entry) {
  const char* raw_name = archive_entry_pathname(entry);
  if (raw_name == nullptr) return absl::InvalidArgumentError("tar entry without a name");
  absl::Status status = ExtractEntry(reader, entry, raw_name);
  if (!status.ok()) return Annotate(status, fmt::format("entry {}", Quote(raw_name)));
  return absl::OkStatus();
}

absl::Status Extractor::ExtractEntry(::archive* reader, archive_entry* entry, const char* raw_name) {
  LIMAN_RETURN_IF_ERROR(CleanEntryPath(raw_name, path_));
  // The root itself ("./"): like containerd, its own attributes are left alone.
  if (path_.empty()) return absl::OkStatus();
  // AUFS bookkeeping at the top (.wh..wh.plnk, .wh..wh.aufs, .wh..wh.orph and their contents) is
  // not content; Docker skips it too.
  if (apply_whiteouts_ && path_.compare(0, kWhiteoutMetaPrefix.size(), kWhiteoutMetaPrefix) == 0 &&
      path_ != kOpaqueWhiteout)
    return absl::OkStatus();
  SplitPath split = SplitParent(path_);
  WhiteoutName whiteout;
  if (apply_whiteouts_) LIMAN_RETURN_IF_ERROR(ParseWhiteout(split.base, whiteout));
  if (whiteout.kind != WhiteoutKind::kNone) {
    Whiteouts::Attributes attributes;
    attributes.uid = static_cast<uid_t>(archive_entry_uid(entry));
    attributes.gid = static_cast<gid_t>(archive_entry_gid(entry));
    EntryTimes(entry, attributes.times);
    return whiteouts_.Apply(whiteout, split.parent, attributes);
  }
  whiteouts_.NoteUnpacked(path_);
  LIMAN_ASSIGN_OR_RETURN(int dir_fd, parents_.Get(split.parent, /*create=*/true));
  name_.assign(split.base);

  if (const char* target = archive_entry_hardlink(entry); target != nullptr) return MakeHardlink(target, dir_fd);
  switch (archive_entry_filetype(entry)) {
    case AE_IFREG: return WriteRegular(reader, entry, dir_fd);
    case AE_IFDIR: return MakeDirectory(entry, dir_fd);
    case AE_IFLNK: return MakeSymlink(entry, dir_fd);
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: return MakeNode(entry, dir_fd);
    case AE_IFSOCK:  // a socket has no content to restore; tar writers skip them too
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError(fmt::format("unsupported entry type {:o}", archive_entry_filetype(entry)));
  }
}

absl::StatusOr<bool> Extractor::ClearPath(int dir_fd, bool keep_directory) {
  struct stat st;
  if (fstatat(dir_fd, name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return false;
    return ErrnoError(errno, fmt::format("lstat {}", Quote(path_)));
  }
  if (keep_directory && S_ISDIR(st.st_mode)) return true;
  // moby's pkg/archive words, for docker cp's noOverwriteDirNonDir.
  if (no_overwrite_dir_non_dir_ && S_ISDIR(st.st_mode) && !keep_directory)
    return absl::FailedPreconditionError(fmt::format("cannot overwrite directory {} with non-directory", Quote(path_)));
  if (no_overwrite_dir_non_dir_ && !S_ISDIR(st.st_mode) && keep_directory)
    return absl::FailedPreconditionError(fmt::format("cannot overwrite non-directory {} with directory", Quote(path_)));
  parents_.Invalidate();
  LIMAN_RETURN_IF_ERROR(RemoveAllAt(dir_fd, name_.c_str(), path_));
  return false;
}

absl::Status Extractor::WriteRegular(::archive* reader, archive_entry* entry, int dir_fd) {
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  // O_EXCL: an existing file is unlinked and replaced, never truncated in place (that would
  // change every hardlink to it, and write through a symlink).
  UniqueFd fd(openat(dir_fd, name_.c_str(), kFlags, 0600));
  if (!fd && errno == EEXIST) {
    LIMAN_RETURN_IF_ERROR(ClearPath(dir_fd, /*keep_directory=*/false).status());
    fd.reset(openat(dir_fd, name_.c_str(), kFlags, 0600));
  }
  if (!fd) return ErrnoError(errno, fmt::format("create {}", Quote(path_)));

  // Blocks point into libarchive's read-ahead (our 1 MiB chunks) and carry their offset: sparse
  // files come as data blocks with holes between them.
  int64_t end = 0;
  while (true) {
    const void* block;
    size_t size;
    la_int64_t offset;
    int result = archive_read_data_block(reader, &block, &size, &offset);
    if (result == ARCHIVE_EOF) break;
    if (result < ARCHIVE_WARN) return ReaderError(reader, "read file data");
    if (size == 0) continue;
    absl::Status status = WriteAll(fd.get(), static_cast<const char*>(block), size, offset);
    if (!status.ok()) return Annotate(status, Quote(path_));
    end = std::max<int64_t>(end, offset + static_cast<int64_t>(size));
  }
  if (int64_t size = archive_entry_size(entry); end < size && ftruncate(fd.get(), size) != 0)
    return ErrnoError(errno, fmt::format("truncate {}", Quote(path_)));
  return SetMetadata(entry, fd.get(), dir_fd, /*is_symlink=*/false);
}

absl::Status Extractor::MakeDirectory(archive_entry* entry, int dir_fd) {
  if (mkdirat(dir_fd, name_.c_str(), 0700) != 0) {
    if (errno != EEXIST) return ErrnoError(errno, fmt::format("mkdir {}", Quote(path_)));
    LIMAN_ASSIGN_OR_RETURN(bool kept, ClearPath(dir_fd, /*keep_directory=*/true));
    if (!kept && mkdirat(dir_fd, name_.c_str(), 0700) != 0)
      return ErrnoError(errno, fmt::format("mkdir {}", Quote(path_)));
  }
  LIMAN_RETURN_IF_ERROR(SetMetadata(entry, -1, dir_fd, /*is_symlink=*/false));
  DirTimes& dir = dir_times_.emplace_back();
  dir.path = path_;
  EntryTimes(entry, dir.times);
  return absl::OkStatus();
}

absl::Status Extractor::MakeSymlink(archive_entry* entry, int dir_fd) {
  const char* target = archive_entry_symlink(entry);
  if (target == nullptr || *target == '\0') return absl::InvalidArgumentError("symlink without a target");
  if (symlinkat(target, dir_fd, name_.c_str()) != 0) {
    if (errno != EEXIST) return ErrnoError(errno, fmt::format("symlink {}", Quote(path_)));
    LIMAN_RETURN_IF_ERROR(ClearPath(dir_fd, /*keep_directory=*/false).status());
    if (symlinkat(target, dir_fd, name_.c_str()) != 0) return ErrnoError(errno, fmt::format("symlink {}", Quote(path_)));
  }
  return SetMetadata(entry, -1, dir_fd, /*is_symlink=*/true);
}

absl::Status Extractor::MakeNode(archive_entry* entry, int dir_fd) {
  mode_t mode = archive_entry_filetype(entry) | (archive_entry_perm(entry) & 0777);
  dev_t device = makedev(archive_entry_rdevmajor(entry), archive_entry_rdevminor(entry));
  if (mknodat(dir_fd, name_.c_str(), mode, device) != 0) {
    if (errno != EEXIST) return ErrnoError(errno, fmt::format("mknod {}", Quote(path_)));
    LIMAN_RETURN_IF_ERROR(ClearPath(dir_fd, /*keep_directory=*/false).status());
    if (mknodat(dir_fd, name_.c_str(), mode, device) != 0) return ErrnoError(errno, fmt::format("mknod {}", Quote(path_)));
  }
  return SetMetadata(entry, -1, dir_fd, /*is_symlink=*/false);
}

absl::Status Extractor::MakeHardlink(const char* target, int dir_fd) {
  absl::Status status = CleanEntryPath(target, link_path_);
  if (!status.ok()) return Annotate(status, "hardlink target");
  if (link_path_.empty()) return absl::InvalidArgumentError("hardlink to the layer root");
  if (link_path_ == path_) return absl::OkStatus();  // a link to itself: already there
  SplitPath split = SplitParent(link_path_);
  // The target's directory resolves inside the root like any entry's; linkat without
  // AT_SYMLINK_FOLLOW then links the target itself, a symlink included, never what it points to.
  absl::StatusOr<UniqueFd> target_dir = OpenInRoot(root_fd_, std::string(split.parent), O_PATH | O_DIRECTORY);
  if (!target_dir.ok()) return Annotate(target_dir.status(), fmt::format("hardlink target {}", Quote(link_path_)));
  std::string target_name(split.base);
  if (linkat(target_dir->get(), target_name.c_str(), dir_fd, name_.c_str(), 0) != 0) {
    if (errno == EEXIST) {
      LIMAN_RETURN_IF_ERROR(ClearPath(dir_fd, /*keep_directory=*/false).status());
      if (linkat(target_dir->get(), target_name.c_str(), dir_fd, name_.c_str(), 0) == 0) return absl::OkStatus();
    }
    return ErrnoError(errno, fmt::format("link {} to {}", Quote(path_), Quote(link_path_)));
  }
  return absl::OkStatus();
}

absl::Status Extractor::SetMetadata(archive_entry* entry, int fd, int dir_fd, bool is_symlink) {
  uid_t uid = owner_ ? owner_->first : static_cast<uid_t>(archive_entry_uid(entry));
  gid_t gid = owner_ ? owner_->second : static_cast<gid_t>(archive_entry_gid(entry));
  mode_t perm = archive_entry_perm(entry) & 07777;
  const char* name = name_.c_str();
  if ((fd >= 0 ? fchown(fd, uid, gid) : fchownat(dir_fd, name, uid, gid, AT_SYMLINK_NOFOLLOW)) != 0)
    return ErrnoError(errno, fmt::format("chown {}", Quote(path_)));
  // Symlinks have no mode of their own on Linux. For the rest the name was just created by us (or
  // checked to be a directory), so following it is following nothing.
  if (!is_symlink && (fd >= 0 ? fchmod(fd, perm) : fchmodat(dir_fd, name, perm, 0)) != 0)
    return ErrnoError(errno, fmt::format("chmod {}", Quote(path_)));
  LIMAN_RETURN_IF_ERROR(SetXattrs(entry, fd, dir_fd));
  // Directory times wait for Finish: what is written into a directory later changes them.
  if (archive_entry_filetype(entry) == AE_IFDIR) return absl::OkStatus();
  struct timespec times[2];
  EntryTimes(entry, times);
  if ((fd >= 0 ? futimens(fd, times) : utimensat(dir_fd, name, times, AT_SYMLINK_NOFOLLOW)) != 0)
    return ErrnoError(errno, fmt::format("set times of {}", Quote(path_)));
  return absl::OkStatus();
}

absl::Status Extractor::SetXattrs(archive_entry* entry, int fd, int dir_fd) {
  if (archive_entry_xattr_reset(entry) == 0) return absl::OkStatus();
  std::string by_name;  // only built when needed
  const char* key;
  const void* value;
  size_t size;
  while (archive_entry_xattr_next(entry, &key, &value, &size) == ARCHIVE_OK) {
    if (IsOverlayXattr(key)) continue;
    int result;
    if (fd >= 0) {
      result = fsetxattr(fd, key, value, size, 0);
    } else {
      if (by_name.empty()) by_name = ProcFdPath(dir_fd, name_);
      result = lsetxattr(by_name.c_str(), key, value, size, 0);
    }
    if (result == 0) continue;
    // user.* exists only on regular files and directories (xattr(7)): EPERM on a symlink or
    // device. ENOTSUP: a namespace the filesystem does not keep. Neither is content.
    if (errno == ENOTSUP || (errno == EPERM && std::strncmp(key, "user.", 5) == 0)) {
      LogDebug("apply layer: {}: xattr {} not kept: {}", path_, key, ErrnoText(errno));
      continue;
    }
    return ErrnoError(errno, fmt::format("set xattr {} on {}", key, Quote(path_)));
  }
  return absl::OkStatus();
}

absl::Status Extractor::Finish() {
  std::stable_sort(dir_times_.begin(), dir_times_.end(),
                   [](const DirTimes& a, const DirTimes& b) { return Depth(a.path) > Depth(b.path); });
  for (const DirTimes& dir : dir_times_) {
    SplitPath split = SplitParent(dir.path);
    absl::StatusOr<int> dir_fd = parents_.Get(split.parent, /*create=*/false);
    std::string name(split.base);
    if (dir_fd.ok() && utimensat(*dir_fd, name.c_str(), dir.times, AT_SYMLINK_NOFOLLOW) == 0) continue;
    // Gone since (a later whiteout, or a file replacing it): nothing to set.
    std::optional<int> err = dir_fd.ok() ? std::optional<int>(errno) : StatusErrno(dir_fd.status());
    if (err == ENOENT || err == ENOTDIR) continue;
    if (!dir_fd.ok()) return Annotate(dir_fd.status(), fmt::format("set times of {}", Quote(dir.path)));
    return ErrnoError(*err, fmt::format("set times of {}", Quote(dir.path)));
  }
  return absl::OkStatus();
}

}  // namespace liman::containerd::archive
