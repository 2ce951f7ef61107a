#include "containerd/server/unix_listener.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/file_util.h"
#include "common/status.h"
#include "common/unix_socket.h"

namespace liman::containerd::server {

absl::Status PrepareSocketPath(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("grpc address must not be empty");
  LIMAN_RETURN_IF_ERROR(MkdirAll(ParentDirectory(path), 0700));

  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoError(fmt::format("stat {}", Quote(path)));
  }
  if (!S_ISSOCK(st.st_mode))
    return absl::FailedPreconditionError(fmt::format("listen {}: file exists and is not a socket", Quote(path)));
  // A socket someone answers on belongs to a running daemon: taking it over would leave that
  // daemon unreachable. One nobody answers on (ECONNREFUSED) was left by a daemon that died.
  if (ConnectUnix(path).ok())
    return absl::FailedPreconditionError(
        fmt::format("listen {}: address already in use by a running daemon", Quote(path)));
  if (unlink(path.c_str()) != 0 && errno != ENOENT)
    return ErrnoError(fmt::format("remove stale socket {}", Quote(path)));
  return absl::OkStatus();
}

absl::StatusOr<BoundSocket> RestrictSocket(const std::string& path) {
  if (chmod(path.c_str(), 0600) != 0) return ErrnoError(fmt::format("chmod {}", Quote(path)));
  return StatBoundSocket(path);
}

absl::Status RemoveSocket(const std::string& path, const BoundSocket& bound) { return RemoveBoundSocket(path, bound); }

std::string GrpcUnixTarget(const std::string& path) { return "unix:" + path; }

}  // namespace liman::containerd::server
