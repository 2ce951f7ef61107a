#include "runtime/cgroups/v1/blkio.h"

#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"
#include "runtime/cgroups/fs_util.h"

namespace liman::cgroups::v1 {
namespace {

absl::Status WriteThrottle(const std::string& dir, std::string_view file,
                           const std::vector<oci::ThrottleDevice>& devices) {
  for (const oci::ThrottleDevice& device : devices)
    LIMAN_RETURN_IF_ERROR(WriteKnob(dir, file, fmt::format("{}:{} {}", device.major, device.minor, device.rate)));
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyBlkio(const std::string& dir, const oci::BlockIoResources& blkio) {
  std::string weight_file = "blkio.weight", weight_device_file = "blkio.weight_device";
  if (!KnobExists(dir, weight_file) && KnobExists(dir, "blkio.bfq.weight")) {
    weight_file = "blkio.bfq.weight";
    weight_device_file = "blkio.bfq.weight_device";
  }
  if (blkio.weight && *blkio.weight != 0)
    LIMAN_RETURN_IF_ERROR(WriteKnob(dir, weight_file, std::to_string(*blkio.weight)));
  if (blkio.leaf_weight && *blkio.leaf_weight != 0)
    LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "blkio.leaf_weight", std::to_string(*blkio.leaf_weight)));
  for (const oci::WeightDevice& device : blkio.weight_device) {
    if (device.weight && *device.weight != 0)
      LIMAN_RETURN_IF_ERROR(
          WriteKnob(dir, weight_device_file, fmt::format("{}:{} {}", device.major, device.minor, *device.weight)));
    if (device.leaf_weight && *device.leaf_weight != 0)
      LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "blkio.leaf_weight_device",
                                      fmt::format("{}:{} {}", device.major, device.minor, *device.leaf_weight)));
  }
  LIMAN_RETURN_IF_ERROR(WriteThrottle(dir, "blkio.throttle.read_bps_device", blkio.throttle_read_bps_device));
  LIMAN_RETURN_IF_ERROR(WriteThrottle(dir, "blkio.throttle.write_bps_device", blkio.throttle_write_bps_device));
  LIMAN_RETURN_IF_ERROR(WriteThrottle(dir, "blkio.throttle.read_iops_device", blkio.throttle_read_iops_device));
  LIMAN_RETURN_IF_ERROR(WriteThrottle(dir, "blkio.throttle.write_iops_device", blkio.throttle_write_iops_device));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<BlkioEntry>> ParseBlkioStat(std::string_view text, std::string_view where) {
  std::vector<BlkioEntry> entries;
  for (std::string_view line : SplitLines(text)) {
    std::vector<std::string_view> fields = SplitFields(line);
    if (fields.size() == 2 && fields[0] == "Total") continue;
    size_t colon = fields.empty() ? std::string_view::npos : fields[0].find(':');
    if ((fields.size() != 2 && fields.size() != 3) || colon == std::string_view::npos)
      return absl::InvalidArgumentError(fmt::format("parse {}: malformed line {}", Quote(where), Quote(line)));
    BlkioEntry entry;
    LIMAN_ASSIGN_OR_RETURN(entry.major, ParseUint(fields[0].substr(0, colon), where));
    LIMAN_ASSIGN_OR_RETURN(entry.minor, ParseUint(fields[0].substr(colon + 1), where));
    if (fields.size() == 3) entry.op = std::string(fields[1]);
    LIMAN_ASSIGN_OR_RETURN(entry.value, ParseUint(fields.back(), where));
    entries.push_back(std::move(entry));
  }
  return entries;
}

absl::Status ReadBlkioStats(const std::string& dir, Stats& stats) {
  // CFQ's and BFQ's files can exist yet hold nothing but "Total 0" when that scheduler is not
  // the one in use, so an empty result moves on to the next source (runc's order).
  for (std::string_view prefix : {"blkio.", "blkio.bfq.", "blkio.throttle."}) {
    bool last = prefix == std::string_view("blkio.throttle.");
    std::string bytes_file = fmt::format("{}io_service_bytes_recursive", prefix);
    std::string ios_file = fmt::format("{}io_serviced_recursive", prefix);
    auto bytes = ReadKnob(dir, bytes_file);
    if (!bytes.ok()) {
      if (IsErrno(bytes.status(), ENOENT)) continue;
      return bytes.status();
    }
    LIMAN_ASSIGN_OR_RETURN(std::vector<BlkioEntry> bytes_entries, ParseBlkioStat(*bytes, JoinPath(dir, bytes_file)));
    if (bytes_entries.empty() && !last) continue;
    LIMAN_ASSIGN_OR_RETURN(std::string ios, ReadKnob(dir, ios_file));
    LIMAN_ASSIGN_OR_RETURN(stats.blkio_serviced, ParseBlkioStat(ios, JoinPath(dir, ios_file)));
    stats.blkio_service_bytes = std::move(bytes_entries);
    return absl::OkStatus();
  }
  return absl::OkStatus();
}

}  // namespace liman::cgroups::v1
