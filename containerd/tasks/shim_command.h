// The shim binary's one-shot actions, run the way containerd 1.6 runs them
// (runtime/v2/shim/util.go Command, runtime/v2/binary.go):
//   <shim> -namespace NS -address GRPC -publish-binary SELF -id ID [-debug] start
//   <shim> -namespace NS -address GRPC -publish-binary SELF -id ID -bundle DIR delete
// in the bundle directory, in a session of their own, with the daemon's environment plus
// GOMAXPROCS=2 and TTRPC_ADDRESS (where the shim publishes events).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "containerd/runtime/v2/task/shim.pb.h"

namespace liman::containerd::tasks {

struct ShimInvocation {
  std::string binary;  // absolute path of the shim
  std::string namespace_name;
  std::string id;
  std::string bundle;          // the working directory, and -bundle for delete
  std::string address;         // the daemon's gRPC socket (-address)
  std::string ttrpc_address;   // $TTRPC_ADDRESS
  std::string publish_binary;  // -publish-binary
  bool debug = false;          // -debug
};

// Runs `start` with `options` (a serialized google.protobuf.Any with the runtime options, or
// empty) on its stdin, as containerd does: containerd-shim-runc-v2 reads its shim cgroup from
// there. Returns the ttrpc address the shim printed ("unix:///…"). A failure carries what the
// shim wrote on stderr (or stdout).
absl::StatusOr<std::string> RunShimStart(const ShimInvocation& shim, std::string_view options, absl::Duration timeout);

// Runs `delete` (cleanup after a dead shim: the runtime's container, the rootfs mount, the
// socket) and returns the exit it printed as a containerd.task.v2.DeleteResponse.
absl::StatusOr<::containerd::task::v2::DeleteResponse> RunShimDelete(const ShimInvocation& shim,
                                                                      absl::Duration timeout);

}  // namespace liman::containerd::tasks
