// cgroup v1 net_cls (Documentation/admin-guide/cgroup-v1/net_cls.rst).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace liman::cgroups::v1 {

// net_cls.classid, the tc class id (0xAAAABBBB) as a decimal number.
absl::Status ApplyNetCls(const std::string& dir, uint32_t class_id);

}  // namespace liman::cgroups::v1
