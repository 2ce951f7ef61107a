// cgroup v2 cpu controller (Documentation/admin-guide/cgroup-v2.rst, "CPU").
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "common/oci_spec.h"
#include "runtime/cgroups/manager.h"

namespace liman::cgroups::v2 {

// cpu.weight for v1 shares, runc's linear map of [2, 262144] onto [1, 10000]:
// 1 + ((shares - 2) * 9999) / 262142 (shares outside the range are clamped first).
uint64_t CpuWeightForShares(uint64_t shares);

// shares -> cpu.weight, quota/period -> cpu.max ("$MAX $PERIOD"; "max" for a negative quota),
// burst -> cpu.max.burst, idle -> cpu.idle. Realtime settings are refused: cgroup v2 does not
// control realtime processes (cgroup-v2.rst, "CPU": "WARNING: cgroup2 doesn't yet support
// control of realtime processes").
absl::Status ApplyCpu(const std::string& dir, const oci::CpuResources& cpu);
// cpu.stat: usage_usec, user_usec, system_usec, nr_periods, nr_throttled, throttled_usec (all
// times converted to ns).
absl::Status ReadCpuStats(const std::string& dir, CpuStats& stats);

}  // namespace liman::cgroups::v2
