// cgroup v2 hugetlb controller (Documentation/admin-guide/cgroup-v2.rst, "HugeTLB").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/oci_spec.h"
#include "runtime/cgroups/manager.h"

namespace liman::cgroups::v2 {

// hugetlb.<size>.max for each limit, plus hugetlb.<size>.rsvd.max where present (as runc).
absl::Status ApplyHugetlb(const std::string& dir, const std::vector<oci::HugepageLimit>& limits);
// hugetlb.<size>.current, and failcnt from the "max" count of hugetlb.<size>.events
// (cgroup-v2.rst: "the number of allocation failure due to HugeTLB limit"). v2 has no peak.
absl::Status ReadHugetlbStats(const std::string& dir, Stats& stats);
// The page sizes ("2MB", "1GB") for which `dir` holds "hugetlb.<size><suffix>" files; reading
// them from the cgroup itself keeps this independent of /sys/kernel/mm/hugepages.
absl::StatusOr<std::vector<std::string>> HugetlbPageSizes(const std::string& dir, std::string_view suffix);

}  // namespace liman::cgroups::v2
