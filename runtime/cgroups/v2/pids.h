// cgroup v2 pids controller (Documentation/admin-guide/cgroup-v2.rst, "PID").
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "runtime/cgroups/manager.h"

namespace liman::cgroups::v2 {

// The pids.max value for a spec limit: the number, or "max" for 0 and negative values (runc).
std::string PidsMaxValue(int64_t limit);
absl::Status ApplyPids(const std::string& dir, int64_t limit);
// pids.current and pids.max ("max" reads as 0, meaning unlimited).
absl::Status ReadPidsStats(const std::string& dir, PidsStats& stats);

}  // namespace liman::cgroups::v2
