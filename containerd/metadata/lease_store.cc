#include "containerd/metadata/lease_store.h"

#include "common/fmt_absl.h"
#include "common/status.h"
#include "containerd/filters/filters.h"
#include "containerd/metadata/adaptors.h"
#include "containerd/metadata/codec.h"
#include "containerd/metadata/rows.h"
#include "containerd/metadata/validate.h"

namespace liman::containerd::metadata {
namespace {

absl::Status LeaseNotFound(std::string_view id) {
  return absl::NotFoundError(fmt::format("lease {}: not found", Quote(id)));
}

absl::StatusOr<bool> LeaseExists(sqlite::Connection& db, std::string_view ns, std::string_view id) {
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare("SELECT 1 FROM leases WHERE namespace = ?1 AND id = ?2"));
  return stmt.Bind(ns, id).Step();
}

// containerd's parseLeaseResource: "content" (the id must be a digest), "ingests", or
// "snapshots/<snapshotter>".
absl::Status ValidateResource(const LeaseResource& resource) {
  const std::string& type = resource.type;
  if (type == kResourceContent) {
    if (absl::Status status = ValidateDigest(resource.id); !status.ok())
      return absl::InvalidArgumentError(fmt::format("invalid content resource id {}: {}", resource.id, status));
    return absl::OkStatus();
  }
  if (type == kResourceIngests) return absl::OkStatus();
  std::string_view view(type);
  std::string_view head = view.substr(0, view.find('/'));
  if (head == kResourceContent || head == kResourceIngests)
    return absl::InvalidArgumentError(fmt::format("invalid resource type {}", type));
  if (head == "snapshots") {
    size_t slash = view.find('/');
    if (slash == std::string_view::npos || slash + 1 == view.size() ||
        view.find('/', slash + 1) != std::string_view::npos)
      return absl::InvalidArgumentError(fmt::format("invalid snapshot resource type {}", type));
    return absl::OkStatus();
  }
  return absl::UnimplementedError(fmt::format("resource type {} not supported yet", type));
}

}  // namespace

absl::StatusOr<Lease> LeaseStore::Create(std::string_view ns, Lease lease) {
  LIMAN_RETURN_IF_ERROR(ValidateNamespace(ns));
  if (lease.id.empty()) return absl::InvalidArgumentError("lease id must be provided");
  LIMAN_RETURN_IF_ERROR(ValidateLabels(lease.labels, "lease.Labels"));
  DropEmptyValues(lease.labels);
  lease.created_at = state_.clock();
  LIMAN_RETURN_IF_ERROR(state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_RETURN_IF_ERROR(EnsureNamespace(db, ns));
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                           db.Prepare("INSERT INTO leases(namespace, id, labels, created_at) VALUES (?1, ?2, ?3, ?4)"));
    absl::Status status = stmt.Bind(ns, lease.id, EncodeLabels(lease.labels), EncodeTime(lease.created_at)).Run();
    if (absl::IsAlreadyExists(status))
      return absl::AlreadyExistsError(fmt::format("lease {}: already exists", Quote(lease.id)));
    return status;
  }));
  return lease;
}

absl::Status LeaseStore::Delete(std::string_view ns, std::string_view id, bool sync) {
  LIMAN_RETURN_IF_ERROR(ValidateNamespace(ns));
  LIMAN_RETURN_IF_ERROR(state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare("DELETE FROM leases WHERE namespace = ?1 AND id = ?2"));
    LIMAN_RETURN_IF_ERROR(stmt.Bind(ns, id).Run());
    if (db.Changes() == 0) return LeaseNotFound(id);
    return absl::OkStatus();
  }));
  state_.deletions++;
  if (sync) return state_.collect_garbage();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Lease>> LeaseStore::List(std::string_view ns, const std::vector<std::string>& filters) {
  LIMAN_RETURN_IF_ERROR(ValidateNamespace(ns));
  LIMAN_ASSIGN_OR_RETURN(filters::Filter filter, filters::Parse(filters));
  std::vector<Lease> leases;
  LIMAN_RETURN_IF_ERROR(state_.pool->Read([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                           db.Prepare("SELECT id, labels, created_at FROM leases WHERE namespace = ?1 ORDER BY id"));
    stmt.Bind(ns);
    while (true) {
      LIMAN_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return absl::OkStatus();
      Lease lease{.id = stmt.Text(0), .created_at = DecodeTime(stmt.Int(2))};
      LIMAN_ASSIGN_OR_RETURN(lease.labels, LabelsColumn(stmt, 1));
      if (filter.Match(AdaptLease(lease))) leases.push_back(std::move(lease));
    }
  }));
  return leases;
}

absl::Status LeaseStore::AddResource(std::string_view ns, std::string_view lease, const LeaseResource& resource) {
  LIMAN_RETURN_IF_ERROR(ValidateNamespace(ns));
  LIMAN_RETURN_IF_ERROR(ValidateResource(resource));
  return state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(bool exists, LeaseExists(db, ns, lease));
    if (!exists) return LeaseNotFound(lease);
    return AddLeaseResource(db, ns, lease, resource.type, resource.id);
  });
}

absl::Status LeaseStore::DeleteResource(std::string_view ns, std::string_view lease, const LeaseResource& resource) {
  LIMAN_RETURN_IF_ERROR(ValidateNamespace(ns));
  LIMAN_RETURN_IF_ERROR(ValidateResource(resource));
  LIMAN_RETURN_IF_ERROR(state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(bool exists, LeaseExists(db, ns, lease));
    if (!exists) return LeaseNotFound(lease);
    return RemoveLeaseResource(db, ns, lease, resource.type, resource.id);
  }));
  state_.deletions++;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LeaseResource>> LeaseStore::ListResources(std::string_view ns, std::string_view lease) {
  LIMAN_RETURN_IF_ERROR(ValidateNamespace(ns));
  std::vector<LeaseResource> resources;
  LIMAN_RETURN_IF_ERROR(state_.pool->Read([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(bool exists, LeaseExists(db, ns, lease));
    if (!exists) return LeaseNotFound(lease);
    LIMAN_ASSIGN_OR_RETURN(
        sqlite::Statement stmt,
        db.Prepare("SELECT id, type FROM lease_resources WHERE namespace = ?1 AND lease_id = ?2 "
                   "ORDER BY CASE type WHEN 'content' THEN 0 WHEN 'ingests' THEN 1 ELSE 2 END, type, id"));
    stmt.Bind(ns, lease);
    while (true) {
      LIMAN_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return absl::OkStatus();
      resources.push_back(LeaseResource{.id = stmt.Text(0), .type = stmt.Text(1)});
    }
  }));
  return resources;
}

}  // namespace liman::containerd::metadata
