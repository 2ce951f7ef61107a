// Disk usage of a directory tree as containerd's snapshotters account it (continuity's
// fs.DiskUsage): allocated blocks and distinct inodes, hard links counted once.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "containerd/core/snapshots.h"

namespace liman::containerd::snapshots {

// Walks `root` (itself included) without following symlinks; size is st_blocks * 512 summed
// over distinct (dev, ino) pairs, inodes is the number of those pairs.
absl::StatusOr<SnapshotUsage> DiskUsage(const std::string& root);

}  // namespace liman::containerd::snapshots
