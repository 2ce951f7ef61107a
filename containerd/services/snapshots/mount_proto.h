// containerd.types.Mount <-> MountDescriptor, for every service that passes mounts (snapshots,
// diff, tasks' rootfs).
#pragma once

#include <vector>

#include "common/mount.h"
#include "containerd/types/mount.pb.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace liman::containerd::services {

void ToProtoMount(const MountDescriptor& mount, ::containerd::types::Mount* out);
void ToProtoMounts(const std::vector<MountDescriptor>& mounts,
                   google::protobuf::RepeatedPtrField<::containerd::types::Mount>* out);
MountDescriptor FromProtoMount(const ::containerd::types::Mount& mount);
std::vector<MountDescriptor> FromProtoMounts(const google::protobuf::RepeatedPtrField<::containerd::types::Mount>& mounts);

}  // namespace liman::containerd::services
