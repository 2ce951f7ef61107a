#include "containerd/metadata/snapshot_view.h"

#include <mutex>
#include <shared_mutex>

#include "common/fmt_absl.h"
#include "common/logging.h"
#include "common/status.h"
#include "containerd/filters/filters.h"
#include "containerd/metadata/adaptors.h"
#include "containerd/metadata/codec.h"
#include "containerd/metadata/gc.h"
#include "containerd/metadata/records.h"
#include "containerd/metadata/rows.h"
#include "containerd/metadata/validate.h"

namespace liman::containerd::metadata {
namespace {

struct SnapshotRow {
  std::string key;
  std::string backend_key;
  std::string parent;
  Labels labels;
  absl::Time created_at;
  absl::Time updated_at;
};

constexpr char kSelectSnapshot[] =
    "SELECT key, backend_key, parent, labels, created_at, updated_at FROM snapshots "
    "WHERE namespace = ?1 AND snapshotter = ?2";

absl::StatusOr<SnapshotRow> RowFromStatement(const sqlite::Statement& stmt) {
  SnapshotRow row{.key = stmt.Text(0), .backend_key = stmt.Text(1), .parent = stmt.Text(2)};
  LIMAN_ASSIGN_OR_RETURN(row.labels, LabelsColumn(stmt, 3));
  row.created_at = DecodeTime(stmt.Int(4));
  row.updated_at = DecodeTime(stmt.Int(5));
  return row;
}

absl::StatusOr<std::optional<SnapshotRow>> ReadRow(sqlite::Connection& db, std::string_view ns,
                                                   std::string_view snapshotter, std::string_view key) {
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare(fmt::format("{} AND key = ?3", kSelectSnapshot)));
  LIMAN_ASSIGN_OR_RETURN(bool found, stmt.Bind(ns, snapshotter, key).Step());
  if (!found) return std::nullopt;
  return RowFromStatement(stmt);
}

absl::Status InsertRow(sqlite::Connection& db, std::string_view ns, std::string_view snapshotter,
                       const SnapshotRow& row) {
  std::optional<std::string_view> parent;
  if (!row.parent.empty()) parent = row.parent;
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                         db.Prepare("INSERT INTO snapshots(namespace, snapshotter, key, backend_key, parent, labels, "
                                    "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  return stmt
      .Bind(ns, snapshotter, row.key, row.backend_key, parent, EncodeLabels(row.labels), EncodeTime(row.created_at),
            EncodeTime(row.updated_at))
      .Run();
}

absl::Status DeleteRow(sqlite::Connection& db, std::string_view ns, std::string_view snapshotter,
                       std::string_view key) {
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                         db.Prepare("DELETE FROM snapshots WHERE namespace = ?1 AND snapshotter = ?2 AND key = ?3"));
  return stmt.Bind(ns, snapshotter, key).Run();
}

absl::Status SnapshotNotFound(std::string_view key) {
  return absl::NotFoundError(fmt::format("snapshot {} does not exist", Quote(key)));
}

absl::Status SnapshotExists(std::string_view key) {
  return absl::AlreadyExistsError(fmt::format("snapshot {}: already exists", Quote(key)));
}

// The labels the backend gets too (containerd's snapshots.FilterInheritedLabels).
Labels InheritedLabels(const Labels& labels) {
  Labels inherited;
  constexpr std::string_view kPrefix = labels::kSnapshotInheritedPrefix;
  for (const auto& [key, value] : labels) {
    if (std::string_view(key).substr(0, kPrefix.size()) == kPrefix) inherited.emplace(key, value);
  }
  return inherited;
}

// The backend's view of a snapshot (kind) under the namespace's name, parent, times and labels.
SnapshotInfo Overlay(SnapshotInfo backend, const SnapshotRow& row) {
  backend.name = row.key;
  backend.parent = row.parent;
  backend.created_at = row.created_at;
  backend.updated_at = row.updated_at;
  for (const auto& [key, value] : row.labels) backend.labels[key] = value;
  return backend;
}

}  // namespace

absl::StatusOr<std::string> NamespacedSnapshotter::BackendKeyOf(std::string_view key) {
  std::optional<SnapshotRow> row;
  LIMAN_RETURN_IF_ERROR(state_.pool->Read([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(row, ReadRow(db, ns_, backend_.name, key));
    return absl::OkStatus();
  }));
  if (!row) return SnapshotNotFound(key);
  return row->backend_key;
}

absl::StatusOr<SnapshotInfo> NamespacedSnapshotter::Stat(std::string_view key) {
  std::optional<SnapshotRow> row;
  LIMAN_RETURN_IF_ERROR(state_.pool->Read([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(row, ReadRow(db, ns_, backend_.name, key));
    return absl::OkStatus();
  }));
  if (!row) return SnapshotNotFound(key);
  LIMAN_ASSIGN_OR_RETURN(SnapshotInfo info, backend_.snapshotter->Stat(row->backend_key));
  return Overlay(std::move(info), *row);
}

absl::StatusOr<SnapshotInfo> NamespacedSnapshotter::Update(const SnapshotInfo& info, const FieldPaths& paths) {
  if (info.name.empty()) return absl::InvalidArgumentError("snapshot name is required for update");
  std::shared_lock backend_lock(backend_.lock);
  SnapshotRow row;
  SnapshotInfo backend_info;
  LIMAN_RETURN_IF_ERROR(state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(std::optional<SnapshotRow> current, ReadRow(db, ns_, backend_.name, info.name));
    if (!current) return SnapshotNotFound(info.name);
    row = *std::move(current);
    if (paths.empty()) row.labels = info.labels;
    for (const std::string& path : paths) {
      if (!ApplyMapFieldPath(path, "labels", row.labels, info.labels)) {
        return absl::InvalidArgumentError(
            fmt::format("cannot update {} field on snapshot {}", Quote(path), Quote(info.name)));
      }
    }
    LIMAN_RETURN_IF_ERROR(ValidateLabels(row.labels, "info.Labels"));
    DropEmptyValues(row.labels);
    row.updated_at = state_.clock();
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                           db.Prepare("UPDATE snapshots SET labels = ?4, updated_at = ?5 "
                                      "WHERE namespace = ?1 AND snapshotter = ?2 AND key = ?3"));
    LIMAN_RETURN_IF_ERROR(
        stmt.Bind(ns_, backend_.name, row.key, EncodeLabels(row.labels), EncodeTime(row.updated_at)).Run());
    // Inside the transaction, as containerd does, so that a failing backend leaves the row as
    // it was; the backend only ever holds the inherited labels.
    SnapshotInfo inner{.name = row.backend_key, .labels = InheritedLabels(row.labels)};
    LIMAN_ASSIGN_OR_RETURN(backend_info, backend_.snapshotter->Update(inner, paths));
    return absl::OkStatus();
  }));
  return Overlay(std::move(backend_info), row);
}

absl::StatusOr<SnapshotUsage> NamespacedSnapshotter::Usage(std::string_view key) {
  LIMAN_ASSIGN_OR_RETURN(std::string backend_key, BackendKeyOf(key));
  return backend_.snapshotter->Usage(backend_key);
}

absl::StatusOr<std::vector<MountDescriptor>> NamespacedSnapshotter::Mounts(std::string_view key) {
  LIMAN_ASSIGN_OR_RETURN(std::string backend_key, BackendKeyOf(key));
  return backend_.snapshotter->Mounts(backend_key);
}

absl::StatusOr<std::vector<MountDescriptor>> NamespacedSnapshotter::Prepare(std::string_view key,
                                                                            std::string_view parent,
                                                                            const Labels& labels) {
  return CreateSnapshot(SnapshotKind::kActive, key, parent, labels);
}

absl::StatusOr<std::vector<MountDescriptor>> NamespacedSnapshotter::View(std::string_view key, std::string_view parent,
                                                                         const Labels& labels) {
  return CreateSnapshot(SnapshotKind::kView, key, parent, labels);
}

absl::StatusOr<std::vector<MountDescriptor>> NamespacedSnapshotter::CreateSnapshot(SnapshotKind kind,
                                                                                   std::string_view key,
                                                                                   std::string_view parent,
                                                                                   const Labels& labels) {
  LIMAN_RETURN_IF_ERROR(ValidateLabels(labels, "info.Labels"));
  Labels stored = labels;
  DropEmptyValues(stored);
  std::string target;
  if (auto it = stored.find(labels::kSnapshotRef); it != stored.end()) target = it->second;
  // Shared until the row naming the new backend snapshot is written.
  std::shared_lock backend_lock(backend_.lock);

  // 1. Check names and reserve the backend key.
  std::string backend_parent;
  std::string backend_key;
  LIMAN_RETURN_IF_ERROR(state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    if (!target.empty()) {
      LIMAN_ASSIGN_OR_RETURN(std::optional<SnapshotRow> existing, ReadRow(db, ns_, backend_.name, target));
      if (existing) return absl::AlreadyExistsError(fmt::format("target snapshot {}: already exists", Quote(target)));
    }
    LIMAN_ASSIGN_OR_RETURN(std::optional<SnapshotRow> existing, ReadRow(db, ns_, backend_.name, key));
    if (existing) return SnapshotExists(key);
    if (!parent.empty()) {
      LIMAN_ASSIGN_OR_RETURN(std::optional<SnapshotRow> parent_row, ReadRow(db, ns_, backend_.name, parent));
      if (!parent_row) return absl::NotFoundError(fmt::format("parent snapshot {} does not exist", Quote(parent)));
      backend_parent = parent_row->backend_key;
    }
    LIMAN_ASSIGN_OR_RETURN(int64_t sequence, NextSequence(db, kBackendSequence));
    backend_key = BackendKey(ns_, sequence, key);
    return absl::OkStatus();
  }));

  // 2. Create it in the backend, outside any transaction (it makes directories).
  Labels inherited = InheritedLabels(stored);
  absl::StatusOr<std::vector<MountDescriptor>> mounts =
      kind == SnapshotKind::kView ? backend_.snapshotter->View(backend_key, backend_parent, inherited)
                                  : backend_.snapshotter->Prepare(backend_key, backend_parent, inherited);
  if (absl::IsAlreadyExists(mounts.status())) {
    // The key is fresh: only a snapshotter resolving targets itself (a remote one) says this.
    return absl::UnknownError(fmt::format("unexpected error from snapshotter: {}", mounts.status()));
  }
  if (!mounts.ok()) return mounts.status();

  // 3. Record it.
  absl::Time now = state_.clock();
  SnapshotRow row{.key = std::string(key),
                  .backend_key = backend_key,
                  .parent = std::string(parent),
                  .labels = std::move(stored),
                  .created_at = now,
                  .updated_at = now};
  absl::Status recorded = state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_RETURN_IF_ERROR(EnsureNamespace(db, ns_));
    LIMAN_RETURN_IF_ERROR(AddLeaseResource(db, ns_, lease_, SnapshotResourceType(backend_.name), key));
    if (!parent.empty()) {
      // The parent may have been removed meanwhile.
      LIMAN_ASSIGN_OR_RETURN(std::optional<SnapshotRow> parent_row, ReadRow(db, ns_, backend_.name, parent));
      if (!parent_row) return absl::NotFoundError(fmt::format("parent snapshot {} does not exist", Quote(parent)));
      if (parent_row->backend_key != backend_parent)
        return absl::InvalidArgumentError(fmt::format("mismatched parent {} from target {}", parent, target));
    }
    absl::Status status = InsertRow(db, ns_, backend_.name, row);
    if (absl::IsAlreadyExists(status)) return SnapshotExists(key);
    return status;
  });
  if (!recorded.ok()) {
    if (absl::Status undo = backend_.snapshotter->Remove(backend_key); !undo.ok())
      LogWarn("snapshotter {}: remove unrecorded snapshot {}: {}", backend_.name, Quote(backend_key), undo);
    return recorded;
  }
  return mounts;
}

absl::Status NamespacedSnapshotter::Commit(std::string_view name, std::string_view key, const Labels& labels) {
  LIMAN_RETURN_IF_ERROR(ValidateLabels(labels, "info.Labels"));
  Labels stored = labels;
  DropEmptyValues(stored);
  std::shared_lock backend_lock(backend_.lock);
  return state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(std::optional<SnapshotRow> existing, ReadRow(db, ns_, backend_.name, name));
    if (existing) return SnapshotExists(name);
    LIMAN_ASSIGN_OR_RETURN(std::optional<SnapshotRow> active, ReadRow(db, ns_, backend_.name, key));
    if (!active) return SnapshotNotFound(key);
    LIMAN_ASSIGN_OR_RETURN(int64_t sequence, NextSequence(db, kBackendSequence));
    absl::Time now = state_.clock();
    SnapshotRow committed{.key = std::string(name),
                          .backend_key = BackendKey(ns_, sequence, name),
                          .parent = active->parent,
                          .labels = std::move(stored),
                          .created_at = now,
                          .updated_at = now};
    LIMAN_RETURN_IF_ERROR(DeleteRow(db, ns_, backend_.name, key));
    LIMAN_RETURN_IF_ERROR(InsertRow(db, ns_, backend_.name, committed));
    std::string type = SnapshotResourceType(backend_.name);
    LIMAN_RETURN_IF_ERROR(RemoveLeaseResource(db, ns_, lease_, type, key));
    LIMAN_RETURN_IF_ERROR(AddLeaseResource(db, ns_, lease_, type, name));
    // Last, inside the transaction (as containerd does): if the backend refuses, nothing
    // changed; the backend commit is quick (a rename and a row).
    return backend_.snapshotter->Commit(committed.backend_key, active->backend_key, InheritedLabels(committed.labels));
  });
}

absl::Status NamespacedSnapshotter::Remove(std::string_view key) {
  LIMAN_RETURN_IF_ERROR(state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(std::optional<SnapshotRow> row, ReadRow(db, ns_, backend_.name, key));
    if (!row) return SnapshotNotFound(key);
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement children,
                           db.Prepare("SELECT 1 FROM snapshots WHERE namespace = ?1 AND snapshotter = ?2 "
                                      "AND parent = ?3 LIMIT 1"));
    LIMAN_ASSIGN_OR_RETURN(bool has_child, children.Bind(ns_, backend_.name, key).Step());
    if (has_child)
      return absl::FailedPreconditionError(fmt::format("cannot remove snapshot {} with child", Quote(key)));
    LIMAN_RETURN_IF_ERROR(DeleteRow(db, ns_, backend_.name, key));
    return RemoveLeaseResource(db, ns_, lease_, SnapshotResourceType(backend_.name), key);
  }));
  state_.deletions++;
  return absl::OkStatus();
}

absl::Status NamespacedSnapshotter::Walk(const std::vector<std::string>& filters,
                                         const std::function<absl::Status(const SnapshotInfo&)>& fn) {
  LIMAN_ASSIGN_OR_RETURN(filters::Filter filter, filters::Parse(filters));
  std::vector<SnapshotRow> rows;
  LIMAN_RETURN_IF_ERROR(state_.pool->Read([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare(fmt::format("{} ORDER BY key", kSelectSnapshot)));
    stmt.Bind(ns_, backend_.name);
    while (true) {
      LIMAN_ASSIGN_OR_RETURN(bool found, stmt.Step());
      if (!found) return absl::OkStatus();
      LIMAN_ASSIGN_OR_RETURN(SnapshotRow row, RowFromStatement(stmt));
      rows.push_back(std::move(row));
    }
  }));
  for (const SnapshotRow& row : rows) {
    absl::StatusOr<SnapshotInfo> backend_info = backend_.snapshotter->Stat(row.backend_key);
    if (absl::IsNotFound(backend_info.status())) continue;  // removed meanwhile
    if (!backend_info.ok()) return backend_info.status();
    SnapshotInfo info = Overlay(*std::move(backend_info), row);
    if (filter.Match(AdaptSnapshotInfo(info))) LIMAN_RETURN_IF_ERROR(fn(info));
  }
  return absl::OkStatus();
}

absl::Status NamespacedSnapshotter::Cleanup() { return CollectSnapshotterBackend(state_, backend_).status(); }

absl::StatusOr<std::string> NamespacedStagingSnapshotter::NewStagingDir() { return backend_.staging->NewStagingDir(); }

absl::Status NamespacedStagingSnapshotter::AdoptStagingDir(std::string_view key, const std::string& staging_dir) {
  LIMAN_ASSIGN_OR_RETURN(std::string backend_key, BackendKeyOf(key));
  return backend_.staging->AdoptStagingDir(backend_key, staging_dir);
}

}  // namespace liman::containerd::metadata
