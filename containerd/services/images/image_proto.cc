#include "containerd/services/images/image_proto.h"

#include "shim/proto_time.h"

namespace liman::containerd::services {

namespace api = ::containerd::services::images::v1;

void ToProtoDescriptor(const metadata::Descriptor& descriptor, ::containerd::types::Descriptor* out) {
  out->set_media_type(descriptor.media_type);
  out->set_digest(descriptor.digest);
  out->set_size(descriptor.size);
  out->mutable_annotations()->insert(descriptor.annotations.begin(), descriptor.annotations.end());
}

metadata::Descriptor FromProtoDescriptor(const ::containerd::types::Descriptor& descriptor) {
  metadata::Descriptor out;
  out.media_type = descriptor.media_type();
  out.digest = descriptor.digest();
  out.size = descriptor.size();
  out.annotations.insert(descriptor.annotations().begin(), descriptor.annotations().end());
  return out;
}

void ToProtoImage(const metadata::Image& image, api::Image* out) {
  out->set_name(image.name);
  out->mutable_labels()->insert(image.labels.begin(), image.labels.end());
  ToProtoDescriptor(image.target, out->mutable_target());
  *out->mutable_created_at() = shim::ToProtoTimestamp(image.created_at);
  *out->mutable_updated_at() = shim::ToProtoTimestamp(image.updated_at);
}

metadata::Image FromProtoImage(const api::Image& image) {
  metadata::Image out;
  out.name = image.name();
  out.labels.insert(image.labels().begin(), image.labels().end());
  out.target = FromProtoDescriptor(image.target());
  out.created_at = shim::FromProtoTimestamp(image.created_at());
  out.updated_at = shim::FromProtoTimestamp(image.updated_at());
  return out;
}

}  // namespace liman::containerd::services
