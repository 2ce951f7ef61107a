#include "containerd/services/transfer/image_records.h"

#include "common/fmt_absl.h"
#include "common/status.h"
#include "containerd/events/image.pb.h"

namespace liman::containerd::services {
namespace {

absl::Status PublishImageEvent(const ServiceDeps& deps, std::string_view ns, const metadata::Image& image,
                               bool created) {
  if (created) {
    ::containerd::services::images::v1::ImageCreate event;
    event.set_name(image.name);
    event.mutable_labels()->insert(image.labels.begin(), image.labels.end());
    return deps.events->Publish(ns, "/images/create", event);
  }
  ::containerd::services::images::v1::ImageUpdate event;
  event.set_name(image.name);
  event.mutable_labels()->insert(image.labels.begin(), image.labels.end());
  return deps.events->Publish(ns, "/images/update", event);
}

}  // namespace

absl::StatusOr<metadata::Image> RecordImage(const ServiceDeps& deps, std::string_view ns, const metadata::Image& image,
                                            ExistingImage existing) {
  metadata::ImageStore& images = deps.db->Images();
  // Create and Update race with other clients creating or deleting the same name: each loses
  // at most once to a concurrent change, so a few rounds settle it.
  absl::Status status;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (existing == ExistingImage::kUpdateTarget) {
      absl::StatusOr<metadata::Image> updated = images.Update(ns, image, {"target"});
      if (updated.ok()) {
        LIMAN_RETURN_IF_ERROR(PublishImageEvent(deps, ns, *updated, false));
        return updated;
      }
      status = updated.status();
      if (!absl::IsNotFound(status)) break;
    }
    absl::StatusOr<metadata::Image> created = images.Create(ns, image);
    if (created.ok()) {
      LIMAN_RETURN_IF_ERROR(PublishImageEvent(deps, ns, *created, true));
      return created;
    }
    status = created.status();
    if (!absl::IsAlreadyExists(status)) break;
    if (existing == ExistingImage::kReplace) {
      absl::StatusOr<metadata::Image> updated = images.Update(ns, image, {});
      if (updated.ok()) {
        LIMAN_RETURN_IF_ERROR(PublishImageEvent(deps, ns, *updated, false));
        return updated;
      }
      status = updated.status();
      if (!absl::IsNotFound(status)) break;
    }
  }
  return Annotate(status, fmt::format("record image {}", Quote(image.name)));
}

metadata::Descriptor ToRecordDescriptor(const remotes::Descriptor& descriptor) {
  metadata::Descriptor out;
  out.media_type = descriptor.media_type;
  out.digest = descriptor.digest;
  out.size = descriptor.size;
  out.annotations.insert(descriptor.annotations.begin(), descriptor.annotations.end());
  return out;
}

remotes::Descriptor FromRecordDescriptor(const metadata::Descriptor& descriptor) {
  remotes::Descriptor out;
  out.media_type = descriptor.media_type;
  out.digest = descriptor.digest;
  out.size = descriptor.size;
  out.annotations.insert(descriptor.annotations.begin(), descriptor.annotations.end());
  return out;
}

}  // namespace liman::containerd::services
