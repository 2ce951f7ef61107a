// What the stores, the namespaced views and the garbage collector of one metadata DB share.
// Internal to containerd/metadata.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "absl/time/time.h"
#include "containerd/core/content.h"
#include "containerd/core/snapshots.h"
#include "common/sqlite.h"

namespace liman::containerd::metadata {

// containerd's content_sharing_policy: with kIsolated the client must write the whole blob,
// proving it has it, before a namespace sees a blob another namespace has; with kShared a
// namespace may adopt such a blob by naming its digest (no bytes written; the writer starts at
// the blob's size). containerd 1.6 defaults to shared; liman defaults to isolated.
enum class ContentSharingPolicy { kIsolated, kShared };

// Backend operations and their garbage collection exclude each other through a per-backend
// lock: an operation that creates backend objects (a commit, a prepare) holds it shared from
// the backend call until the row naming the object is written, so the collector, which holds
// it exclusively while it compares the backend with the rows, never sees an object that is
// about to be recorded.
struct SnapshotterBackend {
  std::string name;
  std::shared_ptr<Snapshotter> snapshotter;
  StagingSnapshotter* staging = nullptr;  // the same object if it implements the extension
  std::shared_mutex lock;
};

struct DbState {
  std::unique_ptr<sqlite::Pool> pool;
  std::function<absl::Time()> clock;
  ContentSharingPolicy content_sharing = ContentSharingPolicy::kIsolated;
  absl::Duration ingest_expiry;

  std::shared_ptr<ContentStore> content;
  std::shared_mutex content_lock;
  std::map<std::string, std::unique_ptr<SnapshotterBackend>, std::less<>> snapshotters;

  // Deletions since the last collection (containerd's "dirty" count): a scheduler may collect
  // only when this is not zero.
  std::atomic<uint64_t> deletions{0};
  // One collection at a time.
  std::mutex gc_mutex;
  // Runs a full collection (DB::GarbageCollect); what a delete with `sync` calls.
  std::function<absl::Status()> collect_garbage;
};

}  // namespace liman::containerd::metadata
