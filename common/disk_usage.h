// Disk usage of a directory tree as containerd's snapshotters (and Docker's volume sizes) account it (continuity's
// fs.DiskUsage): allocated blocks and distinct inodes, hard links counted once.
#pragma once

#include <string>

#include <cstdint>

#include "absl/status/statusor.h"

namespace liman {

struct DiskUsage {
  int64_t size = 0;  // bytes allocated on disk
  int64_t inodes = 0;
};

// Walks `root` (itself included) without following symlinks; size is st_blocks * 512 summed
// over distinct (dev, ino) pairs, inodes is the number of those pairs.
absl::StatusOr<DiskUsage> MeasureDiskUsage(const std::string& root);

}  // namespace liman
