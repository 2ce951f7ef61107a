// --ipc shareable: the container's /dev/shm is a tmpfs that limand mounts on the host (moby's
// ShmResourcePath, <container dir>/mounts/shm) and binds in, so that containers started with
// --ipc container:NAME bind the same one. It lives while the container runs: mounted at each
// start, unmounted when the task is gone (its contents go with it, as with moby).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace liman::engine {

// Docker's /dev/shm size when HostConfig.ShmSize is 0.
inline constexpr int64_t kDefaultShmSize = int64_t{64} << 20;

std::string ShmPath(const std::string& container_dir);

// A fresh tmpfs at `path` (mode 1777, `size` bytes, nosuid, nodev, noexec), made in place of
// whatever an earlier run left there.
absl::Status MountShm(const std::string& path, int64_t size);

// Unmounts it (nothing to do when it is not mounted).
absl::Status UnmountShm(const std::string& path);

}  // namespace liman::engine
