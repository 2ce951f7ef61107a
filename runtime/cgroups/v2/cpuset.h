// cgroup v2 cpuset controller (Documentation/admin-guide/cgroup-v2.rst, "Cpuset").
#pragma once

#include <string>

#include "absl/status/status.h"
#include "common/oci_spec.h"

namespace liman::cgroups::v2 {

// cpus -> cpuset.cpus, mems -> cpuset.mems. Unlike v1, an empty v2 cpuset inherits its parent's
// effective sets, so nothing needs seeding.
absl::Status ApplyCpuset(const std::string& dir, const oci::CpuResources& cpu);

}  // namespace liman::cgroups::v2
