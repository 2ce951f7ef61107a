#include "containerd/metadata/rows.h"

#include "common/fmt_absl.h"
#include "common/status.h"
#include "containerd/metadata/codec.h"

namespace liman::containerd::metadata {

absl::Status EnsureNamespace(sqlite::Connection& db, std::string_view ns) {
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare("INSERT OR IGNORE INTO namespaces(name) VALUES (?1)"));
  return stmt.Bind(ns).Run();
}

absl::StatusOr<int64_t> NextSequence(sqlite::Connection& db, std::string_view name) {
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                         db.Prepare("INSERT INTO sequences(name, value) VALUES (?1, 1) "
                                    "ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value"));
  LIMAN_ASSIGN_OR_RETURN(bool row, stmt.Bind(name).Step());
  if (!row) return absl::InternalError(fmt::format("sequence {}: no value returned", Quote(name)));
  int64_t value = stmt.Int(0);
  LIMAN_RETURN_IF_ERROR(stmt.Run());
  return value;
}

std::string BackendKey(std::string_view ns, int64_t sequence, std::string_view key) {
  return fmt::format("{}/{}/{}", ns, sequence, key);
}

std::string SnapshotResourceType(std::string_view snapshotter) { return fmt::format("snapshots/{}", snapshotter); }

absl::Status AddLeaseResource(sqlite::Connection& db, std::string_view ns, std::string_view lease,
                              std::string_view type, std::string_view id) {
  if (lease.empty()) return absl::OkStatus();
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement exists, db.Prepare("SELECT 1 FROM leases WHERE namespace = ?1 AND id = ?2"));
  LIMAN_ASSIGN_OR_RETURN(bool found, exists.Bind(ns, lease).Step());
  if (!found) return absl::NotFoundError(fmt::format("lease {} does not exist", Quote(lease)));
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement insert,
                         db.Prepare("INSERT OR IGNORE INTO lease_resources(namespace, lease_id, type, id) "
                                    "VALUES (?1, ?2, ?3, ?4)"));
  return insert.Bind(ns, lease, type, id).Run();
}

absl::Status RemoveLeaseResource(sqlite::Connection& db, std::string_view ns, std::string_view lease,
                                 std::string_view type, std::string_view id) {
  if (lease.empty()) return absl::OkStatus();
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                         db.Prepare("DELETE FROM lease_resources WHERE namespace = ?1 AND lease_id = ?2 "
                                    "AND type = ?3 AND id = ?4"));
  return stmt.Bind(ns, lease, type, id).Run();
}

absl::StatusOr<Labels> LabelsColumn(const sqlite::Statement& stmt, int column) {
  return DecodeLabels(stmt.Text(column));
}

void DropEmptyValues(Labels& labels) {
  std::erase_if(labels, [](const auto& entry) { return entry.second.empty(); });
}

bool ApplyMapFieldPath(std::string_view path, std::string_view field, Labels& target, const Labels& from) {
  if (path == field) {
    target = from;
    return true;
  }
  if (path.size() > field.size() && path.substr(0, field.size()) == field && path[field.size()] == '.') {
    std::string key(path.substr(field.size() + 1));
    auto it = from.find(key);
    target[key] = it != from.end() ? it->second : "";
    return true;
  }
  return false;
}

}  // namespace liman::containerd::metadata
