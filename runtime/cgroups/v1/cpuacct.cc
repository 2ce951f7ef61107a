#include "runtime/cgroups/v1/cpuacct.h"

#include <unistd.h>

#include "common/file_util.h"
#include "common/status.h"
#include "runtime/cgroups/fs_util.h"

namespace liman::cgroups::v1 {

absl::Status ReadCpuacctStats(const std::string& dir, CpuStats& stats) {
  LIMAN_ASSIGN_OR_RETURN(stats.usage_total_ns, ReadKnobUint(dir, "cpuacct.usage"));
  LIMAN_ASSIGN_OR_RETURN(std::string percpu, ReadKnob(dir, "cpuacct.usage_percpu"));
  stats.usage_per_cpu_ns.clear();
  std::string percpu_path = JoinPath(dir, "cpuacct.usage_percpu");
  for (std::string_view field : SplitFields(percpu)) {
    LIMAN_ASSIGN_OR_RETURN(uint64_t ns, ParseUint(field, percpu_path));
    stats.usage_per_cpu_ns.push_back(ns);
  }
  LIMAN_ASSIGN_OR_RETURN(auto times, ReadKeyValues(dir, "cpuacct.stat"));
  // cpuacct.rst: "user and system are in USER_HZ unit".
  long ticks = sysconf(_SC_CLK_TCK);
  uint64_t ns_per_tick = ticks > 0 ? 1000000000ULL / static_cast<uint64_t>(ticks) : 10000000ULL;
  stats.usage_user_ns = times["user"] * ns_per_tick;
  stats.usage_kernel_ns = times["system"] * ns_per_tick;
  return absl::OkStatus();
}

}  // namespace liman::cgroups::v1
