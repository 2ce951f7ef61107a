// Unpacking a layer (containerd's diff.Applier): the compressed tar is read, decompressed and
// hashed in one streaming pass, parsed by libarchive (tar only, no libarchive decompression) and
// written by our own code, every path resolved inside `root` (see root_dir.h), so that a hostile
// tar cannot write, link or delete anything outside it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "containerd/archive/byte_source.h"
#include "containerd/archive/compression.h"

namespace liman::containerd::archive {

struct ApplyOptions {
  // true: `root` is an overlayfs upper directory: whiteouts become overlay's form (char device 0/0,
  // opaque dirs get trusted.overlay.opaque=y); false: `root` is a merged tree: whiteouts delete.
  bool overlay_whiteouts = true;
  // Overlay mode: the lower directories below `root`, top first. A directory a layer writes into
  // without containing it is created with the mode, owner and times it has in the first lower
  // that has it (containerd's "parents"), so the upper copy does not mask them. Empty: 0755 root.
  std::vector<std::string> lower_dirs;
  // Decompress and hash on a worker thread while this one writes files. Off: one thread.
  bool read_ahead = true;

  // What docker cp needs of an archive it unpacks into a container (it is not a layer):
  // false: `.wh.` names are files like any other, and nothing is deleted.
  bool whiteouts = true;
  // Every entry is given this owner instead of the tar's (docker cp without -a: the container's
  // root user).
  std::optional<std::pair<uid_t, gid_t>> owner;
  // An entry may not replace a directory with a non-directory or the reverse (docker cp's
  // noOverwriteDirNonDir): the entry fails instead.
  bool no_overwrite_dir_non_dir = false;
};

struct ApplyResult {
  std::string diff_id;   // "sha256:<hex>" of the uncompressed tar
  int64_t tar_size = 0;  // bytes of the uncompressed tar
};

// Unpacks the layer read from `compressed` into the existing directory `root`.
//
// Entries: directories (times set after the whole layer, deepest first), regular files (sparse
// ones too), symlinks, hardlinks (to entries inside the root), character and block devices, FIFOs;
// owner, mode (setuid/setgid/sticky included), nanosecond mtime and xattrs (user.*, trusted.*,
// security.capability; trusted.overlay.* from a tar is dropped: whiteouts are the layer's way to
// say that). An entry replaces what is at its path, except a directory kept for a directory entry.
// Names are taken relative to the root ("/etc/x" is "etc/x") and symlinks on the way resolve
// inside it, as in containerd; a name or hardlink target with ".." above the root, an invalid
// whiteout name, or a parent that is not a directory fails with an error naming the entry.
//
// `compressed` is read on a worker thread (with read_ahead); to cancel, make its Read fail. On
// an error ApplyLayer returns once a Read in progress has returned; the root then holds a partial
// layer, which the caller discards. Nothing is fsynced: call SyncFilesystem once before
// committing the snapshot.
absl::StatusOr<ApplyResult> ApplyLayer(ByteSource& compressed, Compression compression, const std::string& root,
                                       const ApplyOptions& options);

// syncfs(2) on the filesystem holding `dir`: one flush for every layer unpacked there.
absl::Status SyncFilesystem(const std::string& dir);

}  // namespace liman::containerd::archive
