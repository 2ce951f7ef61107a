// Raw syscalls of the new mount API (open_tree(2), move_mount(2), mount_setattr(2), fsopen(2),
// fsconfig(2), fsmount(2)). Debian 12's glibc declares some in <sys/mount.h> but not all, and not
// mount_setattr's struct helpers for every field; calling the syscalls keeps the runtime
// independent of the libc version. Each returns what the syscall returns (-1 and errno on error).
#pragma once

#include <linux/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace liman {

inline int OpenTree(int dirfd, const char* path, unsigned flags) {
  return static_cast<int>(syscall(SYS_open_tree, dirfd, path, flags));
}
inline int MoveMount(int from_fd, int to_fd) {
  return static_cast<int>(syscall(SYS_move_mount, from_fd, "", to_fd, "",
                                  MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
}
inline int MountSetattr(int fd, const char* path, unsigned flags, mount_attr* attr) {
  return static_cast<int>(syscall(SYS_mount_setattr, fd, path, flags, attr, sizeof *attr));
}
inline int FsOpen(const char* type) { return static_cast<int>(syscall(SYS_fsopen, type, FSOPEN_CLOEXEC)); }
inline int FsConfig(int fd, unsigned cmd, const char* key, const char* value) {
  return static_cast<int>(syscall(SYS_fsconfig, fd, cmd, key, value, 0));
}
inline int FsMount(int fd, unsigned attrs) {
  return static_cast<int>(syscall(SYS_fsmount, fd, FSMOUNT_CLOEXEC, attrs));
}

}  // namespace liman
