// Garbage collection (containerd's metadata/gc.go and the cleanup half of metadata/db.go).
//
// Mark, in every namespace, from the roots:
//   - leases that have not expired (containerd.io/gc.expire), and what they hold: content,
//     ingests, snapshots (a lease labelled containerd.io/gc.flat holds only those, not what
//     their labels reference);
//   - images (their target content);
//   - containers (their snapshot in their snapshotter);
//   - content and snapshots labelled containerd.io/gc.root;
//   - ingests without a lease that have not expired;
// following references: labels containerd.io/gc.ref.content[.<x>|/<x>] (a digest) and
// containerd.io/gc.ref.snapshot.<snapshotter>[/<x>] (a key) on images, containers, content and
// snapshots; a snapshot's parent; an ingest's shared blob.
// Sweep: the rows of leases, content, ingests and snapshots left unmarked. Then the backends:
// blobs no namespace has (nor a shared ingest names), backend ingests no ingest row names, and
// backend snapshots no snapshot row names (children before parents), then the snapshotters'
// own Cleanup.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "containerd/metadata/db_state.h"

namespace liman::containerd::metadata {

struct GarbageCollectStats {
  // Rows removed from the metadata, all namespaces together.
  int64_t leases = 0;
  int64_t content = 0;
  int64_t ingests = 0;
  int64_t snapshots = 0;
  // Objects removed from the backends.
  int64_t blobs = 0;
  int64_t backend_ingests = 0;
  int64_t backend_snapshots = 0;
};

// One full collection; callers serialise collections (DB::GarbageCollect holds gc_mutex).
absl::StatusOr<GarbageCollectStats> CollectGarbage(DbState& state);

// The backend half for one snapshotter: removes the backend snapshots no row names, then runs
// its Cleanup. Returns how many snapshots were removed.
absl::StatusOr<int64_t> CollectSnapshotterBackend(DbState& state, SnapshotterBackend& backend);

}  // namespace liman::containerd::metadata
