#include "containerd/metadata/container_store.h"

#include "common/fmt_absl.h"
#include "common/status.h"
#include "containerd/filters/filters.h"
#include "containerd/metadata/adaptors.h"
#include "containerd/metadata/codec.h"
#include "containerd/metadata/rows.h"
#include "containerd/metadata/validate.h"

namespace liman::containerd::metadata {
namespace {

constexpr char kSelectContainer[] =
    "SELECT id, labels, image, runtime_name, runtime_options_type_url, runtime_options_value, spec_type_url, "
    "spec_value, snapshotter, snapshot_key, sandbox_id, created_at, updated_at FROM containers WHERE namespace = ?1";

std::optional<Any> AnyFromColumns(const sqlite::Statement& stmt, int type_url_column, int value_column) {
  if (stmt.IsNull(type_url_column)) return std::nullopt;
  return Any{.type_url = stmt.Text(type_url_column), .value = stmt.BlobAt(value_column)};
}

absl::Status ReadExtensions(sqlite::Connection& db, std::string_view ns, Container& container) {
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare("SELECT name, type_url, value FROM container_extensions "
                                                            "WHERE namespace = ?1 AND container_id = ?2"));
  stmt.Bind(ns, container.id);
  while (true) {
    LIMAN_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return absl::OkStatus();
    container.extensions.emplace(stmt.Text(0), Any{.type_url = stmt.Text(1), .value = stmt.BlobAt(2)});
  }
}

absl::StatusOr<Container> ContainerFromRow(sqlite::Connection& db, std::string_view ns, const sqlite::Statement& stmt) {
  Container container{.id = stmt.Text(0)};
  LIMAN_ASSIGN_OR_RETURN(container.labels, LabelsColumn(stmt, 1));
  container.image = stmt.Text(2);
  container.runtime.name = stmt.Text(3);
  container.runtime.options = AnyFromColumns(stmt, 4, 5);
  container.spec = AnyFromColumns(stmt, 6, 7);
  container.snapshotter = stmt.Text(8);
  container.snapshot_key = stmt.Text(9);
  container.sandbox_id = stmt.Text(10);
  container.created_at = DecodeTime(stmt.Int(11));
  container.updated_at = DecodeTime(stmt.Int(12));
  LIMAN_RETURN_IF_ERROR(ReadExtensions(db, ns, container));
  return container;
}

absl::StatusOr<std::optional<Container>> ReadContainer(sqlite::Connection& db, std::string_view ns,
                                                       std::string_view id) {
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare(fmt::format("{} AND id = ?2", kSelectContainer)));
  LIMAN_ASSIGN_OR_RETURN(bool row, stmt.Bind(ns, id).Step());
  if (!row) return std::nullopt;
  return ContainerFromRow(db, ns, stmt);
}

absl::Status WriteContainer(sqlite::Connection& db, std::string_view ns, const Container& c, bool create) {
  constexpr char kInsert[] =
      "INSERT INTO containers(namespace, id, labels, image, runtime_name, runtime_options_type_url, "
      "runtime_options_value, spec_type_url, spec_value, snapshotter, snapshot_key, sandbox_id, created_at, "
      "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
  constexpr char kUpdate[] =
      "UPDATE containers SET labels = ?3, image = ?4, runtime_name = ?5, runtime_options_type_url = ?6, "
      "runtime_options_value = ?7, spec_type_url = ?8, spec_value = ?9, snapshotter = ?10, snapshot_key = ?11, "
      "sandbox_id = ?12, created_at = ?13, updated_at = ?14 WHERE namespace = ?1 AND id = ?2";
  auto type_url = [](const std::optional<Any>& any) -> std::optional<std::string_view> {
    if (!any) return std::nullopt;
    return std::string_view(any->type_url);
  };
  auto value = [](const std::optional<Any>& any) -> std::optional<sqlite::Blob> {
    if (!any) return std::nullopt;
    return sqlite::Blob{any->value};
  };
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare(create ? kInsert : kUpdate));
  absl::Status status =
      stmt.Bind(ns, c.id, EncodeLabels(c.labels), c.image, c.runtime.name, type_url(c.runtime.options),
                value(c.runtime.options), type_url(c.spec), value(c.spec), c.snapshotter, c.snapshot_key, c.sandbox_id,
                EncodeTime(c.created_at), EncodeTime(c.updated_at))
          .Run();
  if (absl::IsAlreadyExists(status))
    return absl::AlreadyExistsError(fmt::format("container {}: already exists", Quote(c.id)));
  LIMAN_RETURN_IF_ERROR(status);

  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement clear,
                         db.Prepare("DELETE FROM container_extensions WHERE namespace = ?1 AND container_id = ?2"));
  LIMAN_RETURN_IF_ERROR(clear.Bind(ns, c.id).Run());
  for (const auto& [name, any] : c.extensions) {
    LIMAN_ASSIGN_OR_RETURN(
        sqlite::Statement insert,
        db.Prepare("INSERT INTO container_extensions(namespace, container_id, name, type_url, value) "
                   "VALUES (?1, ?2, ?3, ?4, ?5)"));
    LIMAN_RETURN_IF_ERROR(insert.Bind(ns, c.id, name, any.type_url, sqlite::Blob{any.value}).Run());
  }
  return absl::OkStatus();
}

absl::Status ValidateContainer(const Container& container) {
  if (absl::Status status = ValidateIdentifier(container.id); !status.ok()) return Annotate(status, "container.ID");
  for (const auto& [name, any] : container.extensions) {
    if (name.empty()) return absl::InvalidArgumentError("container.Extension keys must not be zero-length");
  }
  LIMAN_RETURN_IF_ERROR(ValidateLabels(container.labels, "containers.Labels"));
  if (container.runtime.name.empty()) return absl::InvalidArgumentError("container.Runtime.Name must be set");
  if (!container.spec) return absl::InvalidArgumentError("container.Spec must be set");
  if (!container.snapshot_key.empty() && container.snapshotter.empty())
    return absl::InvalidArgumentError("container.Snapshotter must be set if container.SnapshotKey is set");
  return absl::OkStatus();
}

absl::Status ContainerNotFound(std::string_view id) {
  return absl::NotFoundError(fmt::format("container {}: not found", Quote(id)));
}

// An extension path: "extensions.<name>" sets (or, when absent from `from`, removes) one.
bool ApplyExtensionPath(std::string_view path, Container& target, const Container& from) {
  constexpr std::string_view kPrefix = "extensions.";
  if (path.substr(0, kPrefix.size()) != kPrefix || path.size() == kPrefix.size()) return false;
  std::string name(path.substr(kPrefix.size()));
  if (auto it = from.extensions.find(name); it != from.extensions.end())
    target.extensions[name] = it->second;
  else
    target.extensions.erase(name);
  return true;
}

}  // namespace

absl::StatusOr<Container> ContainerStore::Get(std::string_view ns, std::string_view id) {
  LIMAN_RETURN_IF_ERROR(ValidateNamespace(ns));
  std::optional<Container> container;
  LIMAN_RETURN_IF_ERROR(state_.pool->Read([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(container, ReadContainer(db, ns, id));
    return absl::OkStatus();
  }));
  if (!container) return ContainerNotFound(id);
  return *std::move(container);
}

absl::StatusOr<std::vector<Container>> ContainerStore::List(std::string_view ns,
                                                            const std::vector<std::string>& filters) {
  LIMAN_RETURN_IF_ERROR(ValidateNamespace(ns));
  LIMAN_ASSIGN_OR_RETURN(filters::Filter filter, filters::Parse(filters));
  std::vector<Container> containers;
  LIMAN_RETURN_IF_ERROR(state_.pool->Read([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare(fmt::format("{} ORDER BY id", kSelectContainer)));
    stmt.Bind(ns);
    while (true) {
      LIMAN_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return absl::OkStatus();
      LIMAN_ASSIGN_OR_RETURN(Container container, ContainerFromRow(db, ns, stmt));
      if (filter.Match(AdaptContainer(container))) containers.push_back(std::move(container));
    }
  }));
  return containers;
}

absl::StatusOr<Container> ContainerStore::Create(std::string_view ns, Container container) {
  LIMAN_RETURN_IF_ERROR(ValidateNamespace(ns));
  if (absl::Status status = ValidateContainer(container); !status.ok())
    return Annotate(status, "create container failed validation");
  DropEmptyValues(container.labels);
  container.created_at = container.updated_at = state_.clock();
  LIMAN_RETURN_IF_ERROR(state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_RETURN_IF_ERROR(EnsureNamespace(db, ns));
    return WriteContainer(db, ns, container, /*create=*/true);
  }));
  return container;
}

absl::StatusOr<Container> ContainerStore::Update(std::string_view ns, const Container& container,
                                                 const FieldPaths& paths) {
  LIMAN_RETURN_IF_ERROR(ValidateNamespace(ns));
  if (container.id.empty()) return absl::InvalidArgumentError("must specify a container id");
  Container updated;
  LIMAN_RETURN_IF_ERROR(state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(std::optional<Container> current, ReadContainer(db, ns, container.id));
    if (!current) return ContainerNotFound(container.id);
    updated = *std::move(current);

    FieldPaths effective = paths;
    if (effective.empty()) {
      // A full replace updates only the mutable fields; an immutable one that differs is an
      // error rather than silently kept, so that it can become mutable later.
      effective = {"labels", "spec", "extensions", "image", "snapshotkey"};
      if (updated.snapshotter != container.snapshotter)
        return absl::InvalidArgumentError("container.Snapshotter field is immutable");
      if (updated.runtime.name != container.runtime.name)
        return absl::InvalidArgumentError("container.Runtime.Name field is immutable");
      if (updated.sandbox_id != container.sandbox_id)
        return absl::InvalidArgumentError("container.SandboxID field is immutable");
    }
    for (const std::string& path : effective) {
      if (ApplyMapFieldPath(path, "labels", updated.labels, container.labels)) continue;
      if (ApplyExtensionPath(path, updated, container)) continue;
      if (path == "spec")
        updated.spec = container.spec;
      else if (path == "extensions")
        updated.extensions = container.extensions;
      else if (path == "image")
        updated.image = container.image;
      else if (path == "snapshotkey")
        updated.snapshot_key = container.snapshot_key;
      else
        return absl::InvalidArgumentError(
            fmt::format("cannot update {} field on {}", Quote(path), Quote(container.id)));
    }
    if (absl::Status status = ValidateContainer(updated); !status.ok())
      return Annotate(status, "update failed validation");
    DropEmptyValues(updated.labels);
    updated.updated_at = state_.clock();
    return WriteContainer(db, ns, updated, /*create=*/false);
  }));
  return updated;
}

absl::Status ContainerStore::Delete(std::string_view ns, std::string_view id) {
  LIMAN_RETURN_IF_ERROR(ValidateNamespace(ns));
  LIMAN_RETURN_IF_ERROR(state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                           db.Prepare("DELETE FROM containers WHERE namespace = ?1 AND id = ?2"));
    LIMAN_RETURN_IF_ERROR(stmt.Bind(ns, id).Run());
    if (db.Changes() == 0) return ContainerNotFound(id);
    return absl::OkStatus();
  }));
  state_.deletions++;
  return absl::OkStatus();
}

}  // namespace liman::containerd::metadata
