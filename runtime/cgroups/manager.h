// One interface over cgroup v1, v2 and the hybrid layout (v1 controllers plus a v2 hierarchy
// holding whatever controllers were moved there, e.g. hugetlb on this machine). The runtime plans
// with this interface only; each controller lives in its own file under v1/ or v2/.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/cgroup_layout.h"  // Layout
#include "common/oci_spec.h"
#include "common/unique_fd.h"
#include "nlohmann/json.hpp"

namespace liman::cgroups {

enum class FreezerState { kThawed, kFreezing, kFrozen };

// What a container sees at /sys/fs/cgroup/<name>: used to mount `cgroup` type mounts.
struct Hierarchy {
  std::string name;         // mount point name under /sys/fs/cgroup: "memory", "cpu", "unified", "" (v2 alone)
  std::string fs_type;      // "cgroup" or "cgroup2"
  std::string options;      // mount data for cgroup v1: "memory", "name=systemd"
  std::string host_path;    // the container's cgroup directory on the host
};

// What a new process needs to enter the container's cgroup by itself, opened by the parent so
// that the child only writes (runtime/cgroup_entry.h does the child's part).
//
// Why by itself: moving a process by writing its pid to cgroup.procs (v1 and v2) takes the global
// cgroup_threadgroup_rwsem for writing, and percpu_down_write waits a whole RCU grace period
// when no writer went through lately (kernel/rcu/sync.c): 6-20 ms on this VM, the largest single
// cost of a `runc create` or `runc exec`, and while it waits it holds cgroup_mutex, stalling every
// cgroup mkdir on the host. A thread that writes "0" to a v1 `tasks` file moves only itself, and
// the kernel takes no such lock for that ("If we migrate a single thread ... we can skip the
// global lock", kernel/cgroup/cgroup.c, cgroup_procs_write_start): 0.02 ms. The process is
// single-threaded, so it moves whole. cgroup2 has no such file for a domain cgroup
// (cgroup.threads only moves threads inside a threaded subtree), so there the process is born in
// its cgroup: clone3(2) with CLONE_INTO_CGROUP, which takes no write lock either. Permission is
// checked against the credentials of whoever opened a cgroup file, not of the writer
// (cgroups(7), "Delegation containment"), so the writes also work from a new user namespace.
struct CgroupFile {
  std::string path;  // for error messages
  UniqueFd fd;       // O_WRONLY
};
struct SelfJoin {
  std::vector<CgroupFile> tasks_files;  // v1: each hierarchy's `tasks`; the process writes "0"
  UniqueFd cgroup2_dir;                 // v2, or the hybrid unified part: CLONE_INTO_CGROUP target
  CgroupFile cgroup2_procs;             // its cgroup.procs: "0" when clone3 could not place the child
};

struct MemoryStats {
  uint64_t usage = 0, max_usage = 0, limit = 0, failcnt = 0;
  // v1: memory+swap (memsw) figures; v2: swap plus memory, reported the same way (as runc does).
  uint64_t swap_usage = 0, swap_limit = 0;
  uint64_t swap_max_usage = 0, swap_failcnt = 0;
  uint64_t cache = 0, rss = 0;
  std::map<std::string, uint64_t> raw;  // memory.stat as read
};
struct CpuStats {
  uint64_t usage_total_ns = 0, usage_user_ns = 0, usage_kernel_ns = 0;
  std::vector<uint64_t> usage_per_cpu_ns;
  uint64_t throttling_periods = 0, throttled_periods = 0, throttled_time_ns = 0;
};
struct PidsStats {
  uint64_t current = 0;
  uint64_t limit = 0;  // 0: unlimited
};
struct BlkioEntry {
  uint64_t major = 0, minor = 0;
  std::string op;
  uint64_t value = 0;
};
struct HugetlbStats {
  uint64_t usage = 0, max_usage = 0, failcnt = 0;
};
struct Stats {
  MemoryStats memory;
  CpuStats cpu;
  PidsStats pids;
  std::vector<BlkioEntry> blkio_service_bytes, blkio_serviced;
  std::map<std::string, HugetlbStats> hugetlb;  // by page size, "2MB"
};

struct ManagerOptions {
  // linux.cgroupsPath: absolute paths are taken from each hierarchy's root, relative ones from
  // the cgroup of `relative_to_pid` (the caller, as runc does); empty means the container id.
  std::string cgroups_path;
  std::string container_id;
  std::string mount_root = "/sys/fs/cgroup";  // tests point this at a fixture directory
  pid_t relative_to_pid = 0;                  // 0: this process
  std::string proc_root = "/proc";            // fixture-able too
};

class Manager {
 public:
  virtual ~Manager() = default;

  virtual Layout layout() const = 0;
  // Makes the container's cgroup in every hierarchy (parents too). On v1 the cpuset directories
  // get their parent's cpus/mems; on v2 (and the hybrid unified part) the controllers are enabled
  // in every ancestor's cgroup.subtree_control. Call order for a new container:
  // Create, Apply, OpenSelfJoin (realtime CPU budgets must exist before an RT task joins).
  virtual absl::Status Create() = 0;
  // Opens what a process needs to move itself into the container's cgroup (see SelfJoin).
  virtual absl::StatusOr<SelfJoin> OpenSelfJoin() const = 0;
  // Writes every resource the spec sets; a knob the kernel lacks is an error naming it,
  // except where the spec allows a runtime to ignore it (see each controller). Device rules are
  // applied on top of "deny all" (runc's semantics, see device_rules.h); an empty list leaves the
  // device policy alone. On v2 they become an eBPF program attached to the cgroup.
  virtual absl::Status Apply(const oci::Resources& resources) = 0;
  virtual absl::Status Freeze() = 0;
  virtual absl::Status Thaw() = 0;
  virtual absl::StatusOr<FreezerState> GetFreezerState() = 0;
  // Every pid in the container's cgroup and its descendants.
  virtual absl::StatusOr<std::vector<pid_t>> Pids() = 0;
  virtual absl::StatusOr<Stats> GetStats() = 0;
  // Removes the container's cgroup directories (children first). Retries while the kernel
  // still reports EBUSY for a short while after the last process exits. Parent directories are
  // removed only if Create made them and nothing else uses them now.
  virtual absl::Status Destroy() = 0;
  // An fd the caller owns (close it), or -1 when the memory controller is not available.
  //  - v1 / hybrid: an eventfd registered through cgroup.event_control on memory.oom_control; it
  //    becomes readable (read 8 bytes: the event count) on each OOM in the group, and also once
  //    when the cgroup is removed, so check the cgroup still exists before reporting an OOM.
  //  - v2: an O_RDONLY fd on memory.events. poll() it for POLLPRI (the kernel notifies on any
  //    counter change), then pread() it from offset 0 and compare the "oom_kill" count with the
  //    previous reading.
  virtual absl::StatusOr<int> OpenOomNotifier() = 0;
  virtual std::vector<Hierarchy> Hierarchies() const = 0;
  // Enough to rebuild the manager later (kept in the runtime's state.json).
  virtual nlohmann::json Save() const = 0;
};

// From <proc_root>/self/mountinfo: kUnified when mount_root itself is cgroup2, kHybrid when v1
// hierarchies sit below it next to a cgroup2 at <mount_root>/unified, kLegacy with v1 only.
absl::StatusOr<Layout> DetectLayout(const std::string& mount_root = "/sys/fs/cgroup");
absl::StatusOr<Layout> DetectLayout(const std::string& mount_root, const std::string& proc_root);
// "legacy", "hybrid", "unified".
const char* LayoutName(Layout layout);
// Resolves the container's directory in every hierarchy (nothing is created until Create()).
// Errors: no cgroup mounted, a cgroupsPath with ".." escaping its base or naming the base itself.
absl::StatusOr<std::unique_ptr<Manager>> NewManager(const ManagerOptions& options);
// Rebuilds a manager from Save()'s JSON without looking at mountinfo again.
absl::StatusOr<std::unique_ptr<Manager>> LoadManager(const nlohmann::json& saved);

// Turns stats into the `events --stats` JSON runc prints ("data" of a stats event): the cpu,
// memory, pids, blkio and hugetlb members of runc's types.Stats with its omitempty rules
// (cpuset, intel_rdt and network_interfaces are not collected and left out).
nlohmann::json StatsToJson(const Stats& stats);

}  // namespace liman::cgroups
