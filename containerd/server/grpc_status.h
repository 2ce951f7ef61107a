// The gRPC edge of the daemon's errors: services work with absl::Status and hand the result to
// gRPC through ToGrpcStatus; the client side (liman-ctr, tests) turns answers back with
// FromGrpcStatus. absl's canonical codes are gRPC's codes, so the mapping is 1:1 and the
// message is kept as is, which is what containerd's errdefs.ToGRPC/FromGRPC do with errdefs.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace liman::containerd::server {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace liman::containerd::server
