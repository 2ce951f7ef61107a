// absl::Time <-> google.protobuf.Timestamp, for exit times and event envelopes.
#pragma once

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace liman::shim {

google::protobuf::Timestamp ToProtoTimestamp(absl::Time time);
absl::Time FromProtoTimestamp(const google::protobuf::Timestamp& timestamp);

}  // namespace liman::shim
