#include "runtime/cgroups/v2/cpuset.h"

#include "common/status.h"
#include "runtime/cgroups/fs_util.h"

namespace liman::cgroups::v2 {

absl::Status ApplyCpuset(const std::string& dir, const oci::CpuResources& cpu) {
  if (!cpu.cpus.empty()) LIMAN_RETURN_IF_ERROR(WriteKnobV2(dir, "cpuset.cpus", cpu.cpus));
  if (!cpu.mems.empty()) LIMAN_RETURN_IF_ERROR(WriteKnobV2(dir, "cpuset.mems", cpu.mems));
  return absl::OkStatus();
}

}  // namespace liman::cgroups::v2
