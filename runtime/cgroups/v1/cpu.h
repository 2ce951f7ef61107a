// cgroup v1 cpu controller: CFS shares and bandwidth, RT bandwidth
// (Documentation/scheduler/sched-bwc.rst, sched-rt-group.rst).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "common/oci_spec.h"
#include "runtime/cgroups/manager.h"

namespace liman::cgroups::v1 {

// shares -> cpu.shares (read back to report clamping), period/quota -> cpu.cfs_period_us /
// cpu.cfs_quota_us, burst -> cpu.cfs_burst_us (skipped if the kernel lacks it), idle -> cpu.idle,
// realtimePeriod/Runtime -> cpu.rt_period_us / cpu.rt_runtime_us. Zero means "not set" (runc).
// RT runtime must be in place before a realtime task joins, so Apply before the task joins (OpenSelfJoin).
absl::Status ApplyCpu(const std::string& dir, const oci::CpuResources& cpu);
// Throttling from cpu.stat (nr_periods, nr_throttled, throttled_time in ns).
absl::Status ReadCpuThrottling(const std::string& dir, CpuStats& stats);

}  // namespace liman::cgroups::v1
