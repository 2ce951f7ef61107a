#include "engine/daemon/cgroup_parent.h"

#include <vector>

#include "absl/strings/str_join.h"
#include "common/cgroup_layout.h"
#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::engine {

absl::Status MakeCgroupParent(const std::string& parent, const std::string& mount_root, const std::string& proc_root) {
  if (parent.empty() || parent.front() != '/') return absl::OkStatus();
  LIMAN_ASSIGN_OR_RETURN(std::string cleaned, cgroups::CleanCgroupPath(parent));
  LIMAN_ASSIGN_OR_RETURN(cgroups::CgroupMounts mounts, cgroups::FindCgroupMounts(mount_root, proc_root));
  std::vector<cgroups::CgroupMount> hierarchies = mounts.v1;
  if (mounts.v2) hierarchies.push_back(*mounts.v2);
  std::vector<std::string> failures;
  for (const cgroups::CgroupMount& mount : hierarchies) {
    LIMAN_ASSIGN_OR_RETURN(std::string dir, cgroups::ContainerDir(mount, cleaned, /*own=*/""));
    if (absl::Status made = MkdirAll(dir, 0755); !made.ok()) failures.emplace_back(made.message());
  }
  if (!failures.empty())
    return absl::InternalError(fmt::format("cgroup parent {}: {}", Quote(cleaned), absl::StrJoin(failures, "; ")));
  return absl::OkStatus();
}

std::string DefaultCgroupnsMode(const std::string& mount_root, const std::string& proc_root) {
  absl::StatusOr<cgroups::CgroupMounts> mounts = cgroups::FindCgroupMounts(mount_root, proc_root);
  return mounts.ok() && mounts->layout == cgroups::Layout::kUnified ? "private" : "host";
}

}  // namespace liman::engine
