#include "runtime/cgroups/v1/freezer.h"

#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"
#include "runtime/cgroups/fs_util.h"

namespace liman::cgroups::v1 {

absl::StatusOr<FreezerState> GetFreezerState(const std::string& dir) {
  LIMAN_ASSIGN_OR_RETURN(std::string state, ReadKnob(dir, "freezer.state"));
  if (state == "THAWED") return FreezerState::kThawed;
  if (state == "FREEZING") return FreezerState::kFreezing;
  if (state == "FROZEN") return FreezerState::kFrozen;
  return absl::InternalError(
      fmt::format("read {}: unexpected state {}", Quote(JoinPath(dir, "freezer.state")), Quote(state)));
}

absl::Status Freeze(const std::string& dir) {
  // freezer-subsystem.rst: writing FROZEN starts freezing; reads show FREEZING until every task
  // is frozen. A task stuck in an uninterruptible wait can keep it FREEZING; thawing briefly and
  // retrying lets such tasks make progress (runc does the same).
  constexpr int kAttempts = 2000;
  for (int i = 0; i < kAttempts; ++i) {
    if (i % 50 == 49) {
      (void)WriteKnob(dir, "freezer.state", "THAWED");
      SleepMillis(1);
    }
    LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "freezer.state", "FROZEN"));
    LIMAN_ASSIGN_OR_RETURN(FreezerState state, GetFreezerState(dir));
    if (state == FreezerState::kFrozen) return absl::OkStatus();
    SleepMillis(1);
  }
  (void)WriteKnob(dir, "freezer.state", "THAWED");
  return absl::DeadlineExceededError(
      fmt::format("freeze {}: still FREEZING after {} attempts; thawed again", Quote(dir), kAttempts));
}

absl::Status Thaw(const std::string& dir) {
  for (int i = 0; i < 1000; ++i) {
    LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "freezer.state", "THAWED"));
    LIMAN_ASSIGN_OR_RETURN(FreezerState state, GetFreezerState(dir));
    if (state == FreezerState::kThawed) return absl::OkStatus();
    SleepMillis(1);
  }
  return absl::DeadlineExceededError(fmt::format("thaw {}: state did not become THAWED", Quote(dir)));
}

}  // namespace liman::cgroups::v1
