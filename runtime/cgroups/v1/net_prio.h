// cgroup v1 net_prio (Documentation/admin-guide/cgroup-v1/net_prio.rst).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/oci_spec.h"

namespace liman::cgroups::v1 {

// One "<ifname> <priority>" line per entry into net_prio.ifpriomap.
absl::Status ApplyNetPrio(const std::string& dir, const std::vector<oci::NetworkPriority>& priorities);

}  // namespace liman::cgroups::v1
