#include "runtime/cgroups/v1/pids.h"

#include "common/status.h"
#include "runtime/cgroups/fs_util.h"
#include "runtime/cgroups/v2/pids.h"

namespace liman::cgroups::v1 {

// The pids files are the same in both versions (pids.rst and cgroup-v2.rst, "PID"), so the v1
// controller uses the v2 code with plain writes.
absl::Status ApplyPids(const std::string& dir, int64_t limit) {
  return WriteKnob(dir, "pids.max", v2::PidsMaxValue(limit));
}

absl::Status ReadPidsStats(const std::string& dir, PidsStats& stats) { return v2::ReadPidsStats(dir, stats); }

}  // namespace liman::cgroups::v1
