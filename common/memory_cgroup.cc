#include "common/memory_cgroup.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "common/cgroup_layout.h"
#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman {

absl::StatusOr<MemoryCgroup> FindMemoryCgroup(pid_t pid, const std::string& proc_root) {
  LIMAN_ASSIGN_OR_RETURN(std::string mountinfo, ReadFile(JoinPath(proc_root, "self/mountinfo")));
  LIMAN_ASSIGN_OR_RETURN(std::vector<cgroups::MountInfoEntry> entries, cgroups::ParseMountInfo(mountinfo));
  std::string path = JoinPath(proc_root, fmt::format("{}/cgroup", pid));
  LIMAN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  LIMAN_ASSIGN_OR_RETURN(std::vector<cgroups::ProcCgroupEntry> own, cgroups::ParseProcCgroup(text));

  // Wherever the hierarchies are mounted: the first v1 one with memory, else the first cgroup2.
  std::optional<cgroups::CgroupMount> memory_v1, unified;
  for (cgroups::CgroupMount& mount : cgroups::CgroupMountsIn(entries)) {
    if (mount.v2) {
      if (!unified) unified = std::move(mount);
    } else if (!memory_v1 && std::ranges::find(mount.controllers, "memory") != mount.controllers.end()) {
      memory_v1 = std::move(mount);
    }
  }
  auto own_dir = [&](const cgroups::CgroupMount& mount) -> absl::StatusOr<std::string> {
    LIMAN_ASSIGN_OR_RETURN(std::string cgroup, cgroups::OwnCgroup(mount, own));
    return cgroups::CgroupDir(mount, cgroup);
  };
  if (memory_v1) {
    if (absl::StatusOr<std::string> dir = own_dir(*memory_v1); dir.ok()) return MemoryCgroup{1, *dir};
  }
  if (unified) {
    absl::StatusOr<std::string> dir = own_dir(*unified);
    if (dir.ok() && PathExists(JoinPath(*dir, "memory.events"))) return MemoryCgroup{2, *dir};
  }
  return absl::NotFoundError(fmt::format("pid {}: no memory cgroup (from {})", pid, Quote(path)));
}

}  // namespace liman
