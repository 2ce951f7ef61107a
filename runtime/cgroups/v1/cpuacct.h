// cgroup v1 cpuacct controller (Documentation/admin-guide/cgroup-v1/cpuacct.rst): usage only.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "runtime/cgroups/manager.h"

namespace liman::cgroups::v1 {

// cpuacct.usage (ns), cpuacct.usage_percpu (ns) and cpuacct.stat (user/system in USER_HZ ticks,
// converted to ns as runc does).
absl::Status ReadCpuacctStats(const std::string& dir, CpuStats& stats);

}  // namespace liman::cgroups::v1
