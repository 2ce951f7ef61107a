#include "containerd/services/containers/container_proto.h"

#include "shim/proto_time.h"

namespace liman::containerd::services {
namespace {

namespace api = ::containerd::services::containers::v1;

void ToProtoAny(const metadata::Any& any, google::protobuf::Any* out) {
  out->set_type_url(any.type_url);
  out->set_value(any.value);
}

metadata::Any FromProtoAny(const google::protobuf::Any& any) { return {any.type_url(), any.value()}; }

}  // namespace

void ToProtoContainer(const metadata::Container& container, api::Container* out) {
  out->set_id(container.id);
  out->mutable_labels()->insert(container.labels.begin(), container.labels.end());
  out->set_image(container.image);
  api::Container::Runtime* runtime = out->mutable_runtime();
  runtime->set_name(container.runtime.name);
  if (container.runtime.options) ToProtoAny(*container.runtime.options, runtime->mutable_options());
  if (container.spec) ToProtoAny(*container.spec, out->mutable_spec());
  out->set_snapshotter(container.snapshotter);
  out->set_snapshot_key(container.snapshot_key);
  *out->mutable_created_at() = shim::ToProtoTimestamp(container.created_at);
  *out->mutable_updated_at() = shim::ToProtoTimestamp(container.updated_at);
  for (const auto& [name, extension] : container.extensions)
    ToProtoAny(extension, &(*out->mutable_extensions())[name]);
}

metadata::Container FromProtoContainer(const api::Container& container) {
  metadata::Container out;
  out.id = container.id();
  out.labels.insert(container.labels().begin(), container.labels().end());
  out.image = container.image();
  out.runtime.name = container.runtime().name();
  if (container.runtime().has_options()) out.runtime.options = FromProtoAny(container.runtime().options());
  if (container.has_spec()) out.spec = FromProtoAny(container.spec());
  out.snapshotter = container.snapshotter();
  out.snapshot_key = container.snapshot_key();
  out.created_at = shim::FromProtoTimestamp(container.created_at());
  out.updated_at = shim::FromProtoTimestamp(container.updated_at());
  for (const auto& [name, extension] : container.extensions()) out.extensions[name] = FromProtoAny(extension);
  return out;
}

}  // namespace liman::containerd::services
