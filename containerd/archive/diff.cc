#include "containerd/archive/diff.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "containerd/archive/digester.h"
#include "containerd/archive/entry_path.h"
#include "containerd/archive/root_dir.h"

namespace liman::containerd::archive {
namespace {

constexpr size_t kFileBufferSize = 1 << 20;
constexpr char kOpaqueXattr[] = "trusted.overlay.opaque";

struct ArchiveWriteFree {
  void operator()(::archive* writer) const { archive_write_free(writer); }
};
struct ArchiveEntryFree {
  void operator()(archive_entry* entry) const { archive_entry_free(entry); }
};

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
  DIR* dir = fdopendir(dup(dir_fd));
  if (dir == nullptr) return ErrnoError(errno, fmt::format("opendir {}", Quote(shown)));
  std::vector<std::string> names;
  while (dirent* entry = readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  closedir(dir);
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

class UpperWriter {
 public:
  UpperWriter(::archive* writer, archive_entry* entry, WriteContext& context)
      : writer_(writer), entry_(entry), context_(context), buffer_(std::make_unique<char[]>(kFileBufferSize)) {}

  absl::Status WriteTree(int root_fd) {
    std::string path;
    LIMAN_ASSIGN_OR_RETURN(bool opaque, IsOpaque(root_fd));
    if (opaque) LIMAN_RETURN_IF_ERROR(WriteMarker(std::string(kOpaqueWhiteout), 0, 0, 0, timespec{}));
    return WriteDirectory(root_fd, path);
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

  absl::Status WriteChild(int dir_fd, const std::string& name, std::string& path) {
    struct stat st;
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return ErrnoError(errno, fmt::format("lstat {}", Quote(path)));
    if (S_ISCHR(st.st_mode) && st.st_rdev == 0) {
      SplitPath split = SplitParent(path);
      std::string whiteout = split.parent.empty() ? fmt::format("{}{}", kWhiteoutPrefix, name)
                                                  : fmt::format("{}/{}{}", split.parent, kWhiteoutPrefix, name);
      return WriteMarker(whiteout, st.st_uid, st.st_gid, 0, st.st_mtim);
    }
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
    if (!S_ISDIR(st.st_mode)) return absl::OkStatus();
    if (opaque) {
      LIMAN_RETURN_IF_ERROR(WriteMarker(fmt::format("{}/{}", path, kOpaqueWhiteout), st.st_uid, st.st_gid,
                                        st.st_mode & 0777, st.st_mtim));
    }
    return WriteDirectory(fd.get(), path);
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
  std::unique_ptr<char[]> buffer_;
  std::string xattr_names_;
  // First path of every multiply-linked file, by (device, inode).
  absl::flat_hash_map<std::pair<dev_t, ino_t>, std::string> links_;
};

}  // namespace

absl::StatusOr<LayerWritten> WriteLayerFromUpper(const std::string& upper_dir, Compression compression,
                                                 const std::function<absl::Status(std::string_view)>& sink) {
  UniqueFd root_fd(open(upper_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) return ErrnoError(errno, fmt::format("open {}", Quote(upper_dir)));

  Sha256Digester compressed_digest;
  std::unique_ptr<Compressor> compressor = NewCompressor(compression, [&](std::string_view bytes) {
    compressed_digest.Update(bytes);
    return sink(bytes);
  });
  WriteContext context;
  context.compressor = compressor.get();

  std::unique_ptr<::archive, ArchiveWriteFree> writer(archive_write_new());
  std::unique_ptr<archive_entry, ArchiveEntryFree> entry(archive_entry_new());
  if (writer == nullptr || entry == nullptr) return absl::ResourceExhaustedError("libarchive: out of memory");
  // pax, with extended headers only where ustar cannot say it (long names, xattrs, big ids and
  // sizes): what Go's archive/tar writes for containerd and Docker too. The last block is not
  // padded to libarchive's 10 KiB record: a layer ends after its two zero blocks.
  archive_write_set_format_pax_restricted(writer.get());
  archive_write_set_bytes_in_last_block(writer.get(), 1);
  if (archive_write_open(writer.get(), &context, nullptr, WriteTarBytes, nullptr) != ARCHIVE_OK)
    return absl::InternalError(fmt::format("open tar writer: {}", archive_error_string(writer.get())));

  UpperWriter walker(writer.get(), entry.get(), context);
  absl::Status status = walker.WriteTree(root_fd.get());
  if (!status.ok()) return Annotate(status, fmt::format("write layer from {}", Quote(upper_dir)));
  if (archive_write_close(writer.get()) != ARCHIVE_OK) {
    if (!context.status.ok()) return Annotate(context.status, "write layer");
    return absl::InternalError(fmt::format("close tar writer: {}", archive_error_string(writer.get())));
  }
  LIMAN_RETURN_IF_ERROR(compressor->Finish());
  return LayerWritten{compressed_digest.Digest(), context.tar_digest.Digest(), compressed_digest.size()};
}

}  // namespace liman::containerd::archive
