// cgroup v2 freezer: cgroup.freeze and the "frozen" key of cgroup.events
// (Documentation/admin-guide/cgroup-v2.rst, "Core Interface Files").
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/cgroups/manager.h"

namespace liman::cgroups::v2 {

// Writes 1 to cgroup.freeze and waits (about 5s at most) for cgroup.events to report
// "frozen 1"; on timeout the cgroup is thawed again and DeadlineExceeded returned.
absl::Status Freeze(const std::string& dir);
// Writes 0 and waits for "frozen 0".
absl::Status Thaw(const std::string& dir);
// cgroup.freeze 0: thawed; 1 with "frozen 1": frozen; 1 with "frozen 0": freezing. Without
// cgroup.freeze (kernel < 5.2) everything is always thawed.
absl::StatusOr<FreezerState> GetFreezerState(const std::string& dir);

}  // namespace liman::cgroups::v2
