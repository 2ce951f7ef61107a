// A running container's files as its init sees them: /proc/<pid>/root (proc(5)), its root
// filesystem with its volumes and mounts.
#pragma once

#include <sys/types.h>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace liman::engine {

// An O_PATH descriptor of process `pid`'s root. A pidfd taken first and checked once the root is
// open makes sure the root is that process's: a pid that exited and was reused meanwhile is an
// error (pidfd_open(2), pidfd_send_signal(2) with signal 0).
absl::StatusOr<UniqueFd> OpenProcessRoot(pid_t pid);

}  // namespace liman::engine
