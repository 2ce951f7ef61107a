#include "containerd/services/snapshots/mount_proto.h"

namespace liman::containerd::services {

void ToProtoMount(const MountDescriptor& mount, ::containerd::types::Mount* out) {
  out->set_type(mount.type);
  out->set_source(mount.source);
  out->set_target(mount.target);
  for (const std::string& option : mount.options) out->add_options(option);
}

void ToProtoMounts(const std::vector<MountDescriptor>& mounts,
                   google::protobuf::RepeatedPtrField<::containerd::types::Mount>* out) {
  for (const MountDescriptor& mount : mounts) ToProtoMount(mount, out->Add());
}

MountDescriptor FromProtoMount(const ::containerd::types::Mount& mount) {
  return MountDescriptor{.type = mount.type(),
                         .source = mount.source(),
                         .target = mount.target(),
                         .options = {mount.options().begin(), mount.options().end()}};
}

std::vector<MountDescriptor> FromProtoMounts(
    const google::protobuf::RepeatedPtrField<::containerd::types::Mount>& mounts) {
  std::vector<MountDescriptor> out;
  out.reserve(mounts.size());
  for (const auto& mount : mounts) out.push_back(FromProtoMount(mount));
  return out;
}

}  // namespace liman::containerd::services
