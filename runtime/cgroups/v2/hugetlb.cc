#include "runtime/cgroups/v2/hugetlb.h"

#include <algorithm>

#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/cgroups/fs_util.h"

namespace liman::cgroups::v2 {

absl::StatusOr<std::vector<std::string>> HugetlbPageSizes(const std::string& dir, std::string_view suffix) {
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
  std::vector<std::string> sizes;
  constexpr std::string_view kPrefix = "hugetlb.";
  for (const std::string& name : names) {
    std::string_view view = name;
    if (view.size() <= kPrefix.size() + suffix.size() || view.substr(0, kPrefix.size()) != kPrefix ||
        view.substr(view.size() - suffix.size()) != suffix)
      continue;
    std::string_view size = view.substr(kPrefix.size(), view.size() - kPrefix.size() - suffix.size());
    if (size.find('.') != std::string_view::npos) continue;  // hugetlb.2MB.rsvd.max and the like
    sizes.emplace_back(size);
  }
  std::sort(sizes.begin(), sizes.end());
  return sizes;
}

absl::Status ApplyHugetlb(const std::string& dir, const std::vector<oci::HugepageLimit>& limits) {
  for (const oci::HugepageLimit& limit : limits) {
    std::string file = fmt::format("hugetlb.{}.max", limit.page_size);
    if (!KnobExists(dir, file)) {
      // With the controller enabled but no file for this size, the size itself is the problem;
      // without the controller WriteKnobV2 explains that instead.
      auto sizes = HugetlbPageSizes(dir, ".max");
      if (sizes.ok() && !sizes->empty())
        return absl::InvalidArgumentError(fmt::format("hugepage size {} is not supported here (sizes: {})",
                                                      Quote(limit.page_size), fmt::join(*sizes, ", ")));
    }
    LIMAN_RETURN_IF_ERROR(WriteKnobV2(dir, file, std::to_string(limit.limit)));
    std::string rsvd = fmt::format("hugetlb.{}.rsvd.max", limit.page_size);
    if (KnobExists(dir, rsvd)) LIMAN_RETURN_IF_ERROR(WriteKnobV2(dir, rsvd, std::to_string(limit.limit)));
  }
  return absl::OkStatus();
}

absl::Status ReadHugetlbStats(const std::string& dir, Stats& stats) {
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> sizes, HugetlbPageSizes(dir, ".max"));
  for (const std::string& size : sizes) {
    HugetlbStats& entry = stats.hugetlb[size];
    LIMAN_ASSIGN_OR_RETURN(entry.usage, ReadKnobUint(dir, fmt::format("hugetlb.{}.current", size)));
    LIMAN_ASSIGN_OR_RETURN(auto events, ReadKeyValues(dir, fmt::format("hugetlb.{}.events", size)));
    entry.failcnt = events["max"];
  }
  return absl::OkStatus();
}

}  // namespace liman::cgroups::v2
