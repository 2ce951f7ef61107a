#include "containerd/archive/tests/test_util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/file_util.h"
#include "common/sha256.h"
#include "containerd/archive/byte_source.h"

namespace liman::containerd::archive::testing {

TarEntry File(std::string path, std::string data, mode_t perm) {
  TarEntry entry;
  entry.path = std::move(path);
  entry.data = std::move(data);
  entry.perm = perm;
  return entry;
}

TarEntry Dir(std::string path, mode_t perm) {
  TarEntry entry;
  entry.path = std::move(path);
  entry.type = S_IFDIR;
  entry.perm = perm;
  return entry;
}

TarEntry Symlink(std::string path, std::string target) {
  TarEntry entry;
  entry.path = std::move(path);
  entry.type = S_IFLNK;
  entry.perm = 0777;
  entry.link = std::move(target);
  return entry;
}

TarEntry Hardlink(std::string path, std::string target) {
  TarEntry entry;
  entry.path = std::move(path);
  entry.hardlink = true;
  entry.link = std::move(target);
  return entry;
}

TarEntry Node(std::string path, mode_t type, unsigned major, unsigned minor) {
  TarEntry entry;
  entry.path = std::move(path);
  entry.type = type;
  entry.major = major;
  entry.minor = minor;
  return entry;
}

TarEntry Whiteout(std::string path) { return File(std::move(path), "", 0); }

namespace {

la_ssize_t AppendToString(::archive*, void* opaque, const void* buffer, size_t length) {
  static_cast<std::string*>(opaque)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

void Check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

}  // namespace

std::string BuildTar(const std::vector<TarEntry>& entries, TarFormat format) {
  std::string out;
  ::archive* writer = archive_write_new();
  if (format != TarFormat::kGnu) {
    archive_write_set_format_pax(writer);
    if (format == TarFormat::kPax) archive_write_set_format_option(writer, "pax", "hdrcharset", "BINARY");
  } else {
    archive_write_set_format_gnutar(writer);
  }
  Check(archive_write_open(writer, &out, nullptr, AppendToString, nullptr) == ARCHIVE_OK, "archive_write_open");
  archive_entry* entry = archive_entry_new();
  for (const TarEntry& e : entries) {
    archive_entry_clear(entry);
    archive_entry_copy_pathname(entry, e.path.c_str());
    archive_entry_set_uid(entry, e.uid);
    archive_entry_set_gid(entry, e.gid);
    archive_entry_set_mtime(entry, e.mtime, e.mtime_nsec);
    archive_entry_set_perm(entry, e.perm);
    if (e.hardlink) {
      archive_entry_set_filetype(entry, AE_IFREG);
      archive_entry_copy_hardlink(entry, e.link.c_str());
      archive_entry_set_size(entry, 0);
    } else {
      archive_entry_set_filetype(entry, e.type);
      if (e.type == S_IFLNK) archive_entry_copy_symlink(entry, e.link.c_str());
      if (e.type == S_IFCHR || e.type == S_IFBLK) {
        archive_entry_set_rdevmajor(entry, e.major);
        archive_entry_set_rdevminor(entry, e.minor);
      }
      archive_entry_set_size(entry, e.type == S_IFREG ? static_cast<la_int64_t>(e.data.size()) : 0);
    }
    for (const auto& [key, value] : e.xattrs) archive_entry_xattr_add_entry(entry, key.c_str(), value.data(), value.size());
    if (archive_write_header(writer, entry) != ARCHIVE_OK)
      throw std::runtime_error(std::string("archive_write_header: ") + archive_error_string(writer));
    if (!e.hardlink && e.type == S_IFREG && !e.data.empty())
      Check(archive_write_data(writer, e.data.data(), e.data.size()) == static_cast<la_ssize_t>(e.data.size()),
            "archive_write_data");
  }
  archive_entry_free(entry);
  Check(archive_write_close(writer) == ARCHIVE_OK, "archive_write_close");
  archive_write_free(writer);
  return out;
}

std::string GzipMember(const std::string& data, int level) {
  z_stream stream{};
  Check(deflateInit2(&stream, level, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) == Z_OK, "deflateInit2");
  std::string out(deflateBound(&stream, data.size()) + 64, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  Check(deflate(&stream, Z_FINISH) == Z_STREAM_END, "deflate");
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

std::string ZstdFrame(const std::string& data, int level) {
  // With a content checksum, as the zstd CLI writes frames.
  ZSTD_CCtx* context = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1);
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress2(context, out.data(), out.size(), data.data(), data.size());
  ZSTD_freeCCtx(context);
  Check(!ZSTD_isError(n), "ZSTD_compress2");
  out.resize(n);
  return out;
}

std::string GunzipAll(const std::string& gz) {
  std::string out;
  size_t offset = 0;
  while (offset < gz.size()) {
    z_stream stream{};
    Check(inflateInit2(&stream, 16 + 15) == Z_OK, "inflateInit2");
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data() + offset));
    stream.avail_in = static_cast<uInt>(gz.size() - offset);
    char buffer[65536];
    int result;
    do {
      stream.next_out = reinterpret_cast<Bytef*>(buffer);
      stream.avail_out = sizeof buffer;
      result = inflate(&stream, Z_NO_FLUSH);
      Check(result == Z_OK || result == Z_STREAM_END, "inflate");
      out.append(buffer, sizeof buffer - stream.avail_out);
    } while (result != Z_STREAM_END);
    offset += stream.total_in;
    inflateEnd(&stream);
  }
  return out;
}

std::string Sha256Digest(const std::string& data) { return "sha256:" + Sha256Hex(data); }

absl::StatusOr<ApplyResult> ApplyBytes(const std::string& layer, Compression compression, const std::string& root,
                                       const ApplyOptions& options, size_t max_read) {
  MemoryByteSource source(layer, max_read);
  return ApplyLayer(source, compression, root, options);
}

ApplyOptions Merged() {
  ApplyOptions options;
  options.overlay_whiteouts = false;
  return options;
}

ApplyOptions Overlay() { return ApplyOptions{}; }

OverlayMount::OverlayMount(const std::vector<std::string>& lowers, const std::string& upper, const std::string& work,
                           const std::string& target)
    : target_(target) {
  std::string options = "lowerdir=";
  for (size_t i = 0; i < lowers.size(); ++i) options += (i ? ":" : "") + lowers[i];
  options += ",upperdir=" + upper + ",workdir=" + work;
  mounted_ = mount("overlay", target.c_str(), "overlay", 0, options.c_str()) == 0;
  if (!mounted_) error_ = std::string("mount overlay: ") + strerror(errno);
}

OverlayMount::~OverlayMount() {
  if (mounted_) umount2(target_.c_str(), MNT_DETACH);
}

namespace {

std::string Printable(const std::string& value) {
  std::string out;
  for (unsigned char c : value) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char hex[8];
      snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

std::string Xattrs(const std::string& path) {
  char names[4096];
  ssize_t size = llistxattr(path.c_str(), names, sizeof names);
  if (size <= 0) return "";
  std::vector<std::string> keys;
  for (ssize_t pos = 0; pos < size; pos += static_cast<ssize_t>(strlen(names + pos)) + 1) keys.emplace_back(names + pos);
  std::sort(keys.begin(), keys.end());
  std::string out = " xattrs={";
  for (const std::string& key : keys) {
    char value[4096];
    ssize_t n = lgetxattr(path.c_str(), key.c_str(), value, sizeof value);
    out += key + "=" + Printable(std::string(value, n > 0 ? static_cast<size_t>(n) : 0)) + ";";
  }
  return out + "}";
}

void Walk(const std::string& root, const std::string& rel, bool with_times,
          std::map<std::pair<dev_t, ino_t>, std::string>& inodes, std::map<std::string, std::string>& out) {
  std::string dir_path = rel.empty() ? root : root + "/" + rel;
  DIR* dir = opendir(dir_path.c_str());
  if (dir == nullptr) return;
  std::vector<std::string> names;
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::string child = rel.empty() ? name : rel + "/" + name;
    std::string path = root + "/" + child;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) continue;
    std::ostringstream line;
    char mode[16];
    snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    if (S_ISREG(st.st_mode)) {
      line << "file size=" << st.st_size << " sha=" << Sha256Hex(ReadHostFile(path)).substr(0, 16);
    } else if (S_ISDIR(st.st_mode)) {
      line << "dir";
    } else if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = readlink(path.c_str(), target, sizeof target);
      line << "symlink -> " << std::string(target, n > 0 ? static_cast<size_t>(n) : 0);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      line << (S_ISCHR(st.st_mode) ? "chardev " : "blockdev ") << major(st.st_rdev) << ":" << minor(st.st_rdev);
    } else if (S_ISFIFO(st.st_mode)) {
      line << "fifo";
    } else {
      line << "other";
    }
    if (!S_ISLNK(st.st_mode)) line << " mode=" << mode;
    line << " owner=" << st.st_uid << ":" << st.st_gid << Xattrs(path);
    if (with_times) line << " mtime=" << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto [it, first] = inodes.try_emplace({st.st_dev, st.st_ino}, child);
      line << " inode-of=" << it->second;
    }
    out[child] = line.str();
    if (S_ISDIR(st.st_mode)) Walk(root, child, with_times, inodes, out);
  }
}

}  // namespace

std::map<std::string, std::string> Snapshot(const std::string& root, bool with_times) {
  std::map<std::pair<dev_t, ino_t>, std::string> inodes;
  std::map<std::string, std::string> out;
  Walk(root, "", with_times, inodes, out);
  return out;
}

std::string Describe(const std::map<std::string, std::string>& snapshot) {
  std::string out;
  for (const auto& [path, line] : snapshot) out += path + ": " + line + "\n";
  return out;
}

void WriteHostFile(const std::string& path, const std::string& data) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << data;
  Check(file.good(), "write " + path);
}

std::string ReadHostFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream out;
  out << file.rdbuf();
  return out.str();
}

}  // namespace liman::containerd::archive::testing
