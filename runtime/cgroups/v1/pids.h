// cgroup v1 pids controller (Documentation/admin-guide/cgroup-v1/pids.rst).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "runtime/cgroups/manager.h"

namespace liman::cgroups::v1 {

// pids.max: the limit, or "max" for 0 and negative values (the spec's "unlimited", as runc).
absl::Status ApplyPids(const std::string& dir, int64_t limit);
// pids.current and pids.max ("max" reads as 0, meaning unlimited).
absl::Status ReadPidsStats(const std::string& dir, PidsStats& stats);

}  // namespace liman::cgroups::v1
