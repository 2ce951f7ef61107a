// Conversions between containerd's wire types (google.protobuf.Timestamp / FieldMask, label maps,
// containerd.types.Mount) and the core types, for the clients of the content and snapshots
// services.
#pragma once

#include <vector>

#include "absl/time/time.h"
#include "common/mount.h"
#include "containerd/core/content.h"
#include "containerd/types/mount.pb.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/map.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "google/protobuf/timestamp.pb.h"

namespace liman::containerd::client {

absl::Time FromProtoTime(const google::protobuf::Timestamp& time);
Labels FromProtoLabels(const google::protobuf::Map<std::string, std::string>& labels);
void ToProtoLabels(const Labels& labels, google::protobuf::Map<std::string, std::string>* out);
void ToFieldMask(const FieldPaths& paths, google::protobuf::FieldMask* out);
std::vector<MountDescriptor> MountsFromProto(const google::protobuf::RepeatedPtrField<::containerd::types::Mount>& mounts);

}  // namespace liman::containerd::client
