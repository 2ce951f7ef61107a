// Whiteout entries (OCI image spec layer.md) applied to the root, in one of two forms:
//  - overlay: the root is an overlayfs upper directory; `.wh.x` becomes the character device 0/0
//    named x and `.wh..wh..opq` the xattr trusted.overlay.opaque=y on its directory, which is how
//    overlayfs itself records deletions (Documentation/filesystems/overlayfs.rst, "whiteouts and
//    opaque directories");
//  - merged: the root is the whole tree; `.wh.x` deletes x and `.wh..wh..opq` deletes everything
//    in its directory that this layer did not itself unpack.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "containerd/archive/entry_path.h"
#include "containerd/archive/root_dir.h"

namespace liman::containerd::archive {

// The xattr overlayfs reads as "this directory hides the lower layers' entries" (value "y").
inline constexpr char kOpaqueXattr[] = "trusted.overlay.opaque";

class Whiteouts {
 public:
  Whiteouts(bool overlay, ParentDirs& parents) : overlay_(overlay), parents_(parents) {}

  // Merged form only: remembers that `path` came from this layer, which an opaque whiteout keeps.
  void NoteUnpacked(std::string_view path) {
    if (!overlay_) unpacked_.emplace(path);
  }

  // Owner and times of the whiteout entry, given to overlay's whiteout device.
  struct Attributes {
    uid_t uid = 0;
    gid_t gid = 0;
    struct timespec times[2] = {};
  };
  // `name` is the parsed base name of an entry in directory `parent`.
  absl::Status Apply(const WhiteoutName& name, std::string_view parent, const Attributes& attributes);

 private:
  absl::Status Delete(std::string_view parent, std::string_view target);
  absl::Status MarkDeleted(std::string_view parent, std::string_view target, const Attributes& attributes);
  absl::Status ClearDirectory(std::string_view parent);
  absl::Status MarkOpaque(std::string_view parent);
  absl::Status RemoveNotUnpacked(int dir_fd, std::string& path);

  bool overlay_;
  ParentDirs& parents_;
  absl::flat_hash_set<std::string> unpacked_;
};

}  // namespace liman::containerd::archive
