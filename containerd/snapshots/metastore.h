// The overlay snapshotter's metadata: one row per snapshot in <root>/metadata.db (SQLite, WAL,
// synchronous=FULL so a committed transaction survives a power cut), playing the part of
// containerd's snapshots/storage bolt buckets.
//
//   metadata.db, PRAGMA user_version = 1
//   snapshots
//   +--------------+---------------------------------------------------------------------+
//   | id           | INTEGER PRIMARY KEY AUTOINCREMENT: names the directory              |
//   |              | snapshots/<id>; never reused, not even after a delete, so a         |
//   |              | directory left by a crash can never be taken for a newer snapshot   |
//   | name         | TEXT NOT NULL UNIQUE: the key (active, view) or the committed name  |
//   | parent_id    | INTEGER NULL REFERENCES snapshots(id): the committed parent. By id, |
//   |              | so committing a key under a name keeps its children linked          |
//   | kind         | INTEGER NOT NULL: SnapshotKind (1 view, 2 active, 3 committed)      |
//   | labels       | TEXT NOT NULL: JSON object of strings                               |
//   | created_ns   | INTEGER NOT NULL: unix nanoseconds                                  |
//   | updated_ns   | INTEGER NOT NULL                                                    |
//   | usage_size   | INTEGER NOT NULL: bytes of fs/, measured by Commit (0 before)       |
//   | usage_inodes | INTEGER NOT NULL                                                    |
//   +--------------+---------------------------------------------------------------------+
//   INDEX snapshots_by_parent(parent_id): Remove's "has children" check.
//
// Migrations: user_version is the schema version. 0 is an empty file, which gets the current
// schema in one transaction. A schema change bumps kSchemaVersion and adds a step N -> N+1 that
// runs in a transaction together with its user_version update, so a crash never leaves a
// half-migrated file; a file newer than this binary is refused (kFailedPrecondition), never
// guessed at.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "containerd/core/snapshots.h"

struct sqlite3;

namespace liman::containerd::snapshots {

inline constexpr int kSchemaVersion = 1;

struct SnapshotRecord {
  int64_t id = 0;
  std::optional<int64_t> parent_id;
  SnapshotInfo info;
  SnapshotUsage usage;  // as stored: meaningful for committed snapshots
};

// Queries and changes inside one transaction of a MetaStore.
class MetaTransaction {
 public:
  explicit MetaTransaction(sqlite3* db) : db_(db) {}

  // kNotFound when no snapshot has this key or name.
  absl::StatusOr<SnapshotRecord> Get(std::string_view name);
  // `id` followed by its ancestors, nearest first.
  absl::StatusOr<std::vector<int64_t>> Chain(int64_t id);
  absl::StatusOr<bool> HasChildren(int64_t id);
  absl::StatusOr<std::vector<SnapshotRecord>> List();
  absl::StatusOr<std::set<int64_t>> Ids();

  // A new active snapshot or view; returns its id.
  absl::StatusOr<int64_t> Insert(SnapshotKind kind, std::string_view name, std::optional<int64_t> parent_id,
                                 const Labels& labels, absl::Time now);
  // Turns active `id` into committed `name` with fresh labels and timestamps.
  absl::Status Commit(int64_t id, std::string_view name, const Labels& labels, const SnapshotUsage& usage,
                      absl::Time now);
  absl::Status SetLabels(int64_t id, const Labels& labels, absl::Time now);
  absl::Status Delete(int64_t id);

 private:
  sqlite3* db_;
};

// The database. Not synchronised: the snapshotter serialises calls under its own mutex.
class MetaStore {
 public:
  // Opens or creates `path`, applying the schema or its migrations.
  static absl::StatusOr<std::unique_ptr<MetaStore>> Open(const std::string& path);
  MetaStore(const MetaStore&) = delete;
  MetaStore& operator=(const MetaStore&) = delete;
  ~MetaStore();

  // Runs `fn` in a read transaction.
  absl::Status Read(absl::FunctionRef<absl::Status(MetaTransaction&)> fn);
  // Runs `fn` in a write transaction, committed when `fn` succeeds and rolled back otherwise
  // (an error from the COMMIT itself included).
  absl::Status Write(absl::FunctionRef<absl::Status(MetaTransaction&)> fn);

 private:
  explicit MetaStore(sqlite3* db) : db_(db) {}
  absl::Status Migrate();
  absl::Status Transaction(std::string_view begin, absl::FunctionRef<absl::Status(MetaTransaction&)> fn);

  sqlite3* db_;
};

}  // namespace liman::containerd::snapshots
