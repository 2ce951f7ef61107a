// cgroup v1 blkio controller (Documentation/admin-guide/cgroup-v1/blkio-controller.rst).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "common/oci_spec.h"
#include "runtime/cgroups/manager.h"

namespace liman::cgroups::v1 {

// weight/weightDevice -> blkio.weight / blkio.weight_device (CFQ) or, when the kernel only has
// BFQ, blkio.bfq.weight / blkio.bfq.weight_device; leafWeight -> blkio.leaf_weight(_device);
// throttle*Device -> blkio.throttle.{read,write}_{bps,iops}_device, one "major:minor rate" line each.
absl::Status ApplyBlkio(const std::string& dir, const oci::BlockIoResources& blkio);
// io_service_bytes / io_serviced, recursive, from CFQ, then BFQ, then the throttling policy,
// whichever the kernel provides (runc's order).
absl::Status ReadBlkioStats(const std::string& dir, Stats& stats);
// Parses "major:minor Op value" lines (the "Total" line is skipped).
absl::StatusOr<std::vector<BlkioEntry>> ParseBlkioStat(std::string_view text, std::string_view where);

}  // namespace liman::cgroups::v1
