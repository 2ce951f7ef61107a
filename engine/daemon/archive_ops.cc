// docker cp: GET, HEAD and PUT /containers/{id}/archive. A running container's files are seen
// through its init's root (/proc/<pid>/root: its root filesystem with its volumes and mounts);
// a stopped one's writable snapshot is mounted for the call with its volumes and binds, its
// lifecycle held so that it cannot start meanwhile. Every path resolves inside that root (openat2
// RESOLVE_IN_ROOT), so a symlink in the container cannot lead a copy out of it.
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_util.h"
#include "common/mount_api.h"
#include "common/status.h"
#include "common/temp_mount.h"
#include "containerd/archive/apply.h"
#include "containerd/archive/byte_source.h"
#include "containerd/archive/diff.h"
#include "containerd/archive/root_dir.h"
#include "containerd/client/proto_convert.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "ctl/liman-ctr/run.h"
#include "engine/daemon/copy_path.h"
#include "engine/daemon/daemon.h"
#include "engine/daemon/process_root.h"
#include "fmt/format.h"

namespace liman::engine {

namespace snapshots = ::containerd::services::snapshots::v1;
namespace archive = containerd::archive;
using nlohmann::json;

// Members go in reverse: the root's fd, then the mount, then the lock.
struct Daemon::ContainerFiles {
  std::string ref;  // as the client named the container, for messages
  bool read_only_rootfs = false;  // --read-only: copies go only into its volumes and mounts
  // Stopped: the lifecycle lock that keeps the container from starting, and the snapshot's mount.
  std::unique_lock<std::mutex> lifecycle;
  std::unique_ptr<TempMount> mount;
  UniqueFd root;
};

namespace {

// A volume or bind of a stopped container, as its start would mount it.
struct BindMount {
  std::string source;
  std::string destination;
  bool read_only = false;
};

// `mount.source` bound at its destination inside the mounted snapshot (resolved in the root), the
// new mount API's way: a clone of the source tree, made read-only before it is attached
// (open_tree(2), mount_setattr(2), move_mount(2)). A missing destination is made first, a
// directory or an empty file like its source, as the start (and moby's mountVolumes) would.
absl::Status BindInto(int root_fd, const BindMount& mount) {
  struct stat source;
  if (stat(mount.source.c_str(), &source) != 0) return ErrnoError(fmt::format("stat {}", Quote(mount.source)));
  CopyPath destination = ParseCopyPath(mount.destination);
  std::vector<archive::DirTimes> unused_times;
  archive::ParentDirs dirs(root_fd, {}, &unused_times);
  if (S_ISDIR(source.st_mode)) {
    LIMAN_RETURN_IF_ERROR(dirs.Get(std::string_view(destination.absolute).substr(1), /*create=*/true).status());
  } else {
    LIMAN_ASSIGN_OR_RETURN(int parent, dirs.Get(std::string_view(destination.parent).substr(1), /*create=*/true));
    UniqueFd file(openat(parent, destination.name.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!file && errno != EEXIST) return ErrnoError(fmt::format("create {}", Quote(mount.destination)));
  }
  LIMAN_ASSIGN_OR_RETURN(UniqueFd target, OpenInRoot(root_fd, mount.destination, O_PATH));
  UniqueFd tree(OpenTree(AT_FDCWD, mount.source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
  if (!tree) return ErrnoError(fmt::format("open_tree {}", Quote(mount.source)));
  if (mount.read_only) {
    mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (MountSetattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) != 0)
      return ErrnoError(fmt::format("make the bind of {} read-only", Quote(mount.source)));
  }
  if (MoveMount(tree.get(), target.get()) != 0)
    return ErrnoError(fmt::format("bind {} at {}", Quote(mount.source), Quote(mount.destination)));
  return absl::OkStatus();
}

absl::Status NotFoundIn(const std::string& path, const std::string& ref) {
  return absl::NotFoundError(fmt::format("Could not find the file {} in container {}", path, ref));
}

// The entry `path` names: the directory it is in (resolved in the root) and its name there.
struct Located {
  UniqueFd dir;
  std::string name;
  struct stat st;
};

absl::StatusOr<Located> Locate(int root_fd, const CopyPath& path, const std::string& shown, const std::string& ref) {
  Located found;
  absl::StatusOr<UniqueFd> dir = path.follow ? OpenInRoot(root_fd, path.absolute, O_PATH | O_DIRECTORY)
                                             : OpenInRoot(root_fd, path.parent, O_PATH | O_DIRECTORY);
  if (!dir.ok()) {
    std::optional<int> err = StatusErrno(dir.status());
    if (err == ENOENT) return NotFoundIn(shown, ref);
    if (err == ENOTDIR) return absl::InvalidArgumentError(fmt::format("{}: not a directory", shown));
    return dir.status();
  }
  found.dir = *std::move(dir);
  found.name = path.follow ? "." : path.name;
  if (fstatat(found.dir.get(), found.name.c_str(), &found.st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return NotFoundIn(shown, ref);
    return ErrnoError(fmt::format("lstat {}", Quote(shown)));
  }
  return found;
}

// The path of `fd` in the container: the magic link names the file from our root, and the
// container's root is cut off its front (`root_path`, where its snapshot is mounted; "" for a
// running container, whose own mounts are outside our namespace: the kernel names those from the
// container's root).
absl::StatusOr<std::string> PathInContainer(int fd, const std::string& root_path) {
  LIMAN_ASSIGN_OR_RETURN(std::string path, ReadLink(fmt::format("/proc/self/fd/{}", fd)));
  if (!root_path.empty() && path.starts_with(root_path)) path = path.substr(root_path.size());
  return path.empty() ? "/" : path;
}

// Where the symlink `path` leads, as a path in the container, whether or not it exists (moby's
// StatPath, with FollowSymlinkInScope): each link is read and its target resolved inside the root.
absl::StatusOr<std::string> LinkTarget(int root_fd, const std::string& root_path, std::string path) {
  constexpr int kMaxLinks = 255;  // as FollowSymlinkInScope
  for (int links = 0; links < kMaxLinks; ++links) {
    CopyPath parsed = ParseCopyPath(path);
    absl::StatusOr<UniqueFd> dir = OpenInRoot(root_fd, parsed.parent, O_PATH | O_DIRECTORY);
    // A directory on the way that is not there: the rest of the path stays as written.
    if (!dir.ok() && StatusErrno(dir.status()) == ENOENT) return parsed.absolute;
    LIMAN_RETURN_IF_ERROR(dir.status());
    LIMAN_ASSIGN_OR_RETURN(std::string dir_path, PathInContainer(dir->get(), root_path));
    std::string joined = JoinPath(dir_path, parsed.name);
    char target[PATH_MAX];
    ssize_t n = readlinkat(dir->get(), parsed.name.c_str(), target, sizeof target - 1);
    if (n < 0) {
      if (errno == EINVAL || errno == ENOENT) return joined;  // not a link (any more), or nothing there
      return ErrnoError(fmt::format("readlink {}", Quote(joined)));
    }
    std::string_view link(target, static_cast<size_t>(n));
    path = link.starts_with('/') ? std::string(link) : JoinPath(dir_path, link);
  }
  return absl::InvalidArgumentError(fmt::format("{}: too many levels of symbolic links", path));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Daemon::ContainerFiles>> Daemon::OpenContainerFiles(const std::string& ref) {
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(ref));
  auto files = std::make_unique<ContainerFiles>();
  files->ref = ref;
  {
    std::lock_guard lock(mu_);
    files->read_only_rootfs = container->record["HostConfig"].value("ReadonlyRootfs", false);
  }
  auto running_pid = [&]() -> pid_t {
    std::lock_guard lock(mu_);
    if (!container->Running()) return 0;
    return static_cast<pid_t>(container->record["State"].value("Pid", int64_t{0}));
  };
  if (pid_t pid = running_pid(); pid > 0) {
    absl::StatusOr<UniqueFd> root = OpenProcessRoot(pid);
    if (root.ok() && running_pid() == pid) {
      files->root = *std::move(root);
      return files;
    }
  }
  // Not running (or it just stopped): its snapshot, mounted while the container cannot start,
  // with its volumes and binds.
  files->lifecycle = std::unique_lock(container->lifecycle);
  std::vector<BindMount> binds;
  {
    std::lock_guard lock(mu_);
    if (container->removed) return absl::NotFoundError(fmt::format("No such container: {}", ref));
    if (container->Running())
      return absl::UnavailableError(fmt::format("container {} started while its files were opened: try again", ref));
    for (const json& mount : container->record.value("Mounts", json::array()))
      binds.push_back({mount.value("Source", ""), mount.value("Destination", ""), !mount.value("RW", true)});
    for (const json& mount : container->record["HostConfig"].value("Mounts", json::array()))
      if (mount.is_object() && mount.value("Type", "") == "bind")
        binds.push_back({mount.value("Source", ""), mount.value("Target", ""), mount.value("ReadOnly", false)});
  }
  snapshots::MountsRequest request;
  request.set_snapshotter(ctr::kDefaultSnapshotter);
  request.set_key(container->id);
  snapshots::MountsResponse mounts;
  auto context = client_->Context();
  grpc::Status status = client_->Snapshots().Mounts(context.get(), request, &mounts);
  if (!status.ok()) return ctr::CallError(status, fmt::format("mounts of the snapshot of container {}", ref));
  std::vector<MountDescriptor> rootfs = containerd::client::MountsFromProto(mounts.mounts());
  // Writable, as Docker mounts it for a copy: missing mount points are made, as at a start.
  LIMAN_ASSIGN_OR_RETURN(files->mount, TempMount::Mount(rootfs, JoinPath(options_.exec_root, "mounts")));
  files->root.reset(open(files->mount->dir().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!files->root) return ErrnoError(fmt::format("open {}", Quote(files->mount->dir())));
  // The snapshot's lazy unmount (TempMount) takes these along.
  for (const BindMount& bind : binds)
    if (!bind.source.empty() && !bind.destination.empty()) LIMAN_RETURN_IF_ERROR(BindInto(files->root.get(), bind));
  return files;
}

absl::Status Daemon::InContainerFiles(const std::string& ref, const std::function<absl::Status(int root_fd)>& body) {
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContainerFiles> files, OpenContainerFiles(ref));
  return body(files->root.get());
}

absl::StatusOr<json> Daemon::StatContainerPath(const std::string& ref, const std::string& path) {
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContainerFiles> files, OpenContainerFiles(ref));
  CopyPath parsed = ParseCopyPath(path);
  LIMAN_ASSIGN_OR_RETURN(Located found, Locate(files->root.get(), parsed, path, ref));
  std::string link_target;
  if (S_ISLNK(found.st.st_mode)) {
    LIMAN_ASSIGN_OR_RETURN(link_target,
                           LinkTarget(files->root.get(), files->mount ? files->mount->dir() : "", parsed.absolute));
  }
  return CopyPathStat(parsed.base, found.st, link_target);
}

absl::Status Daemon::ArchiveContainerPath(const std::string& ref, const std::string& path,
                                          const std::function<absl::Status(const json&)>& on_stat,
                                          const std::function<absl::Status(std::string_view)>& sink) {
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContainerFiles> files, OpenContainerFiles(ref));
  CopyPath parsed = ParseCopyPath(path);
  LIMAN_ASSIGN_OR_RETURN(Located found, Locate(files->root.get(), parsed, path, ref));
  LIMAN_RETURN_IF_ERROR(on_stat(CopyPathStat(parsed.base, found.st, "")));
  // The top entry is named as the path's last element ("." for a directory's contents).
  std::string entry_name = parsed.base == "/" ? "." : parsed.base;
  return archive::WriteEntryTar(found.dir.get(), found.name, entry_name, sink);
}

absl::Status Daemon::ExtractToContainer(const std::string& ref, const std::string& path, bool copy_uid_gid,
                                        bool no_overwrite_dir_non_dir,
                                        const std::function<absl::StatusOr<std::string_view>()>& source) {
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContainerFiles> files, OpenContainerFiles(ref));
  // The extraction point: the whole path resolved, a directory (moby: "extraction point is not a
  // directory").
  CopyPath parsed = ParseCopyPath(path);
  absl::StatusOr<UniqueFd> dir = OpenInRoot(files->root.get(), parsed.absolute, O_PATH);
  if (!dir.ok()) {
    if (StatusErrno(dir.status()) == ENOENT) return NotFoundIn(path, ref);
    return dir.status();
  }
  struct stat st;
  if (fstat(dir->get(), &st) != 0) return ErrnoError(fmt::format("stat {}", Quote(path)));
  if (!S_ISDIR(st.st_mode)) return absl::InvalidArgumentError("extraction point is not a directory");
  if (files->read_only_rootfs) {
    // A volume, bind or tmpfs is a mount of its own: another device than the root filesystem's.
    // Docker answers this with a plain error (500).
    struct stat root_st;
    if (fstat(files->root.get(), &root_st) != 0) return ErrnoError("stat the container's root");
    if (st.st_dev == root_st.st_dev) return absl::InternalError("container rootfs is marked read-only");
  }
  archive::ApplyOptions options;
  options.overlay_whiteouts = false;
  options.whiteouts = false;
  options.read_ahead = false;
  options.no_overwrite_dir_non_dir = no_overwrite_dir_non_dir;
  // Without -a the files belong to the container's root user, whatever the archive says.
  if (!copy_uid_gid) options.owner = std::make_pair(uid_t{0}, gid_t{0});
  archive::PieceByteSource body(source);
  absl::StatusOr<archive::ApplyResult> applied =
      archive::ApplyLayer(body, archive::Compression::kNone, fmt::format("/proc/self/fd/{}", dir->get()), options);
  // moby's unpacking errors are plain ones (500), whatever the cause.
  if (!applied.ok())
    return absl::InternalError(fmt::format("copy into {} of container {}: {}", Quote(path), ref, applied.status().message()));
  return absl::OkStatus();
}

}  // namespace liman::engine
