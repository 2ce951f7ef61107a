#include "containerd/services/diff/layer_mounts.h"

#include <stdlib.h>
#include <unistd.h>

#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/mount_options.h"
#include "common/status.h"

namespace liman::containerd::services::diff {

absl::StatusOr<OverlayDirs> ParseOverlay(const MountDescriptor& mount) {
  if (mount.type != "overlay") return absl::InvalidArgumentError(fmt::format("mount type {} is not overlay", Quote(mount.type)));
  OverlayDirs dirs;
  for (const std::string& option : mount.options) {
    if (option.starts_with("upperdir=")) {
      dirs.upper = option.substr(std::string_view("upperdir=").size());
    } else if (option.starts_with("lowerdir=")) {
      dirs.lowers.clear();
      for (absl::string_view lower : absl::StrSplit(option.substr(std::string_view("lowerdir=").size()), ':'))
        dirs.lowers.emplace_back(lower);
    }
  }
  if (dirs.upper.empty() && dirs.lowers.empty())
    return absl::InvalidArgumentError("overlay mount names neither upperdir nor lowerdir");
  return dirs;
}

bool IsWritableBind(const MountDescriptor& mount) {
  if (mount.type != "bind") return false;
  for (const std::string& option : mount.options)
    if (option == "ro") return false;
  return true;
}

std::optional<std::vector<std::string>> LayerStack(const std::vector<MountDescriptor>& mounts) {
  if (mounts.empty()) return std::vector<std::string>{};
  if (mounts.size() != 1 || !mounts[0].target.empty()) return std::nullopt;
  const MountDescriptor& mount = mounts[0];
  std::vector<std::string> stack;
  if (mount.type == "bind") {
    stack.push_back(mount.source);
  } else if (absl::StatusOr<OverlayDirs> dirs = ParseOverlay(mount); dirs.ok()) {
    if (!dirs->upper.empty()) stack.push_back(dirs->upper);
    stack.insert(stack.end(), dirs->lowers.begin(), dirs->lowers.end());
  } else {
    return std::nullopt;
  }
  for (const std::string& dir : stack)
    if (!dir.starts_with('/')) return std::nullopt;
  return stack;
}

absl::StatusOr<std::unique_ptr<TempMount>> TempMount::Mount(const std::vector<MountDescriptor>& mounts,
                                                            const std::string& parent) {
  for (const MountDescriptor& mount : mounts) {
    if (mount.type != "overlay") continue;
    LIMAN_ASSIGN_OR_RETURN(MountOptions options, ParseMountOptions(mount.options));
    if (options.data.size() >= static_cast<size_t>(getpagesize()))
      return absl::InvalidArgumentError(fmt::format(
          "overlay mount options of {} bytes exceed a page (too many layers to mount here)", options.data.size()));
  }
  LIMAN_RETURN_IF_ERROR(MkdirAll(parent, 0700));
  std::string pattern = JoinPath(parent, "diff-XXXXXX");
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
      LogWarn("diff: {}", status);
      return;
    }
  }
  if (rmdir(dir_.c_str()) != 0) LogWarn("diff: remove {}: {}", Quote(dir_), ErrnoText(errno));
}

}  // namespace liman::containerd::services::diff
