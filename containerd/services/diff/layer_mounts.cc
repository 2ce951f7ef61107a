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

}  // namespace liman::containerd::services::diff
