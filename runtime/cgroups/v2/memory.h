// cgroup v2 memory controller (Documentation/admin-guide/cgroup-v2.rst, "Memory").
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/oci_spec.h"
#include "runtime/cgroups/manager.h"

namespace liman::cgroups::v2 {

// The memory.swap.max value for the spec's swap (memory+swap, v1 semantics) and limit, as runc's
// ConvertMemorySwapToCgroupV2Value: 0 is "unset", -1 "max", otherwise swap - limit; swap -1 with
// limit -1 and swap unset is also "max". Errors when the two cannot be reconciled.
absl::StatusOr<int64_t> SwapMaxForSpec(int64_t swap, int64_t limit);

// limit -> memory.max, swap -> memory.swap.max (swap - limit), reservation -> memory.low.
// swappiness, kernel, kernelTCP and disableOOMKiller have no v2 counterpart and are ignored with
// a warning (runc ignores them as well).
absl::Status ApplyMemory(const std::string& dir, const oci::MemoryResources& memory);
absl::Status ReadMemoryStats(const std::string& dir, MemoryStats& stats);
// An O_RDONLY fd on memory.events: the kernel signals POLLPRI (and inotify IN_MODIFY) on it when
// a counter changes (cgroup-v2.rst, memory.events: "generates a file modified event"); callers
// poll, then pread from offset 0 and compare "oom_kill".
absl::StatusOr<int> OpenOomNotifier(const std::string& dir);

}  // namespace liman::cgroups::v2
