#include "containerd/metadata/namespace_store.h"

#include "absl/strings/str_join.h"
#include "common/fmt_absl.h"
#include "common/status.h"
#include "containerd/metadata/codec.h"
#include "containerd/metadata/rows.h"
#include "containerd/metadata/validate.h"

namespace liman::containerd::metadata {
namespace {

absl::Status NamespaceNotFound(std::string_view name) {
  return absl::NotFoundError(fmt::format("namespace {}: not found", Quote(name)));
}

absl::StatusOr<std::optional<Namespace>> ReadNamespace(sqlite::Connection& db, std::string_view name) {
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare("SELECT labels FROM namespaces WHERE name = ?1"));
  LIMAN_ASSIGN_OR_RETURN(bool row, stmt.Bind(name).Step());
  if (!row) return std::nullopt;
  Namespace ns{.name = std::string(name)};
  LIMAN_ASSIGN_OR_RETURN(ns.labels, LabelsColumn(stmt, 0));
  return ns;
}

absl::Status WriteLabels(sqlite::Connection& db, std::string_view name, const Labels& labels) {
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare("UPDATE namespaces SET labels = ?2 WHERE name = ?1"));
  return stmt.Bind(name, EncodeLabels(labels)).Run();
}

// What still lives in the namespace, in containerd's words ("images", "blobs", …).
absl::StatusOr<std::vector<std::string>> Remaining(sqlite::Connection& db, std::string_view name) {
  std::vector<std::string> kinds;
  static constexpr std::pair<const char*, const char*> kTables[] = {
      {"images", "images"}, {"content", "blobs"}, {"containers", "containers"}, {"leases", "leases"}};
  for (const auto& [table, kind] : kTables) {
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                           db.Prepare(fmt::format("SELECT 1 FROM {} WHERE namespace = ?1 LIMIT 1", table)));
    LIMAN_ASSIGN_OR_RETURN(bool row, stmt.Bind(name).Step());
    if (row) kinds.push_back(kind);
  }
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                         db.Prepare("SELECT DISTINCT snapshotter FROM snapshots WHERE namespace = ?1 ORDER BY 1"));
  stmt.Bind(name);
  while (true) {
    LIMAN_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    kinds.push_back(fmt::format("snapshots on {} snapshotter", Quote(stmt.Text(0))));
  }
  return kinds;
}

}  // namespace

absl::StatusOr<Namespace> NamespaceStore::Create(const Namespace& ns) {
  LIMAN_RETURN_IF_ERROR(ValidateIdentifier(ns.name));
  LIMAN_RETURN_IF_ERROR(ValidateLabels(ns.labels, "namespace.Labels"));
  Namespace created = ns;
  DropEmptyValues(created.labels);
  LIMAN_RETURN_IF_ERROR(state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare("INSERT INTO namespaces(name, labels) VALUES (?1, ?2)"));
    absl::Status status = stmt.Bind(created.name, EncodeLabels(created.labels)).Run();
    if (absl::IsAlreadyExists(status))
      return absl::AlreadyExistsError(fmt::format("namespace {}: already exists", Quote(created.name)));
    return status;
  }));
  return created;
}

absl::StatusOr<Namespace> NamespaceStore::Get(std::string_view name) {
  std::optional<Namespace> ns;
  LIMAN_RETURN_IF_ERROR(state_.pool->Read([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(ns, ReadNamespace(db, name));
    return absl::OkStatus();
  }));
  if (!ns) return NamespaceNotFound(name);
  return *std::move(ns);
}

absl::StatusOr<std::vector<Namespace>> NamespaceStore::List() {
  std::vector<Namespace> namespaces;
  LIMAN_RETURN_IF_ERROR(state_.pool->Read([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare("SELECT name, labels FROM namespaces ORDER BY name"));
    while (true) {
      LIMAN_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return absl::OkStatus();
      Namespace ns{.name = stmt.Text(0)};
      LIMAN_ASSIGN_OR_RETURN(ns.labels, LabelsColumn(stmt, 1));
      namespaces.push_back(std::move(ns));
    }
  }));
  return namespaces;
}

absl::StatusOr<Namespace> NamespaceStore::Update(const Namespace& ns, const FieldPaths& paths) {
  LIMAN_RETURN_IF_ERROR(ValidateLabels(ns.labels, "namespace.Labels"));
  Namespace updated;
  LIMAN_RETURN_IF_ERROR(state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(std::optional<Namespace> current, ReadNamespace(db, ns.name));
    if (!current) return NamespaceNotFound(ns.name);
    updated = *std::move(current);
    if (paths.empty()) updated.labels = ns.labels;
    for (const std::string& path : paths) {
      if (!ApplyMapFieldPath(path, "labels", updated.labels, ns.labels))
        return absl::InvalidArgumentError(
            fmt::format("cannot update {} field on namespace {}", Quote(path), Quote(ns.name)));
    }
    DropEmptyValues(updated.labels);
    return WriteLabels(db, ns.name, updated.labels);
  }));
  return updated;
}

absl::Status NamespaceStore::Delete(std::string_view name) {
  return state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> remaining, Remaining(db, name));
    if (!remaining.empty()) {
      return absl::FailedPreconditionError(
          fmt::format("namespace {} must be empty, but it still has {}", Quote(name), absl::StrJoin(remaining, ", ")));
    }
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare("DELETE FROM namespaces WHERE name = ?1"));
    LIMAN_RETURN_IF_ERROR(stmt.Bind(name).Run());
    if (db.Changes() == 0) return NamespaceNotFound(name);
    state_.deletions++;  // its ingests went with it
    return absl::OkStatus();
  });
}

}  // namespace liman::containerd::metadata
