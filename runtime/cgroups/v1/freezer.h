// cgroup v1 freezer (Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/cgroups/manager.h"

namespace liman::cgroups::v1 {

// Writes FROZEN and waits (about 2s at most) until freezer.state reads FROZEN rather than
// FREEZING; on timeout the cgroup is thawed again and DeadlineExceeded returned.
absl::Status Freeze(const std::string& dir);
// Writes THAWED and waits until the state reads THAWED.
absl::Status Thaw(const std::string& dir);
absl::StatusOr<FreezerState> GetFreezerState(const std::string& dir);

}  // namespace liman::cgroups::v1
