#include "containerd/metadata/image_store.h"

#include "common/fmt_absl.h"
#include "common/status.h"
#include "containerd/filters/filters.h"
#include "containerd/metadata/adaptors.h"
#include "containerd/metadata/codec.h"
#include "containerd/metadata/rows.h"
#include "containerd/metadata/validate.h"

namespace liman::containerd::metadata {
namespace {

constexpr char kSelectImage[] =
    "SELECT name, target_media_type, target_digest, target_size, target_annotations, labels, created_at, updated_at "
    "FROM images WHERE namespace = ?1";

absl::StatusOr<Image> ImageFromRow(const sqlite::Statement& stmt) {
  Image image{.name = stmt.Text(0)};
  image.target.media_type = stmt.Text(1);
  image.target.digest = stmt.Text(2);
  image.target.size = stmt.Int(3);
  LIMAN_ASSIGN_OR_RETURN(image.target.annotations, LabelsColumn(stmt, 4));
  LIMAN_ASSIGN_OR_RETURN(image.labels, LabelsColumn(stmt, 5));
  image.created_at = DecodeTime(stmt.Int(6));
  image.updated_at = DecodeTime(stmt.Int(7));
  return image;
}

absl::StatusOr<std::optional<Image>> ReadImage(sqlite::Connection& db, std::string_view ns, std::string_view name) {
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare(fmt::format("{} AND name = ?2", kSelectImage)));
  LIMAN_ASSIGN_OR_RETURN(bool row, stmt.Bind(ns, name).Step());
  if (!row) return std::nullopt;
  return ImageFromRow(stmt);
}

absl::Status ImageNotFound(std::string_view name) {
  return absl::NotFoundError(fmt::format("image {}: not found", Quote(name)));
}

absl::Status ValidateImage(const Image& image) {
  if (image.name.empty()) return absl::InvalidArgumentError("image name must not be empty");
  LIMAN_RETURN_IF_ERROR(ValidateLabels(image.labels, "image.Labels"));
  if (absl::Status status = ValidateDigest(image.target.digest); !status.ok())
    return absl::InvalidArgumentError(fmt::format("Target.Digest {} invalid: {}", Quote(image.target.digest), status));
  if (image.target.size <= 0) return absl::InvalidArgumentError("Target.Size must be greater than zero");
  if (image.target.media_type.empty()) return absl::InvalidArgumentError("Target.MediaType must be set");
  return absl::OkStatus();
}

void DropEmptyMaps(Image& image) {
  DropEmptyValues(image.labels);
  DropEmptyValues(image.target.annotations);
}

}  // namespace

absl::StatusOr<Image> ImageStore::Get(std::string_view ns, std::string_view name) {
  LIMAN_RETURN_IF_ERROR(ValidateNamespace(ns));
  std::optional<Image> image;
  LIMAN_RETURN_IF_ERROR(state_.pool->Read([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(image, ReadImage(db, ns, name));
    return absl::OkStatus();
  }));
  if (!image) return ImageNotFound(name);
  return *std::move(image);
}

absl::StatusOr<std::vector<Image>> ImageStore::List(std::string_view ns, const std::vector<std::string>& filters) {
  LIMAN_RETURN_IF_ERROR(ValidateNamespace(ns));
  LIMAN_ASSIGN_OR_RETURN(filters::Filter filter, filters::Parse(filters));
  std::vector<Image> images;
  LIMAN_RETURN_IF_ERROR(state_.pool->Read([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare(fmt::format("{} ORDER BY name", kSelectImage)));
    stmt.Bind(ns);
    while (true) {
      LIMAN_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return absl::OkStatus();
      LIMAN_ASSIGN_OR_RETURN(Image image, ImageFromRow(stmt));
      if (filter.Match(AdaptImage(image))) images.push_back(std::move(image));
    }
  }));
  return images;
}

absl::StatusOr<Image> ImageStore::Create(std::string_view ns, Image image) {
  LIMAN_RETURN_IF_ERROR(ValidateNamespace(ns));
  LIMAN_RETURN_IF_ERROR(ValidateImage(image));
  DropEmptyMaps(image);
  image.created_at = image.updated_at = state_.clock();
  LIMAN_RETURN_IF_ERROR(state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_RETURN_IF_ERROR(EnsureNamespace(db, ns));
    LIMAN_ASSIGN_OR_RETURN(
        sqlite::Statement stmt,
        db.Prepare("INSERT INTO images(namespace, name, target_media_type, target_digest, target_size, "
                   "target_annotations, labels, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
    absl::Status status = stmt.Bind(ns, image.name, image.target.media_type, image.target.digest, image.target.size,
                                    EncodeLabels(image.target.annotations), EncodeLabels(image.labels),
                                    EncodeTime(image.created_at), EncodeTime(image.updated_at))
                              .Run();
    if (absl::IsAlreadyExists(status))
      return absl::AlreadyExistsError(fmt::format("image {}: already exists", Quote(image.name)));
    return status;
  }));
  return image;
}

absl::StatusOr<Image> ImageStore::Update(std::string_view ns, const Image& image, const FieldPaths& paths) {
  LIMAN_RETURN_IF_ERROR(ValidateNamespace(ns));
  if (image.name.empty()) return absl::InvalidArgumentError("image name is required for update");
  Image updated;
  LIMAN_RETURN_IF_ERROR(state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(std::optional<Image> current, ReadImage(db, ns, image.name));
    if (!current) return ImageNotFound(image.name);
    updated = *std::move(current);
    absl::Time created_at = updated.created_at;
    if (paths.empty()) updated = image;
    for (const std::string& path : paths) {
      if (ApplyMapFieldPath(path, "labels", updated.labels, image.labels)) continue;
      if (ApplyMapFieldPath(path, "annotations", updated.target.annotations, image.target.annotations)) continue;
      // The target is replaced as a unit: digest, size and media type only make sense together.
      if (path == "target") {
        updated.target = image.target;
        continue;
      }
      return absl::InvalidArgumentError(
          fmt::format("cannot update {} field on image {}", Quote(path), Quote(image.name)));
    }
    LIMAN_RETURN_IF_ERROR(ValidateImage(updated));
    DropEmptyMaps(updated);
    updated.created_at = created_at;
    updated.updated_at = state_.clock();
    LIMAN_ASSIGN_OR_RETURN(
        sqlite::Statement stmt,
        db.Prepare("UPDATE images SET target_media_type = ?3, target_digest = ?4, target_size = ?5, "
                   "target_annotations = ?6, labels = ?7, updated_at = ?8 WHERE namespace = ?1 AND name = ?2"));
    return stmt
        .Bind(ns, updated.name, updated.target.media_type, updated.target.digest, updated.target.size,
              EncodeLabels(updated.target.annotations), EncodeLabels(updated.labels), EncodeTime(updated.updated_at))
        .Run();
  }));
  return updated;
}

absl::Status ImageStore::Delete(std::string_view ns, std::string_view name, bool sync) {
  LIMAN_RETURN_IF_ERROR(ValidateNamespace(ns));
  LIMAN_RETURN_IF_ERROR(state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare("DELETE FROM images WHERE namespace = ?1 AND name = ?2"));
    LIMAN_RETURN_IF_ERROR(stmt.Bind(ns, name).Run());
    if (db.Changes() == 0) return ImageNotFound(name);
    return absl::OkStatus();
  }));
  state_.deletions++;
  if (sync) return state_.collect_garbage();
  return absl::OkStatus();
}

}  // namespace liman::containerd::metadata
