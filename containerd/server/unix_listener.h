// The daemon's gRPC endpoint on a unix socket, set up as containerd's sys.GetLocalListener does:
// the parent directory is created private, a stale socket left by a crashed daemon is replaced,
// and the socket is made owner-only once bound. gRPC binds the socket itself (`unix:PATH`), so
// this is split into what must happen before and after the bind.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/unix_socket.h"

namespace liman::containerd::server {

// containerd's defaults for both directions (defaultMaxRecvMsgSize/defaultMaxSendMsgSize).
inline constexpr int kMaxGrpcMessageSize = 16 << 20;

// Before the bind: creates the parent directory (0700; an existing one is left as it is) and
// removes a stale socket at `path`. kFailedPrecondition when `path` is something other than a
// socket, or a socket another process still accepts connections on.
absl::Status PrepareSocketPath(const std::string& path);

// After the bind: the socket gets mode 0600 (the parent directory keeps others out meanwhile).
// Returns the inode bound, for RemoveSocket.
absl::StatusOr<BoundSocket> RestrictSocket(const std::string& path);

// Removes the socket at `path` on shutdown if it still is the one this daemon bound (a daemon
// started while this one was stopping may own the path now); a missing one is fine.
absl::Status RemoveSocket(const std::string& path, const BoundSocket& bound);

// The gRPC target for a socket path ("unix:/run/x.sock").
std::string GrpcUnixTarget(const std::string& path);

}  // namespace liman::containerd::server
