// What the diff service reads from snapshot mounts: the directories behind an overlay or bind
// mount (so that a layer can be unpacked into, or read from, a snapshot's own directory without
// mounting anything), and a temporary mount for everything else.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/mount.h"

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

// `mounts` mounted on a fresh directory under `parent` for the object's lifetime; unmounted and
// removed again by the destructor, whatever happened in between.
class TempMount {
 public:
  // Overlay options longer than a page are refused (kInvalidArgument): the shortening MountAll
  // does for them changes the working directory, which a multi-threaded daemon cannot do. No
  // mounts: an empty directory (the empty tree a base layer is compared with).
  static absl::StatusOr<std::unique_ptr<TempMount>> Mount(const std::vector<MountDescriptor>& mounts,
                                                          const std::string& parent);
  ~TempMount();
  TempMount(const TempMount&) = delete;
  TempMount& operator=(const TempMount&) = delete;

  const std::string& dir() const { return dir_; }

 private:
  explicit TempMount(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
  bool mounted_ = false;
};

}  // namespace liman::containerd::services::diff
