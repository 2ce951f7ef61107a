// Snapshotters: filesystem trees in parent chains (containerd's snapshots.Snapshotter).
// An active snapshot is writable and can be committed into a named, immutable one; a view is a
// read-only active snapshot. Snapshotters return mount descriptors and never mount.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/disk_usage.h"
#include "common/mount.h"
#include "containerd/core/content.h"

namespace liman::containerd {

// Values as in containerd.services.snapshots.v1.Kind.
enum class SnapshotKind { kUnknown = 0, kView = 1, kActive = 2, kCommitted = 3 };

struct SnapshotInfo {
  SnapshotKind kind = SnapshotKind::kUnknown;
  std::string name;    // the key (active/view) or the committed name
  std::string parent;  // committed name of the parent, empty for none
  Labels labels;
  absl::Time created_at;
  absl::Time updated_at;
};

// Bytes and inodes used by a snapshot's own layer.
using SnapshotUsage = ::liman::DiskUsage;

class Snapshotter {
 public:
  virtual ~Snapshotter() = default;
  virtual absl::StatusOr<SnapshotInfo> Stat(std::string_view key) = 0;
  // Only labels can change ("labels" or "labels.<key>" paths; empty paths: all labels).
  virtual absl::StatusOr<SnapshotInfo> Update(const SnapshotInfo& info, const FieldPaths& paths) = 0;
  virtual absl::StatusOr<SnapshotUsage> Usage(std::string_view key) = 0;
  // Mounts of an active snapshot or view (kFailedPrecondition for a committed one).
  virtual absl::StatusOr<std::vector<MountDescriptor>> Mounts(std::string_view key) = 0;
  // New active snapshot `key` on top of committed `parent` (empty: none). kAlreadyExists if
  // `key` exists; kNotFound if `parent` does not; kInvalidArgument if parent is not committed.
  virtual absl::StatusOr<std::vector<MountDescriptor>> Prepare(std::string_view key, std::string_view parent,
                                                               const Labels& labels) = 0;
  virtual absl::StatusOr<std::vector<MountDescriptor>> View(std::string_view key, std::string_view parent,
                                                            const Labels& labels) = 0;
  // Turns active `key` into committed `name` (key disappears). kAlreadyExists for a taken name.
  virtual absl::Status Commit(std::string_view name, std::string_view key, const Labels& labels) = 0;
  // kFailedPrecondition when the snapshot has children.
  virtual absl::Status Remove(std::string_view key) = 0;
  virtual absl::Status Walk(const std::vector<std::string>& filters,
                            const std::function<absl::Status(const SnapshotInfo&)>& fn) = 0;
  // Removes directories no longer referenced by any snapshot (after Remove or a crash).
  virtual absl::Status Cleanup() = 0;
};

// Optional extension for snapshotters whose active snapshot is a plain directory (overlay's
// upperdir): a layer can be extracted into a staging directory on the snapshotter's filesystem
// before its parent is committed, then adopted as the upper directory of a prepared snapshot.
// This is what lets a pull unpack layers concurrently while snapshots still form a chain.
class StagingSnapshotter {
 public:
  virtual ~StagingSnapshotter() = default;
  // A new empty directory on the snapshotter's filesystem; removed by Cleanup if never adopted.
  virtual absl::StatusOr<std::string> NewStagingDir() = 0;
  // Replaces the (empty) upper directory of active snapshot `key` with `staging_dir` (rename).
  virtual absl::Status AdoptStagingDir(std::string_view key, const std::string& staging_dir) = 0;
};

}  // namespace liman::containerd
