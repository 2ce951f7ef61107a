#include "common/temp_mount.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/mount_options.h"
#include "common/status.h"

namespace liman {

std::vector<MountDescriptor> ReadOnlyMounts(std::vector<MountDescriptor> mounts) {
  for (MountDescriptor& mount : mounts) {
    std::erase(mount.options, std::string("rw"));
    if (std::find(mount.options.begin(), mount.options.end(), "ro") == mount.options.end())
      mount.options.push_back("ro");
  }
  return mounts;
}

absl::StatusOr<std::unique_ptr<TempMount>> TempMount::Mount(const std::vector<MountDescriptor>& mounts,
                                                            const std::string& parent) {
  LIMAN_RETURN_IF_ERROR(MkdirAll(parent, 0700));
  std::string pattern = JoinPath(parent, "mount-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) return ErrnoError(fmt::format("mkdtemp {}", Quote(pattern)));
  auto mounted = std::unique_ptr<TempMount>(new TempMount(pattern));
  // MountAll unmounts what it mounted when one of the mounts fails.
  if (mounts.empty()) return mounted;
  LIMAN_RETURN_IF_ERROR(MountAll(mounts, mounted->dir_));
  mounted->mounted_ = true;
  return mounted;
}

TempMount::~TempMount() {
  if (mounted_) {
    if (absl::Status status = UnmountAll(dir_); !status.ok()) {
      // Leave the directory: removing it recursively would reach into the still-mounted tree.
      LogWarn("temporary mount: {}", status);
      return;
    }
  }
  if (rmdir(dir_.c_str()) != 0) LogWarn("temporary mount: remove {}: {}", Quote(dir_), ErrnoText(errno));
}

}  // namespace liman
