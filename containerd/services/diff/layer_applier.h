// Unpacking a layer blob onto a snapshot's mounts (containerd 1.6's diff/apply on Linux):
//  - one overlay mount with an upperdir: straight into the upper directory, whiteouts in
//    overlay's form, the lowerdirs deciding the attributes of directories the layer implies;
//  - one writable bind mount: straight into its source, whiteouts deleting;
//  - anything else: mounted on a temporary directory, unpacked there, unmounted again.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/mount.h"
#include "containerd/core/content.h"

namespace liman::containerd::services::diff {

inline constexpr char kMediaTypeLayerTar[] = "application/vnd.oci.image.layer.v1.tar";
inline constexpr char kMediaTypeLayerGzip[] = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr char kMediaTypeLayerZstd[] = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr char kUncompressedLabel[] = "containerd.io/uncompressed";

struct LayerDescriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
};

// Applies blob `layer` of `content` onto `mounts`; temporary mounts go under `temp_dir`. The
// blob's bytes are hashed as they are read and must match layer.digest (kDataLoss otherwise),
// and its size layer.size when that is set. Returns the uncompressed layer: media type
// kMediaTypeLayerTar, its diff id and tar size. With `sync_fs` the unpacked files are flushed
// (syncfs) before returning (see DaemonConfig::sync_fs).
absl::StatusOr<LayerDescriptor> ApplyLayerToMounts(ContentStore& content, const LayerDescriptor& layer,
                                                   const std::vector<MountDescriptor>& mounts,
                                                   const std::string& temp_dir, bool sync_fs);

}  // namespace liman::containerd::services::diff
