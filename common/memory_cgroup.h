// Finding a process's memory cgroup from /proc: the cgroup hierarchies mounted (mountinfo) and
// the process's place in them (/proc/<pid>/cgroup). Used by the shim's OOM watch.
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"

namespace liman {

struct MemoryCgroup {
  int version = 0;   // 1 or 2
  std::string path;  // the cgroup directory: /sys/fs/cgroup/memory/<…> or /sys/fs/cgroup/<…>
};

// The memory cgroup `pid` is in, from <proc_root>/<pid>/cgroup and the cgroup mounts in
// <proc_root>/self/mountinfo. A v1 memory hierarchy wins (hybrid hosts keep memory there); v2 is
// used when the process's unified cgroup has memory.events. NotFound when neither applies.
absl::StatusOr<MemoryCgroup> FindMemoryCgroup(pid_t pid, const std::string& proc_root = "/proc");

}  // namespace liman
