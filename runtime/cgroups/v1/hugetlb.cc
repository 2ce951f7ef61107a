#include "runtime/cgroups/v1/hugetlb.h"

#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/cgroups/fs_util.h"
#include "runtime/cgroups/v2/hugetlb.h"

namespace liman::cgroups::v1 {

absl::Status ApplyHugetlb(const std::string& dir, const std::vector<oci::HugepageLimit>& limits) {
  for (const oci::HugepageLimit& limit : limits) {
    std::string file = fmt::format("hugetlb.{}.limit_in_bytes", limit.page_size);
    if (!KnobExists(dir, file)) {
      auto sizes = v2::HugetlbPageSizes(dir, ".limit_in_bytes");
      return absl::InvalidArgumentError(
          fmt::format("hugepage size {} is not supported here: {} does not exist (sizes: {})", Quote(limit.page_size),
                      Quote(JoinPath(dir, file)), sizes.ok() ? fmt::format("{}", fmt::join(*sizes, ", ")) : "?"));
    }
    LIMAN_RETURN_IF_ERROR(WriteKnob(dir, file, std::to_string(limit.limit)));
    std::string rsvd = fmt::format("hugetlb.{}.rsvd.limit_in_bytes", limit.page_size);
    if (KnobExists(dir, rsvd)) LIMAN_RETURN_IF_ERROR(WriteKnob(dir, rsvd, std::to_string(limit.limit)));
  }
  return absl::OkStatus();
}

absl::Status ReadHugetlbStats(const std::string& dir, Stats& stats) {
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> sizes, v2::HugetlbPageSizes(dir, ".limit_in_bytes"));
  for (const std::string& size : sizes) {
    HugetlbStats& entry = stats.hugetlb[size];
    LIMAN_ASSIGN_OR_RETURN(entry.usage, ReadKnobUint(dir, fmt::format("hugetlb.{}.usage_in_bytes", size)));
    LIMAN_ASSIGN_OR_RETURN(entry.max_usage, ReadKnobUint(dir, fmt::format("hugetlb.{}.max_usage_in_bytes", size)));
    LIMAN_ASSIGN_OR_RETURN(entry.failcnt, ReadKnobUint(dir, fmt::format("hugetlb.{}.failcnt", size)));
  }
  return absl::OkStatus();
}

}  // namespace liman::cgroups::v1
