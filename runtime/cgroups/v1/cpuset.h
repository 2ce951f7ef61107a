// cgroup v1 cpuset controller (Documentation/admin-guide/cgroup-v1/cpusets.rst).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "common/oci_spec.h"

namespace liman::cgroups::v1 {

// A new v1 cpuset starts with empty cpuset.cpus and cpuset.mems, and a task cannot be attached to
// it until both are set (cpusets.rst, 2.2 "Adding/removing cpus"; attaching fails with ENOSPC).
// For every directory from below `mountpoint` down to `dir` whose cpus or mems are empty, copies
// the parent's values, top-down, as runc does.
absl::Status SeedCpuset(const std::string& mountpoint, const std::string& dir);
// cpus -> cpuset.cpus, mems -> cpuset.mems (empty strings: not set).
absl::Status ApplyCpuset(const std::string& dir, const oci::CpuResources& cpu);

}  // namespace liman::cgroups::v1
