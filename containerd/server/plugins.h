// The daemon's plugins as containerd's introspection service lists them (`ctr plugins ls`).
// Liman is not built from plugins; this is a fixed description of its parts under containerd's
// plugin types and ids, so clients that look for a capability (a snapshotter, the v2 runtime,
// a gRPC service) find it where containerd has it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace liman::containerd::server {

struct PluginPlatform {
  std::string os;
  std::string architecture;
  std::string variant;
};

struct PluginInfo {
  std::string type;  // "io.containerd.grpc.v1"
  std::string id;    // "content"
  std::vector<std::string> requires_types;  // plugin types it depends on
  std::vector<PluginPlatform> platforms;
  std::map<std::string, std::string> exports;
  std::vector<std::string> capabilities;
  absl::Status init_error;  // not ok: the plugin failed to load
};

// The platform this daemon runs containers for, in OCI terms (linux/amd64, linux/arm64/v8…).
PluginPlatform HostPlatform();

// What liman-containerd is made of: the content store, the overlayfs snapshotter, the metadata
// store, the walking differ, the event exchange, the v2 runtime, garbage collection and each
// gRPC service. `root` is the daemon's --root (plugins export their directory under it, named
// <type>.<id> as containerd names them).
std::vector<PluginInfo> BuiltinPlugins(const std::string& root);

}  // namespace liman::containerd::server
