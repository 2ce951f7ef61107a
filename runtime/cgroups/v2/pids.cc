#include "runtime/cgroups/v2/pids.h"

#include "common/status.h"
#include "runtime/cgroups/fs_util.h"

namespace liman::cgroups::v2 {

std::string PidsMaxValue(int64_t limit) { return limit > 0 ? std::to_string(limit) : "max"; }

absl::Status ApplyPids(const std::string& dir, int64_t limit) {
  return WriteKnobV2(dir, "pids.max", PidsMaxValue(limit));
}

absl::Status ReadPidsStats(const std::string& dir, PidsStats& stats) {
  LIMAN_ASSIGN_OR_RETURN(stats.current, ReadKnobUint(dir, "pids.current"));
  LIMAN_ASSIGN_OR_RETURN(uint64_t limit, ReadKnobUint(dir, "pids.max"));
  stats.limit = limit == kUnlimited ? 0 : limit;
  return absl::OkStatus();
}

}  // namespace liman::cgroups::v2
