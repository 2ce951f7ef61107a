// Writing the changes between two mount sets as a layer blob (containerd 1.6's diff.Comparer).
// The snapshotter's mounts make this cheap in the case that matters (committing a container or
// a prepared snapshot): the upper mounts are the lower ones plus one more directory on top, an
// overlay upper directory or a new base layer, and that directory *is* the change set, written
// out with archive::WriteLayerFromUpper. Any other pair of mount sets is mounted read-only (under
// the caller's temporary directory) and the two trees are compared entry by entry
// (archive::WriteLayerFromTrees), as containerd's walking differ does.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/mount.h"
#include "containerd/core/content.h"
#include "containerd/services/diff/layer_applier.h"

namespace liman::containerd::services::diff {

struct CompareOptions {
  std::string media_type;  // empty: tar+gzip (containerd's default)
  std::string ref;         // ingest ref; empty: a unique one, aborted on failure
  Labels labels;           // for the blob, with containerd.io/uncompressed added
};

// The layer from `lower` to `upper` (no mounts: an empty tree), written to `content` and
// committed; its descriptor. Temporary mounts go under `temp_dir`. kUnimplemented for a media
// type other than the OCI tar, tar+gzip and tar+zstd layers.
absl::StatusOr<LayerDescriptor> CompareMounts(ContentStore& content, const std::vector<MountDescriptor>& lower,
                                              const std::vector<MountDescriptor>& upper,
                                              const CompareOptions& options, const std::string& temp_dir);

// The directory holding exactly the changes from `lower` to `upper` (see above), or
// kUnimplemented naming why there is none.
absl::StatusOr<std::string> ChangeDirectory(const std::vector<MountDescriptor>& lower,
                                            const std::vector<MountDescriptor>& upper);

}  // namespace liman::containerd::services::diff
