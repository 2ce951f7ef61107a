#include "runtime/cgroups/v2/freezer.h"

#include <cerrno>

#include "common/status.h"
#include "fmt/format.h"
#include "runtime/cgroups/fs_util.h"

namespace liman::cgroups::v2 {
namespace {

absl::StatusOr<bool> EventsFrozen(const std::string& dir) {
  LIMAN_ASSIGN_OR_RETURN(auto events, ReadKeyValues(dir, "cgroup.events"));
  return events["frozen"] == 1;
}

// cgroup-v2.rst: freezing "may take some time"; completion is reported by cgroup.events. Poll it
// with a growing interval (1ms to 10ms) for about `budget_ms` in total.
absl::Status WaitFrozen(const std::string& dir, bool want, int budget_ms) {
  int waited = 0, interval = 1;
  for (;;) {
    LIMAN_ASSIGN_OR_RETURN(bool frozen, EventsFrozen(dir));
    if (frozen == want) return absl::OkStatus();
    if (waited >= budget_ms)
      return absl::DeadlineExceededError(fmt::format("{} {}: cgroup.events still says \"frozen {}\" after {}ms",
                                                     want ? "freeze" : "thaw", Quote(dir), want ? 0 : 1, waited));
    SleepMillis(interval);
    waited += interval;
    interval = std::min(interval * 2, 10);
  }
}

}  // namespace

absl::Status Freeze(const std::string& dir) {
  LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "cgroup.freeze", "1"));
  absl::Status status = WaitFrozen(dir, true, 5000);
  if (!status.ok()) (void)WriteKnob(dir, "cgroup.freeze", "0");
  return status;
}

absl::Status Thaw(const std::string& dir) {
  LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "cgroup.freeze", "0"));
  return WaitFrozen(dir, false, 5000);
}

absl::StatusOr<FreezerState> GetFreezerState(const std::string& dir) {
  auto freeze = ReadKnob(dir, "cgroup.freeze");
  if (!freeze.ok()) {
    if (IsErrno(freeze.status(), ENOENT) && KnobExists(dir, "cgroup.procs")) return FreezerState::kThawed;
    return freeze.status();
  }
  if (*freeze == "0") return FreezerState::kThawed;
  LIMAN_ASSIGN_OR_RETURN(bool frozen, EventsFrozen(dir));
  return frozen ? FreezerState::kFrozen : FreezerState::kFreezing;
}

}  // namespace liman::cgroups::v2
