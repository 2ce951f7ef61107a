#include "runtime/rootfs.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/unique_fd.h"
#include "common/unix_socket.h"
#include "common/mount_api.h"

namespace liman::runtime {
namespace {

// MS_* flags of a mount(2) call as MOUNT_ATTR_* for fsmount(2)/mount_setattr(2).
uint64_t AttrsFromFlags(unsigned long flags) {
  uint64_t attrs = 0;
  if (flags & MS_RDONLY) attrs |= MOUNT_ATTR_RDONLY;
  if (flags & MS_NOSUID) attrs |= MOUNT_ATTR_NOSUID;
  if (flags & MS_NODEV) attrs |= MOUNT_ATTR_NODEV;
  if (flags & MS_NOEXEC) attrs |= MOUNT_ATTR_NOEXEC;
  if (flags & MS_NODIRATIME) attrs |= MOUNT_ATTR_NODIRATIME;
  if (flags & MS_NOSYMFOLLOW) attrs |= MOUNT_ATTR_NOSYMFOLLOW;
  if (flags & MS_NOATIME) attrs |= MOUNT_ATTR_NOATIME;
  else if (flags & MS_STRICTATIME) attrs |= MOUNT_ATTR_STRICTATIME;
  else if (flags & MS_RELATIME) attrs |= MOUNT_ATTR_RELATIME;
  return attrs;
}

// The superblock flags that fsmount cannot express go to fsconfig as flags ("sync", "lazytime"…).
void ConfigureSuperblockFlags(int fs_fd, unsigned long flags) {
  if (flags & MS_SYNCHRONOUS) FsConfig(fs_fd, FSCONFIG_SET_FLAG, "sync", nullptr);
  if (flags & MS_DIRSYNC) FsConfig(fs_fd, FSCONFIG_SET_FLAG, "dirsync", nullptr);
  if (flags & MS_LAZYTIME) FsConfig(fs_fd, FSCONFIG_SET_FLAG, "lazytime", nullptr);
  if (flags & MS_MANDLOCK) FsConfig(fs_fd, FSCONFIG_SET_FLAG, "mand", nullptr);
  if (flags & MS_RDONLY) FsConfig(fs_fd, FSCONFIG_SET_FLAG, "ro", nullptr);
}

bool ApplyPropagation(int mount_fd, const std::vector<unsigned long>& propagation, const char* where, ChildError* error) {
  for (unsigned long flag : propagation) {
    mount_attr attr{};
    attr.propagation = flag & ~MS_REC;
    if (MountSetattr(mount_fd, "", AT_EMPTY_PATH | ((flag & MS_REC) ? AT_RECURSIVE : 0), &attr) != 0)
      return Fail(error, errno, "set propagation of mount %s", where);
  }
  return true;
}

// Walks `path` one component at a time, each prefix resolved inside the root, creating missing
// directories relative to the already-verified parent fd. A symlink whose target is missing is
// followed by hand, still inside the root (its target is created, as runc's securejoin does).
// Returns an O_PATH fd of the last directory, or -1 with errno set.
int MkdirAllInRoot(int root_fd, const std::string& path, mode_t mode, int depth = 0) {
  if (depth > 40) {
    errno = ELOOP;
    return -1;
  }
  UniqueFd current(OpenInRoot(root_fd, "/", O_PATH | O_DIRECTORY));
  if (!current) return -1;
  size_t pos = 1;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    std::string prefix = path.substr(0, slash);
    std::string parent = path.substr(0, pos);
    std::string name = path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    std::string rest = slash == std::string::npos ? "" : path.substr(slash);
    pos = slash == std::string::npos ? path.size() : slash + 1;
    if (name.empty()) continue;
    int next = OpenInRoot(root_fd, prefix.c_str(), O_PATH | O_DIRECTORY);
    if (next < 0 && errno == ENOENT) {
      if (mkdirat(current.get(), name.c_str(), mode) == 0 || errno != EEXIST) {
        next = OpenInRoot(root_fd, prefix.c_str(), O_PATH | O_DIRECTORY);
      } else {
        char target[PATH_MAX];
        ssize_t length = readlinkat(current.get(), name.c_str(), target, sizeof target - 1);
        if (length < 0) return -1;
        target[length] = '\0';
        std::string resolved = target[0] == '/' ? std::string(target) : parent + target;
        return MkdirAllInRoot(root_fd, resolved + rest, mode, depth + 1);
      }
    }
    if (next < 0) return -1;
    current.reset(next);
  }
  return current.release();
}

// The mount target for `destination`: a directory, or a file for file binds. O_PATH fd or -1.
int PrepareTarget(int root_fd, const std::string& destination, bool directory, ChildError* error) {
  if (directory) {
    int fd = MkdirAllInRoot(root_fd, destination, 0755);
    if (fd < 0) Fail(error, errno, "create mount point \"%s\" in the rootfs", destination.c_str());
    return fd;
  }
  int fd = OpenInRoot(root_fd, destination.c_str(), O_PATH);
  if (fd >= 0) return fd;
  size_t slash = destination.rfind('/');
  std::string parent = slash == 0 ? "/" : destination.substr(0, slash);
  std::string name = destination.substr(slash + 1);
  UniqueFd parent_fd(MkdirAllInRoot(root_fd, parent, 0755));
  if (!parent_fd) {
    Fail(error, errno, "create mount point \"%s\" in the rootfs", parent.c_str());
    return -1;
  }
  UniqueFd dir_fd(openat(parent_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  int created = dir_fd ? openat(dir_fd.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644) : -1;
  if (created < 0 && errno != EEXIST) {
    Fail(error, errno, "create mount point \"%s\" in the rootfs", destination.c_str());
    return -1;
  }
  if (created >= 0) close(created);
  fd = OpenInRoot(root_fd, destination.c_str(), O_PATH);
  if (fd < 0) Fail(error, errno, "open mount point \"%s\" in the rootfs", destination.c_str());
  return fd;
}

bool BindMount(const char* source_path, int source_dirfd, bool recursive, unsigned long flags,
               const MountOptions* options, int target_fd, const char* where, ChildError* error) {
  unsigned tree_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
  if (source_path[0] == '\0') tree_flags |= AT_EMPTY_PATH;
  UniqueFd tree(OpenTree(source_dirfd, source_path, tree_flags));
  if (!tree) return Fail(error, errno, "bind \"%s\" to %s: open_tree", source_path, where);
  mount_attr attr{};
  attr.attr_set = AttrsFromFlags(flags);
  if (attr.attr_set & (MOUNT_ATTR_NOATIME | MOUNT_ATTR_STRICTATIME | MOUNT_ATTR_RELATIME)) attr.attr_clr = MOUNT_ATTR__ATIME;
  // A bind keeps the source's flags; ro/nosuid/... given with it apply to the top mount only,
  // as a bind remount does in runc ("rro" and friends are the recursive forms).
  if (attr.attr_set && MountSetattr(tree.get(), "", AT_EMPTY_PATH, &attr) != 0)
    return Fail(error, errno, "bind \"%s\" to %s: set mount attributes", source_path, where);
  if (options != nullptr) {
    if (options->recursive_attr_set || options->recursive_attr_clear) {
      mount_attr rattr{};
      rattr.attr_set = options->recursive_attr_set;
      rattr.attr_clr = options->recursive_attr_clear;
      if (rattr.attr_set & (MOUNT_ATTR_NOATIME | MOUNT_ATTR_STRICTATIME | MOUNT_ATTR_RELATIME)) rattr.attr_clr |= MOUNT_ATTR__ATIME;
      if (MountSetattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &rattr) != 0)
        return Fail(error, errno, "bind \"%s\" to %s: set recursive mount attributes", source_path, where);
    }
  }
  if (MoveMount(tree.get(), target_fd) != 0) return Fail(error, errno, "bind \"%s\" to %s: move_mount", source_path, where);
  if (options != nullptr && !ApplyPropagation(tree.get(), options->propagation, where, error)) return false;
  return true;
}

// fsopen/fsconfig/fsmount/move_mount: the mount(2) of a filesystem, onto an fd.
bool MountFilesystem(const char* type, const char* source, const std::string& data, unsigned long flags,
                     int target_fd, const char* where, int* mount_fd_out, ChildError* error) {
  UniqueFd fs(FsOpen(type));
  if (!fs) return Fail(error, errno, "mount \"%s\" on %s: fsopen", type, where);
  if (source != nullptr && source[0] != '\0') FsConfig(fs.get(), FSCONFIG_SET_STRING, "source", source);
  size_t pos = 0;
  while (pos < data.size()) {
    size_t comma = data.find(',', pos);
    std::string option = data.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? data.size() : comma + 1;
    if (option.empty()) continue;
    size_t equals = option.find('=');
    int rc = equals == std::string::npos
                 ? FsConfig(fs.get(), FSCONFIG_SET_FLAG, option.c_str(), nullptr)
                 : FsConfig(fs.get(), FSCONFIG_SET_STRING, option.substr(0, equals).c_str(), option.c_str() + equals + 1);
    if (rc != 0) return Fail(error, errno, "mount \"%s\" on %s: option \"%s\"", type, where, option.c_str());
  }
  ConfigureSuperblockFlags(fs.get(), flags);
  if (FsConfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr) != 0)
    return Fail(error, errno, "mount \"%s\" on %s", type, where);
  UniqueFd mnt(FsMount(fs.get(), static_cast<unsigned>(AttrsFromFlags(flags))));
  if (!mnt) return Fail(error, errno, "mount \"%s\" on %s: fsmount", type, where);
  if (MoveMount(mnt.get(), target_fd) != 0) return Fail(error, errno, "mount \"%s\" on %s: move_mount", type, where);
  if (mount_fd_out) *mount_fd_out = mnt.release();
  return true;
}

bool MountCgroups(const RootfsPlan& plan, const MountStep& step, int root_fd, int target_fd, ChildError* error) {
  const char* where = step.destination.c_str();
  bool readonly = step.options.flags & MS_RDONLY;
  unsigned long node_flags = step.options.flags & ~(MS_RDONLY | MS_BIND | MS_REC | MS_REMOUNT);
  if (plan.cgroup_hierarchies.size() == 1 && plan.cgroup_hierarchies[0].name.empty()) {
    // Pure cgroup v2: one cgroup2 mount (own root in a cgroup namespace) or a bind of our dir.
    const cgroups::Hierarchy& h = plan.cgroup_hierarchies[0];
    if (plan.cgroup_namespace)
      return MountFilesystem("cgroup2", "cgroup", "", step.options.flags & ~(MS_BIND | MS_REC), target_fd, where, nullptr, error);
    return BindMount(h.host_path.c_str(), AT_FDCWD, false, node_flags | (readonly ? MS_RDONLY : 0), nullptr, target_fd, where, error);
  }
  // v1 or hybrid: a tmpfs holding one directory per hierarchy, as runc and Docker lay it out.
  int tmpfs_fd = -1;
  if (!MountFilesystem("tmpfs", "tmpfs", "mode=755", node_flags, target_fd, where, &tmpfs_fd, error)) return false;
  UniqueFd tmpfs(tmpfs_fd);
  for (const cgroups::Hierarchy& h : plan.cgroup_hierarchies) {
    std::string dest = step.destination + "/" + h.name;
    UniqueFd dir(PrepareTarget(root_fd, dest, true, error));
    if (!dir) return false;
    bool ok = plan.cgroup_namespace
                  ? MountFilesystem(h.fs_type.c_str(), "cgroup", h.options, node_flags | (readonly ? MS_RDONLY : 0), dir.get(), dest.c_str(), nullptr, error)
                  : BindMount(h.host_path.c_str(), AT_FDCWD, false, node_flags | (readonly ? MS_RDONLY : 0), nullptr, dir.get(), dest.c_str(), error);
    if (!ok) return false;
  }
  if (readonly) {
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (MountSetattr(tmpfs.get(), "", AT_EMPTY_PATH, &attr) != 0) return Fail(error, errno, "make %s read-only", where);
  }
  return true;
}

bool MountOne(const RootfsPlan& plan, const MountStep& step, int root_fd, ChildError* error) {
  const char* where = step.destination.c_str();
  bool directory = !step.options.bind() || step.source_is_dir;
  UniqueFd target(PrepareTarget(root_fd, step.destination, directory, error));
  if (!target) return false;
  if (step.options.bind()) {
    return BindMount(step.source.c_str(), AT_FDCWD, step.options.recursive_bind(), step.options.flags, &step.options,
                     target.get(), where, error);
  }
  if (step.cgroup) return MountCgroups(plan, step, root_fd, target.get(), error);
  int mount_fd = -1;
  if (!MountFilesystem(step.type.c_str(), step.source.c_str(), step.options.data, step.options.flags, target.get(), where,
                       &mount_fd, error)) {
    // sysfs cannot be mounted in a user namespace that does not own the network namespace; runc
    // binds the host's /sys instead, and so do we.
    if (step.type == "sysfs" && (error->err == EPERM || error->err == EACCES))
      return BindMount("/sys", AT_FDCWD, true, step.options.flags | MS_BIND | MS_REC, &step.options, target.get(), where, error);
    return false;
  }
  UniqueFd mnt(mount_fd);
  return ApplyPropagation(mnt.get(), step.options.propagation, where, error);
}

bool CreateDevice(const RootfsPlan& plan, const DevicePlan& device, int root_fd, ChildError* error) {
  const char* where = device.path.c_str();
  size_t slash = device.path.rfind('/');
  std::string parent = slash == 0 ? "/" : device.path.substr(0, slash);
  std::string name = device.path.substr(slash + 1);
  UniqueFd parent_fd(MkdirAllInRoot(root_fd, parent, 0755));
  if (!parent_fd) return Fail(error, errno, "create device directory \"%s\"", parent.c_str());
  UniqueFd dir(openat(parent_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return Fail(error, errno, "open device directory \"%s\"", parent.c_str());
  if (plan.bind_devices) {
    // mknod(2) is not allowed in a user namespace: bind the host's node, as runc does.
    UniqueFd target(PrepareTarget(root_fd, device.path, false, error));
    if (!target) return false;
    return BindMount(device.path.c_str(), AT_FDCWD, false, MS_BIND, nullptr, target.get(), where, error);
  }
  unlinkat(dir.get(), name.c_str(), 0);
  if (mknodat(dir.get(), name.c_str(), device.mode, device.rdev) != 0)
    return Fail(error, errno, "mknod \"%s\"", where);
  if (fchmodat(dir.get(), name.c_str(), device.mode & 07777, 0) != 0) return Fail(error, errno, "chmod \"%s\"", where);
  if (fchownat(dir.get(), name.c_str(), device.uid, device.gid, AT_SYMLINK_NOFOLLOW) != 0)
    return Fail(error, errno, "chown \"%s\"", where);
  return true;
}

bool CreateDevSymlinks(int root_fd, ChildError* error) {
  UniqueFd dev_path(OpenInRoot(root_fd, "/dev", O_PATH | O_DIRECTORY));
  if (!dev_path) return Fail(error, errno, "open \"/dev\" in the rootfs");
  UniqueFd dev(openat(dev_path.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dev) return Fail(error, errno, "open \"/dev\" in the rootfs");
  static constexpr const char* kLinks[][2] = {
      {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},         {"/proc/kcore", "core"},
  };
  for (const auto& link : kLinks) {
    if (symlinkat(link[0], dev.get(), link[1]) != 0 && errno != EEXIST)
      return Fail(error, errno, "symlink \"/dev/%s\" -> \"%s\"", link[1], link[0]);
  }
  return true;
}

}  // namespace

int OpenInRoot(int root_fd, const char* path, int flags, uint64_t extra_resolve) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra_resolve;
  return static_cast<int>(syscall(SYS_openat2, root_fd, path, &how, sizeof how));
}

int PrepareRoot(const RootfsPlan& plan, ChildError* error) {
  // Nothing we mount may propagate back to the host: everything becomes rslave (runc's default).
  // rootfsPropagation applies to the container's root after pivot_root: "shared" could not be
  // pivoted, "unbindable" could not be bound.
  if (mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
    Fail(error, errno, "make \"/\" rslave");
    return -1;
  }
  if (mount(plan.rootfs.c_str(), plan.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    Fail(error, errno, "bind rootfs \"%s\" onto itself", plan.rootfs.c_str());
    return -1;
  }
  int fd = open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) Fail(error, errno, "open rootfs \"%s\"", plan.rootfs.c_str());
  return fd;
}

bool MountAll(const RootfsPlan& plan, int root_fd, ChildError* error) {
  mode_t old_umask = umask(0);
  bool ok = true;
  for (const MountStep& step : plan.mounts)
    if (!(ok = MountOne(plan, step, root_fd, error))) break;
  if (ok) {
    for (const DevicePlan& device : plan.devices)
      if (!(ok = CreateDevice(plan, device, root_fd, error))) break;
  }
  if (ok && plan.make_default_devices) ok = CreateDevSymlinks(root_fd, error);
  umask(old_umask);
  return ok;
}

bool EnterRoot(const RootfsPlan& plan, int root_fd, ChildError* error) {
  UniqueFd new_root(open(plan.rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!new_root) return Fail(error, errno, "open rootfs \"%s\"", plan.rootfs.c_str());
  if (fchdir(new_root.get()) != 0) return Fail(error, errno, "chdir to rootfs \"%s\"", plan.rootfs.c_str());
  if (plan.no_pivot) {
    if (mount(plan.rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) != 0)
      return Fail(error, errno, "move rootfs \"%s\" to \"/\"", plan.rootfs.c_str());
    if (chroot(".") != 0) return Fail(error, errno, "chroot to rootfs \"%s\"", plan.rootfs.c_str());
    if (chdir("/") != 0) return Fail(error, errno, "chdir \"/\"");
    return true;
  }
  UniqueFd old_root(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!old_root) return Fail(error, errno, "open \"/\"");
  // pivot_root(".", ".") stacks the old root on top of the new one at "/" (pivot_root(2), NOTES);
  // it is then unmounted lazily without a directory for it inside the container.
  if (syscall(SYS_pivot_root, ".", ".") != 0) return Fail(error, errno, "pivot_root to \"%s\"", plan.rootfs.c_str());
  if (fchdir(old_root.get()) != 0) return Fail(error, errno, "fchdir to the old root");
  if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) return Fail(error, errno, "make the old root rslave");
  if (umount2(".", MNT_DETACH) != 0) return Fail(error, errno, "unmount the old root");
  if (chdir("/") != 0) return Fail(error, errno, "chdir \"/\"");
  return true;
}

bool FinishRootfs(const RootfsPlan& plan, ChildError* error) {
  UniqueFd root(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return Fail(error, errno, "open \"/\"");
  if (!plan.masked_paths.empty()) {
    // Files are masked by binding /dev/null over them. Check that it really is the null device
    // (char 1:3) and bind that very fd, so a container cannot swap in something else
    // (CVE-2025-31133).
    UniqueFd null(OpenInRoot(root.get(), "/dev/null", O_PATH, RESOLVE_NO_SYMLINKS));
    struct stat st;
    if (!null || fstat(null.get(), &st) != 0) return Fail(error, errno, "open \"/dev/null\" to mask paths");
    if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
      return Fail(error, EPERM, "\"/dev/null\" is not the null device (char 1:3); refusing to mask paths with it");
    for (const std::string& path : plan.masked_paths) {
      UniqueFd target(OpenInRoot(root.get(), path.c_str(), O_PATH | O_NOFOLLOW));
      if (!target) {
        if (errno == ENOENT) continue;
        return Fail(error, errno, "open masked path \"%s\"", path.c_str());
      }
      struct stat target_stat;
      if (fstat(target.get(), &target_stat) != 0) return Fail(error, errno, "stat masked path \"%s\"", path.c_str());
      bool ok = S_ISDIR(target_stat.st_mode)
                    ? MountFilesystem("tmpfs", "tmpfs", "", MS_RDONLY, target.get(), path.c_str(), nullptr, error)
                    : BindMount("", null.get(), false, MS_BIND, nullptr, target.get(), path.c_str(), error);
      if (!ok) return false;
    }
  }
  for (const std::string& path : plan.readonly_paths) {
    UniqueFd target(OpenInRoot(root.get(), path.c_str(), O_PATH | O_NOFOLLOW));
    if (!target) {
      if (errno == ENOENT) continue;
      return Fail(error, errno, "open read-only path \"%s\"", path.c_str());
    }
    // A recursive bind of the path onto itself, made read-only through and through before it is
    // attached, so nothing below it stays writable.
    MountOptions readonly_options;
    readonly_options.recursive_attr_set = MOUNT_ATTR_RDONLY;
    if (!BindMount("", target.get(), true, MS_BIND, &readonly_options, target.get(), path.c_str(), error)) return false;
  }
  if (plan.readonly) {
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (MountSetattr(AT_FDCWD, "/", 0, &attr) != 0) return Fail(error, errno, "make the rootfs read-only");
  }
  // The new root is a bind of the rootfs and took its propagation from wherever the rootfs lives;
  // rootfsPropagation applies to it now.
  if (plan.root_propagation && mount(nullptr, "/", nullptr, plan.root_propagation, nullptr) != 0)
    return Fail(error, errno, "set the propagation of the container's \"/\" (rootfsPropagation)");
  return true;
}

bool SetupConsole(const ProcessPlan& plan, bool bind_dev_console, ChildError* error) {
  UniqueFd root(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return Fail(error, errno, "open \"/\"");
  UniqueFd master(OpenInRoot(root.get(), "/dev/ptmx", O_RDWR | O_NOCTTY));
  if (!master) return Fail(error, errno, "open \"/dev/ptmx\" in the container");
  int unlock = 0;
  if (ioctl(master.get(), TIOCSPTLCK, &unlock) != 0) return Fail(error, errno, "unlock the pty");
  // TIOCGPTPEER opens the peer without a path lookup, so nothing in the container can redirect it.
  UniqueFd slave(ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return Fail(error, errno, "open the pty peer");
  unsigned pty_number = 0;
  ioctl(master.get(), TIOCGPTN, &pty_number);
  char pts_name[64];
  snprintf(pts_name, sizeof pts_name, "/dev/pts/%u", pty_number);
  if (plan.console_height || plan.console_width) {
    winsize size{static_cast<unsigned short>(plan.console_height), static_cast<unsigned short>(plan.console_width), 0, 0};
    ioctl(slave.get(), TIOCSWINSZ, &size);
  }
  if (bind_dev_console) {
    // /dev/console must be a regular file we bind the pty onto, checked through the fd
    // (CVE-2025-52565): never a symlink that could point at a host path.
    UniqueFd target(PrepareTarget(root.get(), "/dev/console", false, error));
    if (!target) return false;
    struct stat st;
    if (fstat(target.get(), &st) != 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)))
      return Fail(error, EPERM, "\"/dev/console\" is not a file or character device");
    if (!BindMount("", slave.get(), false, MS_BIND, nullptr, target.get(), "/dev/console", error)) return false;
  }
  if (!SendFd(plan.console_socket_fd, master.get(), pts_name).ok())
    return Fail(error, errno, "send the pty master to the console socket");
  close(plan.console_socket_fd);
  if (ioctl(slave.get(), TIOCSCTTY, 0) != 0) return Fail(error, errno, "make the pty the controlling terminal");
  for (int fd = 0; fd < 3; ++fd)
    if (dup2(slave.get(), fd) < 0) return Fail(error, errno, "dup2 the pty to fd %d", fd);
  return true;
}

}  // namespace liman::runtime
