// The metadata schema: what containerd keeps in bolt buckets under v1/<namespace>/…, as
// tables keyed by namespace. Labels and annotations are JSON objects of strings; times are
// nanoseconds since the Unix epoch (UTC); protobuf Anys are a type URL plus the raw bytes.
//
//                               namespaces (name)
//                                 labels
//                                   ▲ every table's namespace column (ingests go with their
//                                   │ namespace; anything else must be deleted first)
//   ┌──────────────────┬────────────┴─────┬──────────────────┬──────────────────────┐
//   images             containers          leases             content                snapshots
//   (namespace, name)  (namespace, id)     (namespace, id)    (namespace, digest)    (namespace, snapshotter, key)
//   target_media_type  labels, image,      labels,            size, labels,          backend_key "<ns>/<seq>/<key>",
//   target_digest      runtime_name,       created_at         created_at,            parent ──▶ snapshots.key of the
//   target_size        runtime_options_*,     │               updated_at               same namespace and snapshotter,
//   target_annotations spec_*, snapshotter,   │ 1:n cascade   (the blob lives once   labels, created_at, updated_at
//   labels,            snapshot_key,          ▼                in the backend store)
//   created_at,        sandbox_id,         lease_resources                           ingests (namespace, ref)
//   updated_at         created_at,         (namespace, lease_id, type, id)           backend_ref "<ns>/<seq>/<ref>",
//                      updated_at          type: content | ingests |                 expected (the client's digest),
//                         │ 1:n cascade          snapshots/<snapshotter>             shared (1: adopts `expected` from
//                         ▼                                                            another namespace, "shared"
//                      container_extensions                                            policy: nothing in the backend),
//                      (namespace, container_id, name)                               expires_at (lease-less ingests)
//                      type_url, value
//
//   sequences (name): value, the last number handed out ("backend": the <seq> of backend keys
//   and refs, global so that a key is never reused, not even after its namespace is deleted)
//
// Migration rule: PRAGMA user_version is the schema version. Each entry of kMigrations takes
// the schema from version i to i+1 and is never edited once released; a change adds an entry
// (ALTER TABLE … ADD COLUMN with a default, a new table, a data rewrite) and bumps
// kSchemaVersion. All pending migrations run in one transaction at open, so a crash leaves
// the file at its old version. A file whose version is newer than this build is refused.
#include "containerd/metadata/schema.h"

#include <string_view>

#include "common/fmt_absl.h"
#include "common/status.h"

namespace liman::containerd::metadata {
namespace {

constexpr std::string_view kVersion1 = R"sql(
CREATE TABLE namespaces (
  name TEXT PRIMARY KEY NOT NULL,
  labels TEXT NOT NULL DEFAULT '{}'
) WITHOUT ROWID;

CREATE TABLE images (
  namespace TEXT NOT NULL REFERENCES namespaces(name),
  name TEXT NOT NULL,
  target_media_type TEXT NOT NULL,
  target_digest TEXT NOT NULL,
  target_size INTEGER NOT NULL,
  target_annotations TEXT NOT NULL DEFAULT '{}',
  labels TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, name)
) WITHOUT ROWID;

CREATE TABLE containers (
  namespace TEXT NOT NULL REFERENCES namespaces(name),
  id TEXT NOT NULL,
  labels TEXT NOT NULL DEFAULT '{}',
  image TEXT NOT NULL DEFAULT '',
  runtime_name TEXT NOT NULL,
  runtime_options_type_url TEXT,
  runtime_options_value BLOB,
  spec_type_url TEXT,
  spec_value BLOB,
  snapshotter TEXT NOT NULL DEFAULT '',
  snapshot_key TEXT NOT NULL DEFAULT '',
  sandbox_id TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, id)
) WITHOUT ROWID;

CREATE TABLE container_extensions (
  namespace TEXT NOT NULL,
  container_id TEXT NOT NULL,
  name TEXT NOT NULL,
  type_url TEXT NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY (namespace, container_id, name),
  FOREIGN KEY (namespace, container_id) REFERENCES containers(namespace, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE leases (
  namespace TEXT NOT NULL REFERENCES namespaces(name),
  id TEXT NOT NULL,
  labels TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, id)
) WITHOUT ROWID;

CREATE TABLE lease_resources (
  namespace TEXT NOT NULL,
  lease_id TEXT NOT NULL,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  PRIMARY KEY (namespace, lease_id, type, id),
  FOREIGN KEY (namespace, lease_id) REFERENCES leases(namespace, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE content (
  namespace TEXT NOT NULL REFERENCES namespaces(name),
  digest TEXT NOT NULL,
  size INTEGER NOT NULL,
  labels TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, digest)
) WITHOUT ROWID;

CREATE TABLE ingests (
  namespace TEXT NOT NULL REFERENCES namespaces(name) ON DELETE CASCADE,
  ref TEXT NOT NULL,
  backend_ref TEXT NOT NULL UNIQUE,
  expected TEXT,
  shared INTEGER NOT NULL DEFAULT 0,
  expires_at INTEGER,
  PRIMARY KEY (namespace, ref)
) WITHOUT ROWID;

CREATE TABLE snapshots (
  namespace TEXT NOT NULL REFERENCES namespaces(name),
  snapshotter TEXT NOT NULL,
  key TEXT NOT NULL,
  backend_key TEXT NOT NULL,
  parent TEXT,
  labels TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, snapshotter, key),
  UNIQUE (snapshotter, backend_key),
  -- Checked at commit: garbage collection removes a parent and its children together.
  FOREIGN KEY (namespace, snapshotter, parent) REFERENCES snapshots(namespace, snapshotter, key)
    DEFERRABLE INITIALLY DEFERRED
) WITHOUT ROWID;
CREATE INDEX snapshots_by_parent ON snapshots(namespace, snapshotter, parent);

CREATE TABLE sequences (
  name TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// kMigrations[i] takes the schema from version i to i + 1.
constexpr std::string_view kMigrations[] = {kVersion1};
static_assert(std::size(kMigrations) == kSchemaVersion);

absl::StatusOr<int> UserVersion(sqlite::Connection& connection) {
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, connection.Prepare("PRAGMA user_version"));
  LIMAN_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? static_cast<int>(stmt.Int(0)) : 0;
}

}  // namespace

absl::Status MigrateSchema(sqlite::Connection& connection) {
  LIMAN_RETURN_IF_ERROR(connection.Exec("BEGIN IMMEDIATE"));
  auto migrate = [&]() -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(int version, UserVersion(connection));
    if (version > kSchemaVersion) {
      return absl::FailedPreconditionError(fmt::format(
          "metadata database schema version {} is newer than this build supports ({})", version, kSchemaVersion));
    }
    for (int i = version; i < kSchemaVersion; ++i) {
      if (absl::Status status = connection.Exec(kMigrations[i]); !status.ok())
        return Annotate(status, fmt::format("migrate metadata schema to version {}", i + 1));
    }
    if (version == kSchemaVersion) return absl::OkStatus();
    return connection.Exec(fmt::format("PRAGMA user_version = {}", kSchemaVersion));
  };
  absl::Status status = migrate();
  absl::Status end = connection.Exec(status.ok() ? "COMMIT" : "ROLLBACK");
  return status.ok() ? end : status;
}

}  // namespace liman::containerd::metadata
