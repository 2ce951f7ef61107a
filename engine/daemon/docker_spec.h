// The OCI runtime spec dockerd gives a container (moby daemon/oci_linux.go, oci/defaults.go):
// the process from the image config merged with the create request's Config, the container's
// hostname and its /etc/hosts, /etc/hostname and /etc/resolv.conf, binds and tmpfs mounts,
// namespaces for the network mode, resources and security options from HostConfig.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ctl/liman-ctr/image_config.h"
#include "nlohmann/json.hpp"

namespace liman::engine {

struct DockerSpecInputs {
  std::string id;
  std::string hostname;
  ctr::ImageConfig image;
  nlohmann::json config;       // the request's Config, as merged by MergeImageConfig
  nlohmann::json host_config;  // the request's HostConfig
  std::string cgroup_parent;   // "/liman": cgroupsPath is <parent>/<id>
  std::string etc_files_dir;   // holds hostname, hosts, resolv.conf (with --network container:, that one's)
  std::string netns_path;      // the bridge network's namespace, joined by path; empty: a new one
  std::string init_path;       // --init: the host's init binary (LookupInitPath); empty: no init
  // --ipc shareable, or container:NAME of a shareable (or host) one: the host directory bound at
  // /dev/shm (ShmPath, or the host's /dev/shm); empty: a tmpfs of the container's own.
  std::string shm_path;
};

// Docker's Config after create: Env is the image's with the request's on top, Cmd/Entrypoint,
// WorkingDir, User, Labels, StopSignal default from the image; Image is the name asked for.
nlohmann::json MergeImageConfig(const ctr::ImageConfig& image, const nlohmann::json& config);

// The process's command line: Entrypoint + Cmd. kInvalidArgument when both are empty.
absl::StatusOr<std::vector<std::string>> ContainerArgs(const nlohmann::json& merged_config);

// kInvalidArgument for a request Docker refuses (bad bind, unknown capability, bad user…).
absl::StatusOr<nlohmann::ordered_json> DockerSpec(const DockerSpecInputs& inputs);

// The HostConfig fields that choose a namespace: "" (its own), "host", "container:<name|id>"
// (not for UTS); IPC also "private", "shareable" and "none" (no /dev/shm).
struct NamespaceMode {
  const char* field;  // "PidMode"
  const char* type;   // the OCI namespace: "pid"
  const char* word;   // in moby's messages: "PID"
};
inline constexpr NamespaceMode kNamespaceModes[] = {
    {"PidMode", "pid", "PID"}, {"IpcMode", "ipc", "IPC"}, {"UTSMode", "uts", "UTS"}};
// The modes whose "container:<name|id>" joins that container's namespace at each start: those
// above, and NetworkMode (whose other values name networks, "host" and "none").
inline constexpr NamespaceMode kJoinableModes[] = {
    kNamespaceModes[0], kNamespaceModes[1], kNamespaceModes[2], {"NetworkMode", "network", "network"}};
// False for the network modes without endpoints of their own: "host", "none" and
// "container:<name|id>".
bool JoinsBridgeNetworks(const std::string& network_mode);
// moby's refusals (validateNetContainerMode) of what belongs to the shared network for
// --network container:NAME: a hostname, links, DNS servers, extra hosts, a MAC address, published
// or exposed ports. `config` is the create request's Config.
absl::Status CheckSharedNetworkOptions(const nlohmann::json& config, const nlohmann::json& host_config);

// The container a mode "container:<name|id>" (PidMode, IpcMode, NetworkMode) names; none for
// any other mode ("container:" alone names none).
std::optional<std::string> ModeContainer(const std::string& mode);
// kInvalidArgument "invalid PID mode: x" for a value moby refuses.
absl::Status CheckNamespaceMode(const NamespaceMode& mode, const std::string& value);

// moby's smallest memory limit.
inline constexpr int64_t kMinimumMemory = 6 << 20;

// HostConfig's resource fields (Memory, MemorySwap, MemoryReservation, CpuShares, NanoCpus,
// CpuQuota, CpuPeriod, CpusetCpus, CpusetMems, PidsLimit, BlkioWeight) as OCI LinuxResources;
// kInvalidArgument with moby's words for values it refuses.
absl::StatusOr<nlohmann::ordered_json> DockerResources(const nlohmann::json& host_config);

// The strings of a JSON string or array (other members are skipped; anything else: none).
std::vector<std::string> StringList(const nlohmann::json& value);

// True when a list of "NAME=value" entries sets `name`.
bool EnvSets(const std::vector<std::string>& env, std::string_view name);

// An OCI process's user (uid, gid, additionalGids) for a Docker user spec ("name", "uid:gid"…)
// and --group-add, looked up in the container's files under `root_fd`, and HOME unless the
// process's environment has one.
absl::Status CompleteProcessUser(int root_fd, std::string_view user, const std::vector<std::string>& group_add,
                                 nlohmann::ordered_json& process);

// CompleteProcessUser for spec.process from Config.User and HostConfig.GroupAdd.
absl::Status CompleteSpecUser(int root_fd, const nlohmann::json& config, const nlohmann::json& host_config,
                              nlohmann::ordered_json& spec);

// Every capability the kernel headers name, as "CAP_…" (for --privileged and --cap-add ALL).
std::vector<std::string> AllCapabilities();

// True when the host's kernel confines processes with AppArmor.
bool HostHasAppArmor();

// A boolean member of a request object; false when it is missing or of another type.
bool BoolField(const nlohmann::json& object, const char* key);

}  // namespace liman::engine
