#include "runtime/cgroups/v1/cpuset.h"

#include <vector>

#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"
#include "runtime/cgroups/fs_util.h"

namespace liman::cgroups::v1 {

absl::Status SeedCpuset(const std::string& mountpoint, const std::string& dir) {
  if (dir.size() <= mountpoint.size() || dir.compare(0, mountpoint.size(), mountpoint) != 0 ||
      dir[mountpoint.size()] != '/')
    return absl::InvalidArgumentError(fmt::format("cpuset: {} is not below {}", Quote(dir), Quote(mountpoint)));
  std::vector<std::string> chain;  // directories below the mount point, top-down
  for (size_t pos = mountpoint.size() + 1; pos <= dir.size(); ++pos)
    if (pos == dir.size() || dir[pos] == '/') chain.push_back(dir.substr(0, pos));
  std::string parent = mountpoint;
  for (const std::string& current : chain) {
    for (std::string_view knob : {"cpuset.cpus", "cpuset.mems"}) {
      LIMAN_ASSIGN_OR_RETURN(std::string value, ReadKnob(current, knob));
      if (!value.empty()) continue;
      LIMAN_ASSIGN_OR_RETURN(std::string inherited, ReadKnob(parent, knob));
      if (inherited.empty())
        return absl::FailedPreconditionError(
            fmt::format("cpuset: {} is empty, nothing to give {}", Quote(JoinPath(parent, knob)), Quote(current)));
      LIMAN_RETURN_IF_ERROR(WriteKnob(current, knob, inherited));
    }
    parent = current;
  }
  return absl::OkStatus();
}

absl::Status ApplyCpuset(const std::string& dir, const oci::CpuResources& cpu) {
  if (!cpu.cpus.empty()) LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "cpuset.cpus", cpu.cpus));
  if (!cpu.mems.empty()) LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "cpuset.mems", cpu.mems));
  return absl::OkStatus();
}

}  // namespace liman::cgroups::v1
