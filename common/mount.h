// Mount descriptors as containerd passes them (containerd.types.Mount: type, source, options)
// and the code that turns them into mount(2) calls. Snapshotters produce descriptors and never
// mount; the shim (or a tool) mounts them onto a container's rootfs.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace liman {

struct MountDescriptor {
  std::string type;     // "overlay", "bind", "tmpfs"…
  std::string source;
  std::string target;   // relative to the directory mounted onto; empty: that directory itself
  std::vector<std::string> options;
};

// Mounts every descriptor onto `root` in order; on failure the ones already mounted are
// unmounted again. Overlay option strings longer than a page (many lowerdirs) are shortened by
// making the layer paths relative to their common parent, as containerd does; the mount then
// runs in a thread with a working directory of its own, so other threads are not disturbed.
absl::Status MountAll(const std::vector<MountDescriptor>& mounts, const std::string& root);

// Unmounts everything stacked on `target` (umount2 MNT_DETACH until nothing is mounted there).
absl::Status UnmountAll(const std::string& target);

}  // namespace liman
