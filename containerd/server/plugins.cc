#include "containerd/server/plugins.h"

#include <sys/utsname.h>

#include <string_view>

#include "common/file_util.h"

namespace liman::containerd::server {
namespace {

constexpr char kContentPlugin[] = "io.containerd.content.v1";
constexpr char kSnapshotPlugin[] = "io.containerd.snapshotter.v1";
constexpr char kMetadataPlugin[] = "io.containerd.metadata.v1";
constexpr char kDiffPlugin[] = "io.containerd.differ.v1";
constexpr char kEventPlugin[] = "io.containerd.event.v1";
constexpr char kRuntimePluginV2[] = "io.containerd.runtime.v2";
constexpr char kGcPlugin[] = "io.containerd.gc.v1";
constexpr char kGrpcPlugin[] = "io.containerd.grpc.v1";

// uname's machine names for the ones Go (and so OCI) spells differently.
PluginPlatform PlatformForMachine(std::string_view machine) {
  if (machine == "x86_64") return {"linux", "amd64", ""};
  if (machine == "aarch64") return {"linux", "arm64", "v8"};
  if (machine == "i386" || machine == "i686") return {"linux", "386", ""};
  if (machine == "armv7l") return {"linux", "arm", "v7"};
  if (machine == "armv6l") return {"linux", "arm", "v6"};
  if (machine == "ppc64le") return {"linux", "ppc64le", ""};
  if (machine == "s390x") return {"linux", "s390x", ""};
  if (machine == "riscv64") return {"linux", "riscv64", ""};
  return {"linux", std::string(machine), ""};
}

std::string PluginRoot(const std::string& root, std::string_view type, std::string_view id) {
  return JoinPath(root, std::string(type) + "." + std::string(id));
}

}  // namespace

PluginPlatform HostPlatform() {
  struct utsname name;
  if (uname(&name) != 0) return {"linux", "unknown", ""};
  return PlatformForMachine(name.machine);
}

std::vector<PluginInfo> BuiltinPlugins(const std::string& root) {
  const PluginPlatform host = HostPlatform();
  std::vector<PluginInfo> plugins = {
      {.type = kContentPlugin, .id = "content",
       .exports = {{"root", PluginRoot(root, kContentPlugin, "content")}}},
      {.type = kSnapshotPlugin, .id = "overlayfs", .platforms = {host},
       .exports = {{"root", PluginRoot(root, kSnapshotPlugin, "overlayfs")}}},
      // containerd's metadata plugin is "bolt" (BoltDB); ours keeps the same data in SQLite.
      {.type = kMetadataPlugin, .id = "sqlite", .requires_types = {kContentPlugin, kSnapshotPlugin}},
      {.type = kDiffPlugin, .id = "walking", .requires_types = {kMetadataPlugin}, .platforms = {host}},
      {.type = kEventPlugin, .id = "exchange"},
      {.type = kGcPlugin, .id = "scheduler", .requires_types = {kMetadataPlugin}},
      {.type = kRuntimePluginV2, .id = "task", .requires_types = {kEventPlugin, kMetadataPlugin},
       .platforms = {host}},
  };
  // The gRPC services, in containerd's order of registration.
  for (const char* service : {"containers", "content", "diff", "events", "images", "introspection", "leases",
                              "namespaces", "snapshots", "tasks", "version"}) {
    plugins.push_back({.type = kGrpcPlugin, .id = service});
  }
  return plugins;
}

}  // namespace liman::containerd::server
