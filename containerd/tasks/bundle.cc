#include "containerd/tasks/bundle.h"

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "common/mount.h"
#include "common/status.h"
#include "containerd/events/identifiers.h"
#include "fmt/format.h"

namespace liman::containerd::tasks {
namespace {

// The host gid that root inside a user-namespaced container maps to (linux.gidMappings entry
// with containerID 0), or 0 without a mapping.
absl::StatusOr<uint32_t> RemappedRootGid(std::string_view spec) {
  nlohmann::json parsed = nlohmann::json::parse(spec, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object())
    return absl::InvalidArgumentError("parse OCI spec: not a JSON object");
  auto linux_it = parsed.find("linux");
  if (linux_it == parsed.end() || !linux_it->is_object()) return 0;
  auto mappings = linux_it->find("gidMappings");
  if (mappings == linux_it->end() || !mappings->is_array()) return 0;
  for (const nlohmann::json& mapping : *mappings) {
    if (!mapping.is_object()) continue;
    auto container_id = mapping.find("containerID");
    auto host_id = mapping.find("hostID");
    if (container_id != mapping.end() && container_id->is_number_unsigned() && container_id->get<uint64_t>() == 0 &&
        host_id != mapping.end() && host_id->is_number_unsigned())
      return static_cast<uint32_t>(host_id->get<uint64_t>());
  }
  return 0;
}

std::string DirName(const std::string& path) { return path.substr(0, path.rfind('/')); }

// Renames `path` to ".<name>" beside it, then removes that: the bundle disappears in one step.
absl::Status AtomicDelete(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string hidden = path.substr(0, slash + 1) + "." + path.substr(slash + 1);
  if (rename(path.c_str(), hidden.c_str()) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoError(fmt::format("rename {} to {}", Quote(path), Quote(hidden)));
  }
  return RemoveAll(hidden);
}

}  // namespace

Bundle BundleAt(const BundleRoots& roots, std::string_view namespace_name, std::string_view id) {
  return Bundle{std::string(namespace_name), std::string(id),
                JoinPath(JoinPath(roots.state, namespace_name), id)};
}

absl::StatusOr<Bundle> CreateBundle(const BundleRoots& roots, std::string_view namespace_name, std::string_view id,
                                    std::string_view spec) {
  if (absl::Status status = events::ValidateIdentifier(id); !status.ok())
    return Annotate(status, fmt::format("invalid task id {}", Quote(id)));
  if (absl::Status status = events::ValidateIdentifier(namespace_name); !status.ok())
    return Annotate(status, fmt::format("invalid namespace {}", Quote(namespace_name)));
  LIMAN_ASSIGN_OR_RETURN(uint32_t remapped_gid, RemappedRootGid(spec));

  Bundle bundle = BundleAt(roots, namespace_name, id);
  LIMAN_RETURN_IF_ERROR(MkdirAll(DirName(bundle.path), 0711));
  if (mkdir(bundle.path.c_str(), 0700) != 0) {
    if (errno == EEXIST)
      return absl::AlreadyExistsError(fmt::format("bundle {} already exists", Quote(bundle.path)));
    return ErrnoError(fmt::format("mkdir {}", Quote(bundle.path)));
  }
  auto fail = [&bundle](absl::Status status) {
    (void)DeleteBundle(bundle.path);
    return Annotate(status, fmt::format("create bundle {}", Quote(bundle.path)));
  };
  // mkdir(2) applies the umask: set the modes we mean.
  if (chmod(bundle.path.c_str(), 0700) != 0) return fail(ErrnoError(fmt::format("chmod {}", Quote(bundle.path))));
  if (remapped_gid != 0) {
    if (chown(bundle.path.c_str(), static_cast<uid_t>(-1), remapped_gid) != 0)
      return fail(ErrnoError(fmt::format("chown {}", Quote(bundle.path))));
    if (chmod(bundle.path.c_str(), 0710) != 0) return fail(ErrnoError(fmt::format("chmod {}", Quote(bundle.path))));
  }
  std::string rootfs = JoinPath(bundle.path, "rootfs");
  if (mkdir(rootfs.c_str(), 0711) != 0 || chmod(rootfs.c_str(), 0711) != 0)
    return fail(ErrnoError(fmt::format("mkdir {}", Quote(rootfs))));
  if (!roots.root.empty()) {
    std::string work = JoinPath(JoinPath(roots.root, namespace_name), id);
    if (absl::Status status = MkdirAll(DirName(work), 0711); !status.ok()) return fail(status);
    // A work directory left by an earlier task of the same id starts over empty.
    if (absl::Status status = RemoveAll(work); !status.ok()) return fail(status);
    if (mkdir(work.c_str(), 0711) != 0) return fail(ErrnoError(fmt::format("mkdir {}", Quote(work))));
    std::string link = JoinPath(bundle.path, "work");
    if (symlink(work.c_str(), link.c_str()) != 0)
      return fail(ErrnoError(fmt::format("symlink {} to {}", Quote(link), Quote(work))));
  }
  if (absl::Status status = ReplaceFile(JoinPath(bundle.path, "config.json"), spec, 0644); !status.ok())
    return fail(status);
  return bundle;
}

absl::Status DeleteBundle(const std::string& path) {
  std::string rootfs = JoinPath(path, "rootfs");
  if (PathExists(rootfs)) {
    LIMAN_RETURN_IF_ERROR(Annotate(UnmountAll(rootfs), fmt::format("unmount rootfs {}", Quote(rootfs))));
  }
  auto work = ReadLink(JoinPath(path, "work"));
  absl::Status status = AtomicDelete(path);
  if (work.ok() && !work->empty()) {
    absl::Status work_status = AtomicDelete(*work);
    if (status.ok()) status = work_status;
  }
  return status;
}

}  // namespace liman::containerd::tasks

