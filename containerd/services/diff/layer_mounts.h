// What the diff service reads from snapshot mounts: the directories behind an overlay or bind
// mount (so that a layer can be unpacked into, or read from, a snapshot's own directory without
// mounting anything); everything else goes through a TempMount (common/temp_mount.h).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/mount.h"
#include "common/temp_mount.h"

namespace liman::containerd::services::diff {

// An overlay mount's directories as its options name them (overlayfs.rst): the upper (empty for
// a read-only overlay) and the lowers, top first.
struct OverlayDirs {
  std::string upper;
  std::vector<std::string> lowers;
};
// kInvalidArgument when `mount` is not an overlay or names no directories.
absl::StatusOr<OverlayDirs> ParseOverlay(const MountDescriptor& mount);

// True for a bind mount that is writable (no "ro" option).
bool IsWritableBind(const MountDescriptor& mount);

// The stack of layer directories a mount set shows, top first: none for no mounts, the source of
// one bind mount, upperdir then lowerdirs of one overlay. std::nullopt for any other mount set
// (several mounts, other types, relative overlay paths).
std::optional<std::vector<std::string>> LayerStack(const std::vector<MountDescriptor>& mounts);


}  // namespace liman::containerd::services::diff
