// absl::Status <-> google.rpc.Status, the error carried in every ttrpc Response. absl's codes are
// numerically gRPC's (0 OK … 16 UNAUTHENTICATED), which is what containerd's Go side decodes with
// google.golang.org/grpc/status, so a code survives the round trip unchanged.
#pragma once

#include "absl/status/status.h"
#include "google/rpc/status.pb.h"

namespace liman::ttrpc {

google::rpc::Status StatusToProto(const absl::Status& status);
// A code outside gRPC's range becomes kUnknown (the message is kept).
absl::Status StatusFromProto(const google::rpc::Status& status);

}  // namespace liman::ttrpc
