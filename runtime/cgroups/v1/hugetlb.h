// cgroup v1 hugetlb controller (Documentation/admin-guide/cgroup-v1/hugetlb.rst).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/oci_spec.h"
#include "runtime/cgroups/manager.h"

namespace liman::cgroups::v1 {

// <size>.limit_in_bytes for each limit ("hugetlb.2MB.limit_in_bytes"), and the reservation
// limit hugetlb.<size>.rsvd.limit_in_bytes where the kernel has it (as runc).
absl::Status ApplyHugetlb(const std::string& dir, const std::vector<oci::HugepageLimit>& limits);
// usage_in_bytes, max_usage_in_bytes and failcnt for every page size the cgroup shows.
absl::Status ReadHugetlbStats(const std::string& dir, Stats& stats);

}  // namespace liman::cgroups::v1
