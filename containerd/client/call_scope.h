// What every call of a containerd client carries besides its request: the namespace it works in
// and, optionally, the lease that holds what it creates back from garbage collection. containerd
// reads both from the call's gRPC metadata ("containerd-namespace", "containerd-lease").
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace liman::containerd::client {

struct CallScope {
  std::string ns;     // required by every namespaced service
  std::string lease;  // empty: none
  // Deadline of each unary call and each Read/List stream; never applied to a Write stream, whose
  // life is the writer's. Infinite: no deadline.
  absl::Duration timeout = absl::InfiniteDuration();
};

// A fresh context for one call in `scope` (a gRPC context serves exactly one call).
std::unique_ptr<grpc::ClientContext> NewCallContext(const CallScope& scope, bool with_deadline = true);

// The outcome of a finished call: OK, or the service's error mapped back from its gRPC code with
// `what` (the operation and its arguments) in front.
absl::Status CallStatus(const grpc::Status& status, std::string_view what);

}  // namespace liman::containerd::client
