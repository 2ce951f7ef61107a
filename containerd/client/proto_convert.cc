#include "containerd/client/proto_convert.h"

namespace liman::containerd::client {

absl::Time FromProtoTime(const google::protobuf::Timestamp& time) {
  return absl::FromUnixSeconds(time.seconds()) + absl::Nanoseconds(time.nanos());
}

Labels FromProtoLabels(const google::protobuf::Map<std::string, std::string>& labels) {
  return Labels(labels.begin(), labels.end());
}

void ToProtoLabels(const Labels& labels, google::protobuf::Map<std::string, std::string>* out) {
  for (const auto& [key, value] : labels) (*out)[key] = value;
}

void ToFieldMask(const FieldPaths& paths, google::protobuf::FieldMask* out) {
  for (const std::string& path : paths) out->add_paths(path);
}

// (services/snapshots/mount_proto.h has the same conversion on the server side; it lives in the
// snapshots service library, which a client must not pull in.)
std::vector<MountDescriptor> MountsFromProto(const google::protobuf::RepeatedPtrField<::containerd::types::Mount>& mounts) {
  std::vector<MountDescriptor> result;
  result.reserve(mounts.size());
  for (const ::containerd::types::Mount& mount : mounts)
    result.push_back({mount.type(), mount.source(), mount.target(), {mount.options().begin(), mount.options().end()}});
  return result;
}

}  // namespace liman::containerd::client
