// cgroup v1 memory controller (Documentation/admin-guide/cgroup-v1/memory.rst).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/oci_spec.h"
#include "runtime/cgroups/manager.h"

namespace liman::cgroups::v1 {

// limit -> memory.limit_in_bytes, swap (memory+swap, as in v1) -> memory.memsw.limit_in_bytes,
// reservation -> memory.soft_limit_in_bytes, kernel -> memory.kmem.limit_in_bytes and kernelTCP
// -> memory.kmem.tcp.limit_in_bytes where the kernel still has them (ignored with a warning
// otherwise), swappiness -> memory.swappiness, disableOOMKiller -> memory.oom_control.
// Zero limit/swap/reservation mean "not set", as in runc.
absl::Status ApplyMemory(const std::string& dir, const oci::MemoryResources& memory);
absl::Status ReadMemoryStats(const std::string& dir, MemoryStats& stats);
// An eventfd registered on memory.oom_control through cgroup.event_control.
absl::StatusOr<int> OpenOomNotifier(const std::string& dir);

}  // namespace liman::cgroups::v1
