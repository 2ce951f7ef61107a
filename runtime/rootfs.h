// Stage 2's filesystem work, in the container's new mount namespace. Every mount target is
// resolved inside the rootfs with openat2(RESOLVE_IN_ROOT) and mounted through that fd with the
// new mount API (open_tree/fsopen/fsmount/move_mount), so a symlink swapped into the rootfs can
// never redirect a mount onto the host (CVE-2021-30465) and /proc is never needed to do it.
#pragma once

#include "runtime/child_error.h"
#include "runtime/plan.h"

namespace liman::runtime {

// Before pivot: root propagation, the rootfs bound onto itself; returns an O_PATH fd of it.
int PrepareRoot(const RootfsPlan& plan, ChildError* error);
// Before pivot: every mount of config.json, in order, then devices and /dev symlinks.
bool MountAll(const RootfsPlan& plan, int root_fd, ChildError* error);
// pivot_root(".", ".") and a lazy unmount of the old root, or MS_MOVE + chroot with --no-pivot.
bool EnterRoot(const RootfsPlan& plan, int root_fd, ChildError* error);
// After pivot: masked and read-only paths, read-only root, shared propagation.
bool FinishRootfs(const RootfsPlan& plan, ChildError* error);

// After pivot: opens a pty in the container's devpts, binds it on /dev/console, sends the master
// to the console socket, makes it the controlling terminal and stdio.
bool SetupConsole(const ProcessPlan& plan, bool bind_dev_console, ChildError* error);

// openat2(dirfd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra).
int OpenInRoot(int root_fd, const char* path, int flags, uint64_t extra_resolve = 0);

}  // namespace liman::runtime
