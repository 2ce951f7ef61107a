#pragma once

#include <time.h>

#include "absl/time/time.h"

namespace liman {

// The kernel's CLOCK_REALTIME, read on every call.
//
// absl::Now() does not read the kernel clock each time: it interpolates from
// the TSC and resynchronises now and then (absl/time/clock.cc), so two
// processes can disagree by microseconds. A timestamp that another process
// reads and orders against its own clock (created_at, updated_at, started_at
// of content, snapshots and metadata; containerd's Go time.Now() reads the
// kernel clock through the vDSO, clock_gettime(2)) must come from here.
inline absl::Time WallClockNow() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return absl::TimeFromTimespec(now);
}

}  // namespace liman
