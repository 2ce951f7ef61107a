// One namespace's view of a snapshotter (containerd's metadata/snapshot.go). The backend
// snapshotter is shared by all namespaces: a namespace's snapshot "k" is backend snapshot
// "<ns>/<seq>/k", a fresh <seq> per Prepare/View/Commit, so keys never collide across
// namespaces nor with a removed snapshot the collector has not reached yet. Parents, labels and
// times are kept here; labels starting with "containerd.io/snapshot/" are also handed to the
// backend. Remove only forgets the snapshot: the backend's copy goes at the next collection.
//
// A view with a lease adds the snapshots it creates to the lease. The view forwards
// StagingSnapshotter when the backend has it (DB::SnapshotterView returns a
// NamespacedStagingSnapshotter then).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "containerd/core/snapshots.h"
#include "containerd/metadata/db_state.h"

namespace liman::containerd::metadata {

class NamespacedSnapshotter : public Snapshotter {
 public:
  // `ns` must be valid (DB::SnapshotterView checks it); `lease` may be empty.
  NamespacedSnapshotter(DbState& state, SnapshotterBackend& backend, std::string ns, std::string lease)
      : state_(state), backend_(backend), ns_(std::move(ns)), lease_(std::move(lease)) {}

  absl::StatusOr<SnapshotInfo> Stat(std::string_view key) override;
  absl::StatusOr<SnapshotInfo> Update(const SnapshotInfo& info, const FieldPaths& paths) override;
  absl::StatusOr<SnapshotUsage> Usage(std::string_view key) override;
  absl::StatusOr<std::vector<MountDescriptor>> Mounts(std::string_view key) override;
  // A "containerd.io/snapshot.ref" label names the snapshot this one will be committed as:
  // kAlreadyExists if the namespace has it already (the unpacker then skips the layer).
  absl::StatusOr<std::vector<MountDescriptor>> Prepare(std::string_view key, std::string_view parent,
                                                       const Labels& labels) override;
  absl::StatusOr<std::vector<MountDescriptor>> View(std::string_view key, std::string_view parent,
                                                    const Labels& labels) override;
  absl::Status Commit(std::string_view name, std::string_view key, const Labels& labels) override;
  absl::Status Remove(std::string_view key) override;
  absl::Status Walk(const std::vector<std::string>& filters,
                    const std::function<absl::Status(const SnapshotInfo&)>& fn) override;
  // Removes the backend snapshots no namespace has any more, then runs the backend's Cleanup
  // (what a collection does for this snapshotter).
  absl::Status Cleanup() override;

 protected:
  // The backend key of the namespace's snapshot `key` (kNotFound if it has none).
  absl::StatusOr<std::string> BackendKeyOf(std::string_view key);

  DbState& state_;
  SnapshotterBackend& backend_;

 private:
  absl::StatusOr<std::vector<MountDescriptor>> CreateSnapshot(SnapshotKind kind, std::string_view key,
                                                              std::string_view parent, const Labels& labels);

  const std::string ns_;
  const std::string lease_;
};

class NamespacedStagingSnapshotter final : public NamespacedSnapshotter, public StagingSnapshotter {
 public:
  using NamespacedSnapshotter::NamespacedSnapshotter;

  absl::StatusOr<std::string> NewStagingDir() override;
  // `key` is the namespace's active snapshot.
  absl::Status AdoptStagingDir(std::string_view key, const std::string& staging_dir) override;
};

}  // namespace liman::containerd::metadata
