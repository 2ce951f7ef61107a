// liman-containerd's metadata store (containerd's metadata.DB): namespaces, images,
// containers and leases in one SQLite file, namespaced views over the shared content store and
// snapshotters, and the garbage collector that ties them together.
//
//   <root>/io.containerd.metadata.v1.sqlite/meta.db   (WAL: also meta.db-wal, meta.db-shm)
//
// Every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "containerd/core/content.h"
#include "containerd/core/snapshots.h"
#include "containerd/metadata/container_store.h"
#include "containerd/metadata/db_state.h"
#include "containerd/metadata/gc.h"
#include "containerd/metadata/image_store.h"
#include "containerd/metadata/lease_store.h"
#include "containerd/metadata/namespace_store.h"
#include "containerd/metadata/records.h"

namespace liman::containerd::metadata {

struct DbOptions {
  // The blob store all namespaces share (required).
  std::shared_ptr<ContentStore> content;
  // The snapshotters by name ("overlayfs"), shared by all namespaces.
  std::map<std::string, std::shared_ptr<Snapshotter>> snapshotters;
  ContentSharingPolicy content_sharing = ContentSharingPolicy::kIsolated;
  // How long an ingest without a lease is kept (containerd: a day).
  absl::Duration ingest_expiry = absl::Hours(24);
  // The time source (tests move it forward); absl::Now when empty.
  std::function<absl::Time()> clock;
};

class DB {
 public:
  // <root>/io.containerd.metadata.v1.sqlite/meta.db
  static std::string DatabasePath(const std::string& root);
  // Opens (creating it and its directory if needed) the database under `root`.
  static absl::StatusOr<std::unique_ptr<DB>> Open(const std::string& root, DbOptions options);
  DB(const DB&) = delete;
  DB& operator=(const DB&) = delete;
  ~DB();

  NamespaceStore& Namespaces() { return namespaces_; }
  ImageStore& Images() { return images_; }
  ContainerStore& Containers() { return containers_; }
  LeaseStore& Leases() { return leases_; }

  // Namespace `ns`'s view of the content store; with a `lease`, what it writes joins the lease.
  // kFailedPrecondition/kInvalidArgument for a missing or bad namespace name. The view is
  // cheap and may outlive nothing but this DB.
  absl::StatusOr<std::unique_ptr<ContentStore>> ContentView(std::string_view ns, std::string_view lease = "");
  // Namespace `ns`'s view of snapshotter `snapshotter` (kInvalidArgument if it is not
  // loaded); a NamespacedStagingSnapshotter, hence a StagingSnapshotter, when the backend is one.
  absl::StatusOr<std::unique_ptr<Snapshotter>> SnapshotterView(std::string_view snapshotter, std::string_view ns,
                                                               std::string_view lease = "");
  std::vector<std::string> SnapshotterNames() const;

  // A full collection (see gc.h); concurrent calls run one after the other.
  absl::StatusOr<GarbageCollectStats> GarbageCollect();
  // Deletions since the last collection began (containerd's dirty count): a periodic
  // scheduler can skip collecting while this is 0.
  uint64_t DeletionsSinceCollection() const { return state_->deletions; }

 private:
  explicit DB(std::unique_ptr<DbState> state);

  std::unique_ptr<DbState> state_;
  NamespaceStore namespaces_;
  ImageStore images_;
  ContainerStore containers_;
  LeaseStore leases_;
};

}  // namespace liman::containerd::metadata
