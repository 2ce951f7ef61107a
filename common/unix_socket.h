// Unix-domain socket helpers, including passing descriptors with SCM_RIGHTS (unix(7)).
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace liman {

absl::StatusOr<UniqueFd> ConnectUnix(const std::string& path, int type = SOCK_STREAM);
// Binds and listens; an existing socket file at `path` is replaced. The socket gets `mode`.
absl::StatusOr<UniqueFd> ListenUnix(const std::string& path, mode_t mode = 0600, int type = SOCK_STREAM);

// The inode a daemon bound at a path. At shutdown it removes the path only if it still is that
// inode: a daemon started meanwhile may have replaced a socket that stopped answering and bound
// its own there, which must survive the old daemon's exit.
// The inode number alone is not enough: ext4 hands a freed one out again at once. A socket's mtime
// is its bind time and stays put through chmod and chown.
struct BoundSocket {
  dev_t dev = 0;
  ino_t ino = 0;
  struct timespec bound_at = {};
};
absl::StatusOr<BoundSocket> StatBoundSocket(const std::string& path);
absl::Status RemoveBoundSocket(const std::string& path, const BoundSocket& bound);

// send(2) until everything is written; false when the peer is gone (MSG_NOSIGNAL: no SIGPIPE).
bool SendAll(int fd, std::string_view data);

// Sends `fd` with a one-byte (or `payload`) message over a connected unix socket.
absl::Status SendFd(int socket_fd, int fd, std::string_view payload = "F");
// Receives one descriptor (CLOEXEC) and the payload that came with it.
absl::StatusOr<UniqueFd> ReceiveFd(int socket_fd, std::string* payload = nullptr);

}  // namespace liman
