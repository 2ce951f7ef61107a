// Everything the container's first processes need, worked out in the parent from config.json
// before any fork: paths resolved, options parsed, BPF compiled, argv/envp built. The children
// only read this (sandbox2's "plan in the parent, apply in the child").
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/oci_spec.h"
#include "common/unique_fd.h"
#include "runtime/capabilities.h"
#include "runtime/cgroups/manager.h"
#include "common/mount_options.h"
#include "runtime/seccomp.h"

namespace liman::runtime {

// A namespace to join: the fd was opened from its path in the parent, so a bad path fails early.
struct NamespaceJoin {
  int clone_flag = 0;
  std::string path;
  UniqueFd fd;
};

struct NamespacePlan {
  std::vector<NamespaceJoin> joins;  // the user namespace first, if any
  bool new_user = false;
  int unshare_flags = 0;             // CLONE_NEW* other than CLONE_NEWUSER
  std::string uid_map, gid_map;      // written by the parent for a new user namespace
  std::string timens_offsets;        // written by stage 1 for a new time namespace
  bool has_flag(int flag) const;
};

struct MountStep {
  std::string destination;  // inside the container, cleaned, absolute
  std::string type;
  std::string source;       // for binds: an absolute host path
  MountOptions options;
  bool source_is_dir = true;  // what to create at the destination for a bind
  bool cgroup = false;        // "cgroup"/"cgroup2": expanded per hierarchy in the child
};

struct DevicePlan {
  std::string path;  // inside the container
  mode_t mode = 0;   // S_IFCHR/S_IFBLK/S_IFIFO | permissions
  dev_t rdev = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct RootfsPlan {
  std::string rootfs;  // absolute host path
  bool readonly = false;
  unsigned long root_propagation = 0;  // MS_* from rootfsPropagation, 0: rslave (runc's default)
  std::vector<MountStep> mounts;
  bool make_default_devices = false;   // the spec mounts a fresh /dev
  std::vector<DevicePlan> devices;     // default devices (if make_default_devices) + linux.devices
  bool bind_devices = false;           // in a user namespace device nodes cannot be created: bind them
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::vector<cgroups::Hierarchy> cgroup_hierarchies;
  bool cgroup_namespace = false;
  bool no_pivot = false;
  bool mount_namespace = true;  // without one nothing is mounted (it would land on the host): chroot only
};

struct RlimitPlan {
  int resource = 0;
  rlimit limit{};
};

struct ProcessPlan {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;
  bool has_umask = false;
  mode_t umask = 022;
  std::vector<RlimitPlan> rlimits;
  bool no_new_privileges = false;
  bool has_oom_score_adj = false;
  int oom_score_adj = 0;
  CapabilityPlan capabilities;
  bool has_seccomp = false;
  SeccompProgram seccomp;
  std::string seccomp_listener_path;
  std::string apparmor_profile;
  std::string selinux_label;
  bool terminal = false;
  int console_socket_fd = -1;  // connected in the parent
  unsigned console_height = 0, console_width = 0;
  int preserve_fds = 0;
  bool has_personality = false;
  unsigned long personality = 0;
  bool has_io_priority = false;
  int io_priority = 0;  // IOPRIO_PRIO_VALUE(class, data)
  bool has_scheduler = false;
  oci::Scheduler scheduler;
  bool setsid = true;
};

struct ContainerPlan {
  std::string id;
  std::string bundle;
  bool is_exec = false;  // joining a running container: no rootfs, no hooks, no exec fifo
  // Who enters the container's v1 cgroups (by itself, runtime/cgroup_entry.h): stage 1, before it
  // makes or joins a cgroup namespace, which must be rooted there, and for exec; otherwise the
  // init (stage 2), so that stage 1's own pages stay charged to the runtime's memory cgroup.
  // Stage 1 is born in the cgroup2 one (ForkIntoCgroup) either way.
  bool join_cgroup_first = true;
  cgroups::SelfJoin cgroup_join;  // opened by the parent once the cgroup exists
  NamespacePlan namespaces;
  RootfsPlan rootfs;
  ProcessPlan process;
  std::string hostname;
  std::string domainname;
  bool set_hostname = false, set_domainname = false;
  std::vector<std::pair<std::string, std::string>> sysctl;  // /proc/sys relative path, value
  int exec_fifo_fd = -1;  // opened O_RDONLY|O_NONBLOCK by the parent: no permission check in the child
  std::string keyring_name;  // non-empty: join a new session keyring of that name (no --no-new-keyring)
  std::vector<oci::Hook> create_container_hooks;
  std::vector<oci::Hook> start_container_hooks;
};

struct PlanOptions {
  std::string id;
  std::string bundle;            // absolute
  std::string console_socket;    // --console-socket
  int preserve_fds = 0;
  bool no_pivot = false;
  bool no_new_keyring = false;
  std::vector<cgroups::Hierarchy> cgroup_hierarchies;
  std::string seccomp_cache_dir;  // SeccompCache; empty: compile every time
};

// Validates config.json as far as it can be checked without side effects and builds the plan.
// Impossible requests (an unmapped uid, an overflowing id range, a namespace path of the wrong
// type, a device cgroup rule on a kernel that cannot enforce it…) are refused here.
absl::StatusOr<ContainerPlan> PlanContainer(const oci::Spec& spec, const PlanOptions& options);

// linux.resources plus what every container needs whatever its device rules say: mknod of any
// node, the default devices, /dev/console, /dev/pts/*, /dev/ptmx, /dev/net/tun, and the
// devices of linux.devices (runc's AllowedDevices).
oci::Resources EffectiveResources(const oci::Spec& spec);

// The process half alone, for `exec` (namespaces are planned by the caller from the init's).
absl::StatusOr<ProcessPlan> PlanProcess(const oci::Process& process, const oci::Spec& spec,
                                        const PlanOptions& options);

// "net" -> CLONE_NEWNET, for the spec's type names ("network", "mount"…); 0 if unknown.
int NamespaceCloneFlag(const std::string& spec_type);
// The /proc/<pid>/ns/<name> entry for a spec type ("network" -> "net").
const char* NamespaceProcName(const std::string& spec_type);

}  // namespace liman::runtime
