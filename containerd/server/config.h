// liman-containerd's configuration: containerd's defaults moved under /var/lib/liman and
// /run/liman (so both daemons can run side by side), read from a containerd-style TOML file and
// overridden by command-line flags, as containerd does.
#pragma once

#include <optional>
#include <string>
#include <vector>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/logging.h"

namespace liman::containerd::server {

inline constexpr char kDefaultRoot[] = "/var/lib/liman/containerd";
inline constexpr char kDefaultState[] = "/run/liman/containerd";
inline constexpr char kDefaultGrpcAddress[] = "/run/liman/containerd/containerd.sock";

struct DaemonConfig {
  std::string root = kDefaultRoot;    // persistent data (content, snapshots, metadata)
  std::string state = kDefaultState;  // runtime state, gone after a reboot (bundles, fifos)
  std::string grpc_address = kDefaultGrpcAddress;
  std::string ttrpc_address;  // empty: TtrpcAddress() derives it
  std::string log_level = "info";
  // [liman] table, Liman's own keys:
  // sync_fs: flush each unpacked layer to disk (syncfs(2)) before its snapshot is committed.
  // Off by default, as in containerd and dockerd: a SIGKILL loses nothing either way (the page
  // cache survives the process); only a power cut can leave a committed snapshot incomplete.
  // Blobs in the content store are fsynced always.
  bool sync_fs = false;
  // insecure_registries: "host[:port]" pulled from over plain HTTP (loopback ones always are).
  std::vector<std::string> insecure_registries;
  // docker_config: a Docker-style config.json with registry credentials.
  std::string docker_config;

  // The socket shims publish events to: [ttrpc] address, or "<grpc address>.ttrpc" like
  // containerd when the config does not set it.
  std::string TtrpcAddress() const;
};

// What the command line said; set fields win over the config file.
struct DaemonFlags {
  std::optional<std::string> config_path;
  std::optional<std::string> root;
  std::optional<std::string> state;
  std::optional<std::string> grpc_address;
  std::optional<std::string> log_level;
};

// Applies the keys Liman understands from a containerd config (version 1 or 2): `root`,
// `state`, `[grpc] address`, `[ttrpc] address`, `[debug] level`, and Liman's `[liman]` table (`sync_fs`,
// `insecure_registries`, `docker_config`). Every other key (plugins,
// oom_score…) is ignored, as containerd ignores what no plugin asks for. kInvalidArgument, naming
// `source` and the position, for a syntax error or a key of the wrong type.
absl::Status ApplyConfigToml(std::string_view text, std::string_view source, DaemonConfig* config);

// Defaults, then the file named by --config (a missing file is fine, as for containerd), then
// the flags; the result is validated (absolute root and state that differ, a socket address, a
// known log level).
absl::StatusOr<DaemonConfig> LoadDaemonConfig(const DaemonFlags& flags);

// containerd's level names (logrus, any case): trace and debug → debug, info, warn/warning,
// error, fatal and panic → error.
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name);

}  // namespace liman::containerd::server
