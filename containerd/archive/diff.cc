#include "containerd/archive/diff.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <functional>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/file_util.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "containerd/archive/digester.h"
#include "containerd/archive/entry_path.h"
#include "containerd/archive/libarchive_handles.h"
#include "containerd/archive/root_dir.h"
#include "containerd/archive/whiteouts.h"

namespace liman::containerd::archive {
namespace {

constexpr size_t kFileBufferSize = 1 << 20;

// Where libarchive's tar bytes go: hashed (diff_id), then compressed into the caller's sink.
struct WriteContext {
  Sha256Digester tar_digest;
  Compressor* compressor = nullptr;
  absl::Status status;
};

la_ssize_t WriteTarBytes(::archive* writer, void* opaque, const void* buffer, size_t length) {
  auto* context = static_cast<WriteContext*>(opaque);
  std::string_view bytes(static_cast<const char*>(buffer), length);
  context->tar_digest.Update(bytes);
  context->status = context->compressor->Write(bytes);
  if (!context->status.ok()) {
    archive_set_error(writer, EIO, "%s", std::string(context->status.message()).c_str());
    return -1;
  }
  return static_cast<la_ssize_t>(length);
}

absl::StatusOr<std::vector<std::string>> SortedNames(int dir_fd, std::string_view shown) {
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirAt(dir_fd, shown));
  std::sort(names.begin(), names.end());
  return names;
}

// Reads an xattr list into `names` ("a\0b\0"), through `fd` or else by `path` without following.
absl::Status ListXattrs(int fd, const std::string& path, std::string& names) {
  while (true) {
    ssize_t size = fd >= 0 ? flistxattr(fd, nullptr, 0) : llistxattr(path.c_str(), nullptr, 0);
    if (size < 0) return errno == ENOTSUP ? absl::OkStatus() : ErrnoError(errno, "list xattrs");
    names.resize(static_cast<size_t>(size));
    if (size == 0) return absl::OkStatus();
    size = fd >= 0 ? flistxattr(fd, names.data(), names.size()) : llistxattr(path.c_str(), names.data(), names.size());
    if (size >= 0) {
      names.resize(static_cast<size_t>(size));
      return absl::OkStatus();
    }
    if (errno != ERANGE) return ErrnoError(errno, "list xattrs");  // ERANGE: it grew meanwhile
  }
}

absl::StatusOr<std::string> GetXattr(int fd, const std::string& path, const char* name) {
  std::string value;
  while (true) {
    ssize_t size = fd >= 0 ? fgetxattr(fd, name, nullptr, 0) : lgetxattr(path.c_str(), name, nullptr, 0);
    if (size < 0) return ErrnoError(errno, fmt::format("get xattr {}", name));
    value.resize(static_cast<size_t>(size));
    size = fd >= 0 ? fgetxattr(fd, name, value.data(), value.size()) : lgetxattr(path.c_str(), name, value.data(), value.size());
    if (size >= 0) {
      value.resize(static_cast<size_t>(size));
      return value;
    }
    if (errno != ERANGE) return ErrnoError(errno, fmt::format("get xattr {}", name));
  }
}

// Writes file system entries into the tar: whole trees of an overlay upper directory (where
// overlay's whiteouts and opaque directories become the OCI form), or single entries and
// whiteouts chosen by a TreeComparer.
class EntryWriter {
 public:
  // `overlay_upper`: the tree is an overlay upper directory, whose character devices 0/0 are
  // whiteouts and whose trusted.overlay.opaque directories are opaque.
  EntryWriter(::archive* writer, archive_entry* entry, WriteContext& context, bool overlay_upper)
      : writer_(writer),
        entry_(entry),
        context_(context),
        overlay_upper_(overlay_upper),
        buffer_(std::make_unique<char[]>(kFileBufferSize)) {}

  absl::Status WriteUpperTree(int root_fd) {
    std::string path;
    LIMAN_ASSIGN_OR_RETURN(bool opaque, IsOpaque(root_fd));
    if (opaque) LIMAN_RETURN_IF_ERROR(WriteMarker(std::string(kOpaqueWhiteout), 0, 0, 0, timespec{}));
    return WriteDirectory(root_fd, path);
  }

  // The entry `name` of `dir_fd`, at `path` in the layer; a directory's contents too when
  // `with_contents`.
  absl::Status WriteChild(int dir_fd, const std::string& name, std::string& path, bool with_contents = true) {
    struct stat st;
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return ErrnoError(errno, fmt::format("lstat {}", Quote(path)));
    if (overlay_upper_ && S_ISCHR(st.st_mode) && st.st_rdev == 0)
      return WriteWhiteout(path, st.st_uid, st.st_gid, st.st_mtim);
    if (S_ISSOCK(st.st_mode)) return absl::OkStatus();
    UniqueFd fd;
    if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
      int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0);
      fd.reset(openat(dir_fd, name.c_str(), flags));
      if (!fd) return ErrnoError(errno, fmt::format("open {}", Quote(path)));
    }
    FillEntry(path, st);
    std::string by_name = fd ? std::string() : ProcFdPath(dir_fd, name);
    bool opaque = false;
    LIMAN_RETURN_IF_ERROR(AddXattrs(fd.get(), by_name, path, opaque));

    if (S_ISLNK(st.st_mode)) {
      LIMAN_ASSIGN_OR_RETURN(std::string target, ReadLink(dir_fd, name, path));
      archive_entry_copy_symlink(entry_, target.c_str());
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      archive_entry_set_rdev(entry_, st.st_rdev);
    } else if (S_ISREG(st.st_mode)) {
      if (st.st_nlink > 1) {
        auto [it, first] = links_.try_emplace(std::make_pair(st.st_dev, st.st_ino), path);
        if (!first) {
          archive_entry_set_size(entry_, 0);
          archive_entry_copy_hardlink(entry_, it->second.c_str());
          return WriteHeader(path);
        }
      }
      archive_entry_set_size(entry_, st.st_size);
    }
    LIMAN_RETURN_IF_ERROR(WriteHeader(path));
    if (S_ISREG(st.st_mode)) return WriteData(fd.get(), st.st_size, path);
    if (!S_ISDIR(st.st_mode) || !with_contents) return absl::OkStatus();
    if (opaque) {
      LIMAN_RETURN_IF_ERROR(WriteMarker(fmt::format("{}/{}", path, kOpaqueWhiteout), st.st_uid, st.st_gid,
                                        st.st_mode & 0777, st.st_mtim));
    }
    return WriteDirectory(fd.get(), path);
  }

  // `.wh.<name>` beside `path`: whatever the lower layers have at `path` is gone.
  absl::Status WriteWhiteout(const std::string& path, uid_t uid, gid_t gid, struct timespec mtime) {
    SplitPath split = SplitParent(path);
    std::string whiteout = split.parent.empty() ? fmt::format("{}{}", kWhiteoutPrefix, split.base)
                                                : fmt::format("{}/{}{}", split.parent, kWhiteoutPrefix, split.base);
    return WriteMarker(whiteout, uid, gid, 0, mtime);
  }

 private:
  // Entries of the directory `dir_fd` at `path` ("" for the root), then their contents.
  absl::Status WriteDirectory(int dir_fd, std::string& path) {
    LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> names, SortedNames(dir_fd, path.empty() ? "/" : path));
    const size_t path_size = path.size();
    for (const std::string& name : names) {
      if (!path.empty()) path.push_back('/');
      path.append(name);
      absl::Status status = WriteChild(dir_fd, name, path);
      path.resize(path_size);
      LIMAN_RETURN_IF_ERROR(status);
    }
    return absl::OkStatus();
  }

  void FillEntry(const std::string& path, const struct stat& st) {
    archive_entry_clear(entry_);
    archive_entry_copy_pathname(entry_, path.c_str());
    archive_entry_set_mode(entry_, st.st_mode);
    archive_entry_set_uid(entry_, st.st_uid);
    archive_entry_set_gid(entry_, st.st_gid);
    archive_entry_set_mtime(entry_, st.st_mtim.tv_sec, 0);
  }

  // An empty regular file standing for a whiteout or an opaque directory.
  absl::Status WriteMarker(const std::string& path, uid_t uid, gid_t gid, mode_t perm, struct timespec mtime) {
    archive_entry_clear(entry_);
    archive_entry_copy_pathname(entry_, path.c_str());
    archive_entry_set_mode(entry_, S_IFREG | perm);
    archive_entry_set_uid(entry_, uid);
    archive_entry_set_gid(entry_, gid);
    archive_entry_set_mtime(entry_, mtime.tv_sec, 0);
    archive_entry_set_size(entry_, 0);
    return WriteHeader(path);
  }

  absl::StatusOr<bool> IsOpaque(int fd) {
    absl::StatusOr<std::string> value = GetXattr(fd, std::string(), kOpaqueXattr);
    if (value.ok()) return *value == "y";
    std::optional<int> err = StatusErrno(value.status());
    if (err == ENODATA || err == ENOTSUP) return false;
    return value.status();
  }

  absl::Status AddXattrs(int fd, const std::string& by_name, const std::string& path, bool& opaque) {
    absl::Status status = ListXattrs(fd, by_name, xattr_names_);
    if (!status.ok()) return Annotate(status, Quote(path));
    for (size_t pos = 0; pos < xattr_names_.size();) {
      const char* name = xattr_names_.c_str() + pos;
      pos += std::strlen(name) + 1;
      absl::StatusOr<std::string> value = GetXattr(fd, by_name, name);
      if (!value.ok()) {
        if (StatusErrno(value.status()) == ENODATA) continue;  // removed meanwhile
        return Annotate(value.status(), Quote(path));
      }
      if (std::strncmp(name, "trusted.overlay.", 16) == 0) {
        if (std::strcmp(name, kOpaqueXattr) == 0 && *value == "y") opaque = true;
        // With redirect_dir or metacopy the content of an upper entry lives partly in the lowers:
        // the upper alone no longer says what changed. Our snapshotter mounts without them.
        if (std::strcmp(name, "trusted.overlay.redirect") == 0 || std::strcmp(name, "trusted.overlay.metacopy") == 0)
          return absl::FailedPreconditionError(
              fmt::format("{} has {}: overlay redirect_dir/metacopy uppers cannot be written as a layer", Quote(path), name));
        continue;
      }
      archive_entry_xattr_add_entry(entry_, name, value->data(), value->size());
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> ReadLink(int dir_fd, const std::string& name, const std::string& path) {
    std::string target(256, '\0');
    while (true) {
      ssize_t n = readlinkat(dir_fd, name.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoError(errno, fmt::format("readlink {}", Quote(path)));
      if (static_cast<size_t>(n) < target.size()) {
        target.resize(static_cast<size_t>(n));
        return target;
      }
      target.resize(target.size() * 2);
    }
  }

  absl::Status WriteHeader(const std::string& path) {
    // ARCHIVE_WARN: a name that is not valid in the process locale (bytes that are not ASCII in
    // the C locale) went into the header as raw bytes, with hdrcharset=BINARY for that entry
    // alone. File names are bytes, so that is what we want.
    if (archive_write_header(writer_, entry_) < ARCHIVE_WARN) return WriterError(fmt::format("write header of {}", Quote(path)));
    return absl::OkStatus();
  }

  absl::Status WriteData(int fd, int64_t size, const std::string& path) {
    // The header promised `size` bytes; libarchive pads with zeros if the file shrank meanwhile.
    int64_t left = size;
    while (left > 0) {
      ssize_t n = read(fd, buffer_.get(), static_cast<size_t>(std::min<int64_t>(left, kFileBufferSize)));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError(errno, fmt::format("read {}", Quote(path)));
      }
      if (n == 0) break;
      if (archive_write_data(writer_, buffer_.get(), static_cast<size_t>(n)) < 0)
        return WriterError(fmt::format("write data of {}", Quote(path)));
      left -= n;
    }
    return absl::OkStatus();
  }

  absl::Status WriterError(std::string_view what) {
    if (!context_.status.ok()) return Annotate(context_.status, what);
    return absl::InternalError(fmt::format("{}: {}", what, archive_error_string(writer_)));
  }

  ::archive* writer_;
  archive_entry* entry_;
  WriteContext& context_;
  const bool overlay_upper_;
  std::unique_ptr<char[]> buffer_;
  std::string xattr_names_;
  // First path of every multiply-linked file, by (device, inode).
  absl::flat_hash_map<std::pair<dev_t, ino_t>, std::string> links_;
};

// Sets up the tar writer (pax) over the compressor and the caller's sink, lets `write` fill it,
// and closes it: the layer's digests and size.
absl::StatusOr<LayerWritten> WriteLayer(Compression compression, bool overlay_upper,
                                        const std::function<absl::Status(std::string_view)>& sink,
                                        const std::function<absl::Status(EntryWriter&)>& write) {
  Sha256Digester compressed_digest;
  std::unique_ptr<Compressor> compressor = NewCompressor(compression, [&](std::string_view bytes) {
    compressed_digest.Update(bytes);
    return sink(bytes);
  });
  WriteContext context;
  context.compressor = compressor.get();

  ArchiveWriter writer(archive_write_new());
  ArchiveEntry entry(archive_entry_new());
  if (writer == nullptr || entry == nullptr) return absl::ResourceExhaustedError("libarchive: out of memory");
  // pax, with extended headers only where ustar cannot say it (long names, xattrs, big ids and
  // sizes): what Go's archive/tar writes for containerd and Docker too. The last block is not
  // padded to libarchive's 10 KiB record: a layer ends after its two zero blocks.
  archive_write_set_format_pax_restricted(writer.get());
  archive_write_set_bytes_in_last_block(writer.get(), 1);
  if (archive_write_open(writer.get(), &context, nullptr, WriteTarBytes, nullptr) != ARCHIVE_OK)
    return absl::InternalError(fmt::format("open tar writer: {}", archive_error_string(writer.get())));

  EntryWriter entries(writer.get(), entry.get(), context, overlay_upper);
  LIMAN_RETURN_IF_ERROR(write(entries));
  if (archive_write_close(writer.get()) != ARCHIVE_OK) {
    if (!context.status.ok()) return Annotate(context.status, "write layer");
    return absl::InternalError(fmt::format("close tar writer: {}", archive_error_string(writer.get())));
  }
  LIMAN_RETURN_IF_ERROR(compressor->Finish());
  return LayerWritten{compressed_digest.Digest(), context.tar_digest.Digest(), compressed_digest.size()};
}

absl::StatusOr<UniqueFd> OpenDirectory(const std::string& dir) {
  UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return ErrnoError(errno, fmt::format("open {}", Quote(dir)));
  return fd;
}

// containerd's walking differ (continuity's fs.Changes with its sameFile rule) over two trees
// walked side by side in name order: what is only in the upper is added, what is only in the
// lower is whited out, what is in both is written again when it differs. A changed entry's
// parent directories are written before it, once, as the applier needs them.
class TreeComparer {
 public:
  explicit TreeComparer(EntryWriter& writer) : writer_(writer) {}

  absl::Status CompareDirectories(int lower_fd, int upper_fd, std::string& path) {
    LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> lower_names, SortedNames(lower_fd, Shown(path)));
    LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> upper_names, SortedNames(upper_fd, Shown(path)));
    const size_t path_size = path.size();
    auto lower = lower_names.begin();
    auto upper = upper_names.begin();
    while (lower != lower_names.end() || upper != upper_names.end()) {
      const bool take_lower = upper == upper_names.end() || (lower != lower_names.end() && *lower < *upper);
      const bool take_upper = lower == lower_names.end() || (upper != upper_names.end() && *upper < *lower);
      const std::string& name = take_lower ? *lower : *upper;
      if (!path.empty()) path.push_back('/');
      path.append(name);
      absl::Status status;
      if (take_lower) {
        status = Removed(path);
        ++lower;
      } else if (take_upper) {
        status = Added(upper_fd, name, path);
        ++upper;
      } else {
        status = CompareChild(lower_fd, upper_fd, name, path);
        ++lower;
        ++upper;
      }
      path.resize(path_size);
      LIMAN_RETURN_IF_ERROR(status);
    }
    return absl::OkStatus();
  }

 private:
  // A directory on the way down: written before the first change below it, if any.
  struct Parent {
    int parent_fd;
    std::string name;
    std::string path;
    bool written;
  };

  static std::string_view Shown(const std::string& path) { return path.empty() ? "/" : path; }

  absl::Status WriteParents() {
    for (Parent& parent : parents_) {
      if (parent.written) continue;
      LIMAN_RETURN_IF_ERROR(writer_.WriteChild(parent.parent_fd, parent.name, parent.path, /*with_contents=*/false));
      parent.written = true;
    }
    return absl::OkStatus();
  }

  absl::Status Removed(const std::string& path) {
    LIMAN_RETURN_IF_ERROR(WriteParents());
    return writer_.WriteWhiteout(path, 0, 0, timespec{});
  }

  absl::Status Added(int upper_fd, const std::string& name, std::string& path) {
    LIMAN_RETURN_IF_ERROR(WriteParents());
    return writer_.WriteChild(upper_fd, name, path);
  }

  absl::Status CompareChild(int lower_fd, int upper_fd, const std::string& name, std::string& path) {
    struct stat lower_st, upper_st;
    if (fstatat(lower_fd, name.c_str(), &lower_st, AT_SYMLINK_NOFOLLOW) != 0)
      return ErrnoError(errno, fmt::format("lstat lower {}", Quote(path)));
    if (fstatat(upper_fd, name.c_str(), &upper_st, AT_SYMLINK_NOFOLLOW) != 0)
      return ErrnoError(errno, fmt::format("lstat upper {}", Quote(path)));
    LIMAN_ASSIGN_OR_RETURN(bool same, SameEntry(lower_fd, upper_fd, name, path, lower_st, upper_st));
    const bool both_directories = S_ISDIR(lower_st.st_mode) && S_ISDIR(upper_st.st_mode);
    if (!both_directories) {
      if (same) return absl::OkStatus();
      // A changed entry, or one of another type: the applier replaces what the lower has.
      return Added(upper_fd, name, path);
    }
    if (!same) {
      LIMAN_RETURN_IF_ERROR(WriteParents());
      LIMAN_RETURN_IF_ERROR(writer_.WriteChild(upper_fd, name, path, /*with_contents=*/false));
    }
    UniqueFd lower_dir(openat(lower_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!lower_dir) return ErrnoError(errno, fmt::format("open lower {}", Quote(path)));
    UniqueFd upper_dir(openat(upper_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!upper_dir) return ErrnoError(errno, fmt::format("open upper {}", Quote(path)));
    parents_.push_back(Parent{.parent_fd = upper_fd, .name = name, .path = path, .written = !same});
    absl::Status status = CompareDirectories(lower_dir.get(), upper_dir.get(), path);
    parents_.pop_back();
    return status;
  }

  // continuity's sameFile: type, permissions, owner, device number and xattrs; for what is not a
  // directory also size and mtime, and when both mtimes are whole seconds (a tar lost the rest)
  // the content or link target.
  absl::StatusOr<bool> SameEntry(int lower_fd, int upper_fd, const std::string& name, const std::string& path,
                                 const struct stat& lower, const struct stat& upper) {
    if ((lower.st_mode & S_IFMT) != (upper.st_mode & S_IFMT) || (lower.st_mode & 07777) != (upper.st_mode & 07777) ||
        lower.st_uid != upper.st_uid || lower.st_gid != upper.st_gid || lower.st_rdev != upper.st_rdev)
      return false;
    LIMAN_ASSIGN_OR_RETURN(std::string lower_xattrs, XattrsOf(lower_fd, name, path));
    LIMAN_ASSIGN_OR_RETURN(std::string upper_xattrs, XattrsOf(upper_fd, name, path));
    if (lower_xattrs != upper_xattrs) return false;
    if (S_ISDIR(lower.st_mode)) return true;
    if (lower.st_size != upper.st_size || lower.st_mtim.tv_sec != upper.st_mtim.tv_sec) return false;
    if (lower.st_mtim.tv_nsec != 0 || upper.st_mtim.tv_nsec != 0) return lower.st_mtim.tv_nsec == upper.st_mtim.tv_nsec;
    if (S_ISREG(lower.st_mode)) return SameContent(lower_fd, upper_fd, name, path);
    if (S_ISLNK(lower.st_mode)) return SameLinkTarget(lower_fd, upper_fd, name, path);
    return true;
  }

  // Every xattr "name=value", in the order the file system lists them (sorted here).
  absl::StatusOr<std::string> XattrsOf(int dir_fd, const std::string& name, const std::string& path) {
    std::string by_name = ProcFdPath(dir_fd, name);
    std::string names;
    absl::Status listed = ListXattrs(-1, by_name, names);
    if (!listed.ok()) return Annotate(listed, Quote(path));
    std::vector<std::string> pairs;
    for (size_t pos = 0; pos < names.size();) {
      const char* key = names.c_str() + pos;
      pos += std::strlen(key) + 1;
      absl::StatusOr<std::string> value = GetXattr(-1, by_name, key);
      if (!value.ok()) {
        if (StatusErrno(value.status()) == ENODATA) continue;
        return Annotate(value.status(), Quote(path));
      }
      pairs.push_back(fmt::format("{}={}", key, *value));
    }
    std::sort(pairs.begin(), pairs.end());
    std::string joined;
    for (const std::string& pair : pairs) joined.append(pair).push_back('\0');
    return joined;
  }

  absl::StatusOr<bool> SameContent(int lower_fd, int upper_fd, const std::string& name, const std::string& path) {
    UniqueFd lower(openat(lower_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!lower) return ErrnoError(errno, fmt::format("open lower {}", Quote(path)));
    UniqueFd upper(openat(upper_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!upper) return ErrnoError(errno, fmt::format("open upper {}", Quote(path)));
    std::string a(64 << 10, '\0'), b(64 << 10, '\0');
    while (true) {
      LIMAN_ASSIGN_OR_RETURN(size_t n, ReadFull(lower.get(), a, path));
      LIMAN_ASSIGN_OR_RETURN(size_t m, ReadFull(upper.get(), b, path));
      if (n != m || std::memcmp(a.data(), b.data(), n) != 0) return false;
      if (n < a.size()) return true;
    }
  }

  static absl::StatusOr<size_t> ReadFull(int fd, std::string& buffer, const std::string& path) {
    size_t filled = 0;
    while (filled < buffer.size()) {
      ssize_t n = read(fd, buffer.data() + filled, buffer.size() - filled);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError(errno, fmt::format("read {}", Quote(path)));
      }
      if (n == 0) break;
      filled += static_cast<size_t>(n);
    }
    return filled;
  }

  absl::StatusOr<bool> SameLinkTarget(int lower_fd, int upper_fd, const std::string& name, const std::string& path) {
    char a[PATH_MAX + 1], b[PATH_MAX + 1];
    ssize_t n = readlinkat(lower_fd, name.c_str(), a, sizeof a);
    if (n < 0) return ErrnoError(errno, fmt::format("readlink lower {}", Quote(path)));
    ssize_t m = readlinkat(upper_fd, name.c_str(), b, sizeof b);
    if (m < 0) return ErrnoError(errno, fmt::format("readlink upper {}", Quote(path)));
    return n == m && std::memcmp(a, b, static_cast<size_t>(n)) == 0;
  }

  EntryWriter& writer_;
  std::vector<Parent> parents_;
};

}  // namespace

absl::StatusOr<LayerWritten> WriteLayerFromUpper(const std::string& upper_dir, Compression compression,
                                                 const std::function<absl::Status(std::string_view)>& sink) {
  LIMAN_ASSIGN_OR_RETURN(UniqueFd root_fd, OpenDirectory(upper_dir));
  absl::StatusOr<LayerWritten> written =
      WriteLayer(compression, /*overlay_upper=*/true, sink, [&](EntryWriter& entries) {
        return entries.WriteUpperTree(root_fd.get());
      });
  if (!written.ok()) return Annotate(written.status(), fmt::format("write layer from {}", Quote(upper_dir)));
  return written;
}

absl::StatusOr<LayerWritten> WriteLayerFromTrees(const std::string& lower_dir, const std::string& upper_dir,
                                                 Compression compression,
                                                 const std::function<absl::Status(std::string_view)>& sink) {
  LIMAN_ASSIGN_OR_RETURN(UniqueFd lower_fd, OpenDirectory(lower_dir));
  LIMAN_ASSIGN_OR_RETURN(UniqueFd upper_fd, OpenDirectory(upper_dir));
  absl::StatusOr<LayerWritten> written =
      WriteLayer(compression, /*overlay_upper=*/false, sink, [&](EntryWriter& entries) {
        TreeComparer comparer(entries);
        std::string path;
        return comparer.CompareDirectories(lower_fd.get(), upper_fd.get(), path);
      });
  if (!written.ok())
    return Annotate(written.status(), fmt::format("write the changes from {} to {}", Quote(lower_dir), Quote(upper_dir)));
  return written;
}

absl::Status WriteEntryTar(int dir_fd, const std::string& name, const std::string& entry_name,
                           const std::function<absl::Status(std::string_view)>& sink) {
  std::string path = entry_name;
  return WriteLayer(Compression::kNone, /*overlay_upper=*/false, sink, [&](EntryWriter& entries) {
           return entries.WriteChild(dir_fd, name, path);
         }).status();
}

}  // namespace liman::containerd::archive
