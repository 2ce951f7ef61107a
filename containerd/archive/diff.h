// Creating a layer (containerd's diff.Comparer for overlay): an overlay upper directory already is
// the set of changes against its lowers, so it is written out as a tar with overlay's whiteouts
// turned back into the OCI form (layer.md), compressed, hashed both ways on the way to the sink.
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

}  // namespace liman::containerd::archive
