// Finding a process's memory cgroup from /proc: the cgroup hierarchies mounted (mountinfo) and
// the process's place in them (/proc/<pid>/cgroup). Used by the shim's OOM watch and by the
// cgroup-migration warm-up of every daemon that starts containers.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

// `text` cut at each `separator`, at most `max_parts` pieces (the last one keeps the rest).
// Debian's abseil has its own string_view, so absl::StrSplit does not mix with std::string_view.
std::vector<std::string_view> SplitView(std::string_view text, char separator, size_t max_parts = SIZE_MAX);
// The non-empty lines of `text`.
std::vector<std::string_view> NonEmptyLines(std::string_view text);

}  // namespace liman
