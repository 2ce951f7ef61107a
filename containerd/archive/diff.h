// Creating a layer (containerd's diff.Comparer): an overlay upper directory already is the set of
// changes against its lowers, so it is written out as a tar with overlay's whiteouts turned back
// into the OCI form (layer.md); any other pair of trees is compared entry by entry. The tar is
// compressed and hashed both ways on the way to the sink.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "containerd/archive/compression.h"

namespace liman::containerd::archive {

struct LayerWritten {
  std::string digest;   // "sha256:<hex>" of the compressed bytes given to the sink
  std::string diff_id;  // "sha256:<hex>" of the uncompressed tar
  int64_t size = 0;     // compressed bytes
};

// Walks `upper_dir` (names sorted, each directory before its contents) and writes a pax tar of
// it: character device 0/0 -> `.wh.<name>`, trusted.overlay.opaque=y -> the directory followed by
// `<dir>/.wh..wh..opq`; other trusted.overlay.* xattrs are overlay's bookkeeping and left out.
// Files with several links in the upper become one file and hardlinks to it. Sockets are skipped.
// Times are whole seconds, as Docker and containerd write them (reproducible digests).
absl::StatusOr<LayerWritten> WriteLayerFromUpper(const std::string& upper_dir, Compression compression,
                                                 const std::function<absl::Status(std::string_view)>& sink);

// containerd's walking differ: the changes that turn the tree `lower_dir` into the tree
// `upper_dir` (both as seen, e.g. mounted snapshots) as a layer. Entries only in the upper, or
// different from the lower's (type, permissions, owner, device, xattrs; for non-directories size
// and mtime too, and content or link target when both mtimes are whole seconds), with their
// parent directories; `.wh.<name>` for what only the lower has. Neither tree may change meanwhile.
absl::StatusOr<LayerWritten> WriteLayerFromTrees(const std::string& lower_dir, const std::string& upper_dir,
                                                 Compression compression,
                                                 const std::function<absl::Status(std::string_view)>& sink);

// docker cp's archive of a container's file: the entry `name` of the directory `dir_fd` (a symlink
// is written as one, not followed) as `entry_name` in an uncompressed pax tar, followed by
// everything below it if it is a directory. As in layers: hardlinks within it stay hardlinks,
// xattrs are kept, sockets are skipped, times are whole seconds.
absl::Status WriteEntryTar(int dir_fd, const std::string& name, const std::string& entry_name,
                           const std::function<absl::Status(std::string_view)>& sink);

}  // namespace liman::containerd::archive
