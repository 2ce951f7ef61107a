#include "runtime/cgroups/v1/cpu.h"

#include "common/logging.h"
#include "common/status.h"
#include "fmt/format.h"
#include "runtime/cgroups/fs_util.h"

namespace liman::cgroups::v1 {

absl::Status ApplyCpu(const std::string& dir, const oci::CpuResources& cpu) {
  if (cpu.shares && *cpu.shares != 0) {
    LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "cpu.shares", std::to_string(*cpu.shares)));
    // The kernel clamps shares to [2, 262144] silently (kernel/sched/core.c, MIN/MAX_SHARES);
    // read the value back so an out-of-range request is reported rather than changed quietly.
    LIMAN_ASSIGN_OR_RETURN(uint64_t actual, ReadKnobUint(dir, "cpu.shares"));
    if (*cpu.shares > actual)
      return absl::InvalidArgumentError(
          fmt::format("cpu.shares {}: the maximum allowed cpu-shares is {}", *cpu.shares, actual));
    if (*cpu.shares < actual)
      return absl::InvalidArgumentError(
          fmt::format("cpu.shares {}: the minimum allowed cpu-shares is {}", *cpu.shares, actual));
  }
  int64_t quota = cpu.quota.value_or(0);
  std::string pending_period;
  if (cpu.period && *cpu.period != 0) {
    std::string period = std::to_string(*cpu.period);
    absl::Status status = WriteKnob(dir, "cpu.cfs_period_us", period);
    // A shorter period can be refused (EINVAL) because old_quota/new_period would exceed the
    // parent's bandwidth (sched-bwc.rst, "hierarchical considerations"); when a quota follows,
    // retry the period after it, as runc does.
    if (!status.ok()) {
      if (!IsErrno(status, EINVAL) || quota == 0) return status;
      pending_period = period;
    }
  }
  std::string pending_burst;
  if (cpu.burst) {
    std::string burst = std::to_string(*cpu.burst);
    absl::Status status = WriteKnob(dir, "cpu.cfs_burst_us", burst);
    if (IsErrno(status, ENOENT)) {
      LogWarn("linux.resources.cpu.burst ignored: this kernel has no {}", Quote(dir + "/cpu.cfs_burst_us"));
    } else if (IsErrno(status, EINVAL)) {
      pending_burst = burst;  // burst may not exceed the quota: retry once the quota is written
    } else if (!status.ok()) {
      return status;
    }
  }
  if (quota != 0) {
    LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "cpu.cfs_quota_us", std::to_string(quota)));
    if (!pending_period.empty()) LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "cpu.cfs_period_us", pending_period));
    if (!pending_burst.empty()) LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "cpu.cfs_burst_us", pending_burst));
  } else if (!pending_burst.empty()) {
    LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "cpu.cfs_burst_us", pending_burst));
  }
  if (cpu.idle) LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "cpu.idle", std::to_string(*cpu.idle)));
  // Period before runtime: runtime/period must fit the parent's ratio (sched-rt-group.rst).
  if (cpu.realtime_period && *cpu.realtime_period != 0)
    LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "cpu.rt_period_us", std::to_string(*cpu.realtime_period)));
  if (cpu.realtime_runtime && *cpu.realtime_runtime != 0)
    LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "cpu.rt_runtime_us", std::to_string(*cpu.realtime_runtime)));
  return absl::OkStatus();
}

absl::Status ReadCpuThrottling(const std::string& dir, CpuStats& stats) {
  LIMAN_ASSIGN_OR_RETURN(auto values, ReadKeyValues(dir, "cpu.stat"));
  stats.throttling_periods = values["nr_periods"];
  stats.throttled_periods = values["nr_throttled"];
  stats.throttled_time_ns = values["throttled_time"];
  return absl::OkStatus();
}

}  // namespace liman::cgroups::v1
