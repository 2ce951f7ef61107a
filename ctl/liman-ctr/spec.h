// The OCI runtime spec `run` gives a container: containerd 1.6's oci.WithDefaultSpec and
// WithDefaultUnixDevices (default mounts, capabilities, masked and read-only paths, the
// RLIMIT_NOFILE limit, namespaces, device rules), then what ctr run applies on top, in ctr's
// order: --env, the image config (Env, Entrypoint+Cmd, WorkingDir, User), the command given,
// --cwd, -t. Fields are emitted in the order Go's runtime-spec structs marshal them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ctl/liman-ctr/image_config.h"
#include "nlohmann/json.hpp"

namespace liman::ctr {

inline constexpr char kSpecTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
// The runtime-spec version containerd 1.6 writes.
inline constexpr char kSpecVersion[] = "1.0.2-dev";

struct RunSpecOptions {
  std::string namespace_name;
  std::string id;
  std::vector<std::string> env;   // --env KEY=VALUE (KEY alone unsets it)
  std::vector<std::string> args;  // the command given; empty: the image's Entrypoint + Cmd
  std::string cwd;                // --cwd; empty: the image's WorkingDir or "/"
  bool terminal = false;          // -t
  std::string cgroup;             // --cgroup; empty: /<namespace>/<id>
};

// containerd's replaceOrAppendEnvValues: each override "K=V" replaces K in `defaults` or is
// appended; "K" alone removes K.
std::vector<std::string> MergeEnv(const std::vector<std::string>& defaults,
                                  const std::vector<std::string>& overrides);

// containerd's populateDefaultUnixSpec + WithDefaultUnixDevices, for a container `id` in a
// namespace (cgroupsPath /<namespace>/<id>).
nlohmann::ordered_json DefaultSpec(const std::string& namespace_name, const std::string& id);

// The spec of `ctr run`. kInvalidArgument for a user the config names that needs the image's
// /etc/passwd to resolve (only numeric users and "root" are resolved here).
absl::StatusOr<nlohmann::ordered_json> RunSpec(const ImageConfig& image, const RunSpecOptions& options);

// The uid and gid of an image config's User: "uid", "uid:gid", "root"; names other than root
// are kInvalidArgument (they need the rootfs's /etc/passwd and /etc/group).
absl::StatusOr<std::pair<uint32_t, uint32_t>> ResolveNumericUser(const std::string& user);

}  // namespace liman::ctr
