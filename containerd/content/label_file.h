// Labels of a committed blob, kept beside it in <root>/labels/sha256/<hex> as a JSON object.
// Blobs are immutable and read-only, so mutable labels live in a sidecar replaced atomically;
// its mtime is the blob's "updated at".
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "containerd/core/content.h"

namespace liman::containerd::content {

// Empty labels when the file does not exist; kDataLoss when it is not a JSON string map.
absl::StatusOr<Labels> ReadLabelFile(const std::string& path);

// Durable replace (write, fsync, rename), then sets the file's mtime to `updated_at`.
absl::Status WriteLabelFile(const std::string& path, const Labels& labels, absl::Time updated_at);

// A missing file is fine.
absl::Status RemoveLabelFile(const std::string& path);

}  // namespace liman::containerd::content
