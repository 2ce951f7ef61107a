// A task's bundle as containerd 1.6 lays it out (runtime/v2/bundle.go):
//   <state>/io.containerd.runtime.v2.task/<namespace>/<id>/   0700 (0710 + group of the remapped
//                                                             root for user-namespaced specs)
//     config.json   the OCI spec
//     rootfs/       where the shim mounts the rootfs mounts
//     work ->       <root>/io.containerd.runtime.v2.task/<namespace>/<id>, when a root is set
// plus what the shim adds (address, log FIFO, its own files). Parent directories are 0711 so
// that a remapped container root can still reach its bundle.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace liman::containerd::tasks {

inline constexpr std::string_view kRuntimePluginDir = "io.containerd.runtime.v2.task";

struct BundleRoots {
  std::string state;  // <containerd state>/io.containerd.runtime.v2.task
  std::string root;   // <containerd root>/io.containerd.runtime.v2.task, or empty: no work dirs
};

struct Bundle {
  std::string namespace_name;
  std::string id;
  std::string path;
};

// The bundle of (namespace, id) under `roots`, without touching the disk.
Bundle BundleAt(const BundleRoots& roots, std::string_view namespace_name, std::string_view id);

// Creates the bundle with `spec` as config.json. The id must be a containerd identifier
// (InvalidArgument); an existing bundle is AlreadyExists. On failure nothing is left behind.
absl::StatusOr<Bundle> CreateBundle(const BundleRoots& roots, std::string_view namespace_name, std::string_view id,
                                    std::string_view spec);

// Removes a bundle as containerd does: unmounts whatever is left on rootfs/, then renames the
// directory (and its work directory) to a hidden ".<id>" before deleting it, so that a crash
// midway never leaves a half-deleted bundle that looks like a task. A missing bundle is fine.
absl::Status DeleteBundle(const std::string& path);

}  // namespace liman::containerd::tasks
