// Test helpers: tars built with libarchive's writer, independent gzip/zstd encoders (zlib and
// libzstd's one-shot API, so the decoders are not tested against themselves), temporary
// directories, a textual snapshot of a tree for comparisons, and an overlay mount.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/archive/apply.h"
#include "common/tests/temp_dir.h"

namespace liman::containerd::archive::testing {

struct TarEntry {
  std::string path;
  mode_t type = S_IFREG;  // S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO
  mode_t perm = 0644;
  std::string data;       // regular files
  std::string link;       // symlink target, or hardlink target when `hardlink`
  bool hardlink = false;
  uid_t uid = 0;
  gid_t gid = 0;
  int64_t mtime = 1700000000;
  long mtime_nsec = 0;
  unsigned major = 0, minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

TarEntry File(std::string path, std::string data, mode_t perm = 0644);
TarEntry Dir(std::string path, mode_t perm = 0755);
TarEntry Symlink(std::string path, std::string target);
TarEntry Hardlink(std::string path, std::string target);
TarEntry Node(std::string path, mode_t type, unsigned major = 0, unsigned minor = 0);
TarEntry Whiteout(std::string path);  // an empty file named as given (".wh.x", ".wh..wh..opq")

// kPax writes names as bytes (hdrcharset=BINARY); kPaxUtf8 as Go's archive/tar does, UTF-8
// path records without hdrcharset (needs a UTF-8 locale while building); kGnu: GNU tar's format.
enum class TarFormat { kPax, kPaxUtf8, kGnu };
std::string BuildTar(const std::vector<TarEntry>& entries, TarFormat format = TarFormat::kPax);

std::string GzipMember(const std::string& data, int level = 6);  // one gzip member (zlib)
std::string ZstdFrame(const std::string& data, int level = 3);    // one zstd frame
std::string GunzipAll(const std::string& gz);                      // zlib, multi-member
std::string Sha256Digest(const std::string& data);                  // "sha256:<hex>"

// Applies an in-memory layer; `max_read` caps each source Read.
absl::StatusOr<ApplyResult> ApplyBytes(const std::string& layer, Compression compression, const std::string& root,
                                       const ApplyOptions& options, size_t max_read = SIZE_MAX);
ApplyOptions Merged();
ApplyOptions Overlay();

using TempDir = test_support::TempDir;

// An overlay mount of `lowers` (top first) and `upper` on `target`, unmounted when it goes.
class OverlayMount {
 public:
  OverlayMount(const std::vector<std::string>& lowers, const std::string& upper, const std::string& work,
               const std::string& target);
  ~OverlayMount();
  bool ok() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string target_;
  bool mounted_ = false;
  std::string error_;
};

// One line per path under `root` (sorted): type, mode, owner, size and content digest, symlink
// target, device numbers, xattrs, mtime (unless `with_times` is false) and which paths share an
// inode. Two trees with the same snapshot are the same as far as a layer can tell.
std::map<std::string, std::string> Snapshot(const std::string& root, bool with_times = true);
std::string Describe(const std::map<std::string, std::string>& snapshot);

void WriteHostFile(const std::string& path, const std::string& data);
std::string ReadHostFile(const std::string& path);

}  // namespace liman::containerd::archive::testing
