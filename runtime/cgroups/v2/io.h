// cgroup v2 io controller (Documentation/admin-guide/cgroup-v2.rst, "IO").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/oci_spec.h"
#include "runtime/cgroups/manager.h"

namespace liman::cgroups::v2 {

// io.weight for a v1 blkio weight, runc's map of [10, 1000] onto [1, 10000]:
// 1 + (weight - 10) * 9999 / 990.
uint64_t IoWeightForBlkioWeight(uint64_t weight);

// weight/weightDevice -> io.bfq.weight (the blkio value as is) when BFQ provides it, else
// io.weight (converted); throttle*Device -> io.max, one "MAJ:MIN rbps=.. wbps=.. riops=..
// wiops=.." line per device. leafWeight has no v2 counterpart and is ignored with a warning.
absl::Status ApplyIo(const std::string& dir, const oci::BlockIoResources& blkio);
// io.stat: rbytes/wbytes/dbytes -> service bytes Read/Write/Discard, rios/wios/dios -> serviced.
absl::Status ReadIoStats(const std::string& dir, Stats& stats);
absl::Status ParseIoStat(std::string_view text, std::string_view where, Stats& stats);

}  // namespace liman::cgroups::v2
