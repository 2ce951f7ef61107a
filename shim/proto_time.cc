#include "shim/proto_time.h"

namespace liman::shim {

google::protobuf::Timestamp ToProtoTimestamp(absl::Time time) {
  google::protobuf::Timestamp timestamp;
  timespec spec = absl::ToTimespec(time);
  timestamp.set_seconds(spec.tv_sec);
  timestamp.set_nanos(static_cast<int32_t>(spec.tv_nsec));
  return timestamp;
}

absl::Time FromProtoTimestamp(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

}  // namespace liman::shim
