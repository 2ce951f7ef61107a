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

// send(2) until everything is written; false when the peer is gone (MSG_NOSIGNAL: no SIGPIPE).
bool SendAll(int fd, std::string_view data);

// Sends `fd` with a one-byte (or `payload`) message over a connected unix socket.
absl::Status SendFd(int socket_fd, int fd, std::string_view payload = "F");
// Receives one descriptor (CLOEXEC) and the payload that came with it.
absl::StatusOr<UniqueFd> ReceiveFd(int socket_fd, std::string* payload = nullptr);

}  // namespace liman
