#include "runtime/cgroups/v2/cpu.h"

#include <algorithm>

#include "common/logging.h"
#include "common/status.h"
#include "fmt/format.h"
#include "runtime/cgroups/fs_util.h"

namespace liman::cgroups::v2 {

uint64_t CpuWeightForShares(uint64_t shares) {
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

absl::Status ApplyCpu(const std::string& dir, const oci::CpuResources& cpu) {
  if (cpu.realtime_runtime.value_or(0) != 0 || cpu.realtime_period.value_or(0) != 0)
    return absl::InvalidArgumentError(
        "linux.resources.cpu.realtimeRuntime/realtimePeriod are not supported on cgroup v2");
  if (cpu.idle) LIMAN_RETURN_IF_ERROR(WriteKnobV2(dir, "cpu.idle", std::to_string(*cpu.idle)));
  if (cpu.shares && *cpu.shares != 0)
    LIMAN_RETURN_IF_ERROR(WriteKnobV2(dir, "cpu.weight", std::to_string(CpuWeightForShares(*cpu.shares))));
  // The burst may not exceed the quota; when lowering both, write the burst again after cpu.max.
  std::string pending_burst;
  if (cpu.burst) {
    std::string burst = std::to_string(*cpu.burst);
    absl::Status status = WriteKnobV2(dir, "cpu.max.burst", burst);
    if (IsErrno(status, EINVAL))
      pending_burst = burst;
    else if (IsErrno(status, ENOENT))
      LogWarn("linux.resources.cpu.burst ignored: this kernel has no cpu.max.burst");
    else if (!status.ok())
      return status;
  }
  int64_t quota = cpu.quota.value_or(0);
  uint64_t period = cpu.period.value_or(0);
  if (quota != 0 || period != 0) {
    // "$MAX $PERIOD"; a single number updates $MAX only (cgroup-v2.rst, cpu.max), which is what
    // a quota without a period means.
    std::string value = quota > 0 ? std::to_string(quota) : "max";
    if (period != 0) value += fmt::format(" {}", period);
    LIMAN_RETURN_IF_ERROR(WriteKnobV2(dir, "cpu.max", value));
  }
  if (!pending_burst.empty()) LIMAN_RETURN_IF_ERROR(WriteKnobV2(dir, "cpu.max.burst", pending_burst));
  return absl::OkStatus();
}

absl::Status ReadCpuStats(const std::string& dir, CpuStats& stats) {
  LIMAN_ASSIGN_OR_RETURN(auto values, ReadKeyValues(dir, "cpu.stat"));
  stats.usage_total_ns = values["usage_usec"] * 1000;
  stats.usage_user_ns = values["user_usec"] * 1000;
  stats.usage_kernel_ns = values["system_usec"] * 1000;
  stats.throttling_periods = values["nr_periods"];
  stats.throttled_periods = values["nr_throttled"];
  stats.throttled_time_ns = values["throttled_usec"] * 1000;
  return absl::OkStatus();
}

}  // namespace liman::cgroups::v2
