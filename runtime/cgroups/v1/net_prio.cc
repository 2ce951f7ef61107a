#include "runtime/cgroups/v1/net_prio.h"

#include "common/status.h"
#include "fmt/format.h"
#include "runtime/cgroups/fs_util.h"

namespace liman::cgroups::v1 {

absl::Status ApplyNetPrio(const std::string& dir, const std::vector<oci::NetworkPriority>& priorities) {
  for (const oci::NetworkPriority& priority : priorities)
    LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "net_prio.ifpriomap", fmt::format("{} {}", priority.name, priority.priority)));
  return absl::OkStatus();
}

}  // namespace liman::cgroups::v1
