#include "engine/daemon/shm_mount.h"

#include "common/file_util.h"
#include "common/mount.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::engine {

std::string ShmPath(const std::string& container_dir) { return JoinPath(container_dir, "mounts/shm"); }

absl::Status MountShm(const std::string& path, int64_t size) {
  LIMAN_RETURN_IF_ERROR(UnmountShm(path));
  LIMAN_RETURN_IF_ERROR(MkdirAll(path, 0700));
  MountDescriptor shm{"tmpfs", "shm", "", {"nosuid", "nodev", "noexec", "mode=1777", fmt::format("size={}", size)}};
  return Annotate(MountAll({shm}, path), "mount the shareable /dev/shm");
}

absl::Status UnmountShm(const std::string& path) {
  if (!PathExists(path)) return absl::OkStatus();
  return UnmountAll(path);
}

}  // namespace liman::engine
