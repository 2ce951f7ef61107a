// The overlayfs snapshotter, laid out like containerd's (snapshots/overlay):
//
//   <root>/metadata.db             snapshot rows (schema: metastore.h)
//   <root>/snapshots/<id>/fs       the layer: an active snapshot's upperdir, a committed layer's
//                                  lowerdir, a parentless snapshot's bind-mounted tree
//   <root>/snapshots/<id>/work     overlay's workdir (active snapshots only)
//   <root>/snapshots/new-*         a snapshot being created (renamed to <id> inside its
//                                  transaction, before the commit)
//   <root>/snapshots/removed-*     a removed snapshot or a leftover being deleted
//   <root>/staging/<random>        layers extracted before their snapshot exists (StagingSnapshotter)
//
// Crash safety: a snapshot's directory gets its final name (rename, then fsync of snapshots/)
// while the transaction that inserts its row is open, so a crash or power cut leaves either a
// row with its directory or a directory without a row (removed by Cleanup, or by the next
// snapshot to get that id, since a rolled-back id is handed out again). Remove deletes the row
// first and then renames the directory away, so no row ever points to a half-deleted tree.
// Layer contents are not synced here: whoever writes them (the unpacker) decides.
//
// Thread safety: every call may come from any thread. Metadata and directory renames happen
// under one mutex; the slow parts (measuring usage for Commit and Usage, deleting trees) run
// outside it.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/core/snapshots.h"
#include "containerd/snapshots/metastore.h"

namespace liman::containerd::snapshots {

class OverlaySnapshotter final : public Snapshotter, public StagingSnapshotter {
 public:
  // Opens (creating if needed) the snapshotter rooted at `root`, which must be on a
  // filesystem that can hold overlay upper directories (not overlayfs itself).
  static absl::StatusOr<std::unique_ptr<OverlaySnapshotter>> Open(const std::string& root);

  absl::StatusOr<SnapshotInfo> Stat(std::string_view key) override;
  absl::StatusOr<SnapshotInfo> Update(const SnapshotInfo& info, const FieldPaths& paths) override;
  absl::StatusOr<SnapshotUsage> Usage(std::string_view key) override;
  absl::StatusOr<std::vector<MountDescriptor>> Mounts(std::string_view key) override;
  absl::StatusOr<std::vector<MountDescriptor>> Prepare(std::string_view key, std::string_view parent,
                                                       const Labels& labels) override;
  absl::StatusOr<std::vector<MountDescriptor>> View(std::string_view key, std::string_view parent,
                                                    const Labels& labels) override;
  absl::Status Commit(std::string_view name, std::string_view key, const Labels& labels) override;
  absl::Status Remove(std::string_view key) override;
  absl::Status Walk(const std::vector<std::string>& filters,
                    const std::function<absl::Status(const SnapshotInfo&)>& fn) override;
  absl::Status Cleanup() override;

  // A staging directory handed out by this instance stays until it is adopted or the caller
  // deletes it; Cleanup removes only the others (left by an earlier process).
  absl::StatusOr<std::string> NewStagingDir() override;
  // `staging_dir` must come from NewStagingDir of this instance and `key` must be an active
  // snapshot whose fs/ is still empty; the two are swapped atomically and the empty one removed.
  absl::Status AdoptStagingDir(std::string_view key, const std::string& staging_dir) override;

  const std::string& root() const { return root_; }

 private:
  OverlaySnapshotter(std::string root, std::unique_ptr<MetaStore> store, bool index_off);

  std::string SnapshotDir(int64_t id) const;
  std::string UpperPath(int64_t id) const;
  std::string WorkPath(int64_t id) const;
  std::string SnapshotsDir() const;
  std::string StagingDir() const;

  absl::StatusOr<std::vector<MountDescriptor>> CreateSnapshot(SnapshotKind kind, std::string_view key,
                                                              std::string_view parent, const Labels& labels);
  // `parents`: ids of the committed parents, nearest first.
  std::vector<MountDescriptor> MountsFor(SnapshotKind kind, int64_t id, const std::vector<int64_t>& parents) const;
  // Renames `path` to a fresh snapshots/removed-* name and records it as being deleted;
  // returns the new name. Called with mu_ held.
  absl::StatusOr<std::string> MoveToTrash(const std::string& path);
  // Deletes trashed trees (outside mu_) and forgets them.
  void DeleteTrash(const std::vector<std::string>& trashed);

  const std::string root_;
  // "index=off" where the kernel knows the option, as containerd does: the inodes index (on by
  // default in some kernel builds) records file handles of the layers an upper dir was mounted
  // over and fails later mounts (ESTALE) once committed uppers serve as lowers of other
  // snapshots (Documentation/filesystems/overlayfs.rst, "Inodes index").
  const bool index_off_;

  std::mutex mu_;
  std::unique_ptr<MetaStore> store_;          // guarded by mu_
  std::set<std::string> trash_;               // removed-* names being deleted; guarded by mu_
  std::set<std::string> staging_handed_out_;  // staging dir names of this instance; guarded by mu_
};

}  // namespace liman::containerd::snapshots
