// The connection every client command makes: to --address (a socket path, or containerd's
// unix:///path form).
#pragma once

#include "absl/status/statusor.h"
#include "common/ttrpc/client.h"
#include "integration/shimctl/cli.h"

namespace liman::shimctl {

// A connection that cannot be made is kUnavailable (as a gRPC client reports it), so that it
// never reads like an answer of the shim (NOT_FOUND…).
absl::StatusOr<ttrpc::Client> ConnectShim(const Invocation& inv);

}  // namespace liman::shimctl
