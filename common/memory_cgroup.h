// Finding a process's memory cgroup from /proc: the cgroup hierarchies mounted (mountinfo) and
// the process's place in them (/proc/<pid>/cgroup). Used by the shim's OOM watch and by the
// cgroup-migration warm-up of every daemon that starts containers.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/cgroup_layout.h"

namespace liman {

struct MemoryCgroup {
  int version = 0;   // 1 or 2
  std::string path;  // the cgroup directory: /sys/fs/cgroup/memory/<…> or /sys/fs/cgroup/<…>
};

// The memory cgroup `pid` is in, from <proc_root>/<pid>/cgroup and the cgroup mounts in
// <proc_root>/self/mountinfo. A v1 memory hierarchy wins (hybrid hosts keep memory there); v2 is
// used when the process's unified cgroup has memory.events. NotFound when neither applies.
absl::StatusOr<MemoryCgroup> FindMemoryCgroup(pid_t pid, const std::string& proc_root = "/proc");

// The two halves of FindMemoryCgroup, for callers that look often: mountinfo grows with every
// container's mounts, while the cgroup hierarchies stay where they were mounted.
struct MemoryCgroupMounts {
  std::optional<cgroups::CgroupMount> memory_v1;  // the first v1 hierarchy with memory
  std::optional<cgroups::CgroupMount> unified;    // the first cgroup2 mount
};
absl::StatusOr<MemoryCgroupMounts> FindMemoryCgroupMounts(const std::string& proc_root = "/proc");
absl::StatusOr<MemoryCgroup> FindMemoryCgroupIn(const MemoryCgroupMounts& mounts, pid_t pid,
                                                const std::string& proc_root = "/proc");

}  // namespace liman
