#include "runtime/cgroups/v2/io.h"

#include <algorithm>
#include <utility>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/status.h"
#include "fmt/format.h"
#include "runtime/cgroups/fs_util.h"

namespace liman::cgroups::v2 {

uint64_t IoWeightForBlkioWeight(uint64_t weight) {
  weight = std::clamp<uint64_t>(weight, 10, 1000);
  return 1 + (weight - 10) * 9999 / 990;
}

absl::Status ApplyIo(const std::string& dir, const oci::BlockIoResources& blkio) {
  bool bfq = KnobExists(dir, "io.bfq.weight");
  if (blkio.weight && *blkio.weight != 0) {
    if (bfq)
      LIMAN_RETURN_IF_ERROR(WriteKnobV2(dir, "io.bfq.weight", std::to_string(*blkio.weight)));
    else
      LIMAN_RETURN_IF_ERROR(WriteKnobV2(dir, "io.weight", std::to_string(IoWeightForBlkioWeight(*blkio.weight))));
  }
  if (blkio.leaf_weight && *blkio.leaf_weight != 0)
    LogWarn("linux.resources.blockIO.leafWeight ignored: cgroup v2 has no leaf weight");
  for (const oci::WeightDevice& device : blkio.weight_device) {
    if (device.leaf_weight && *device.leaf_weight != 0)
      LogWarn("linux.resources.blockIO.weightDevice[].leafWeight ignored: cgroup v2 has no leaf weight");
    if (!device.weight || *device.weight == 0) continue;
    if (bfq)
      LIMAN_RETURN_IF_ERROR(
          WriteKnobV2(dir, "io.bfq.weight", fmt::format("{}:{} {}", device.major, device.minor, *device.weight)));
    else
      LIMAN_RETURN_IF_ERROR(
          WriteKnobV2(dir, "io.weight",
                      fmt::format("{}:{} {}", device.major, device.minor, IoWeightForBlkioWeight(*device.weight))));
  }
  // io.max takes several "key=value" pairs per device line; collect them so each device gets one
  // write, in the order devices first appear.
  std::vector<std::pair<std::string, std::string>> lines;
  auto add = [&](const std::vector<oci::ThrottleDevice>& devices, std::string_view key) {
    for (const oci::ThrottleDevice& device : devices) {
      std::string id = fmt::format("{}:{}", device.major, device.minor);
      auto it = std::find_if(lines.begin(), lines.end(), [&](const auto& line) { return line.first == id; });
      if (it == lines.end()) it = lines.insert(lines.end(), {id, id});
      // A rate of 0 would mean "no IO at all" to io.max; the v1 files treat 0 as "no limit".
      it->second += fmt::format(" {}={}", key, device.rate == 0 ? std::string("max") : std::to_string(device.rate));
    }
  };
  add(blkio.throttle_read_bps_device, "rbps");
  add(blkio.throttle_write_bps_device, "wbps");
  add(blkio.throttle_read_iops_device, "riops");
  add(blkio.throttle_write_iops_device, "wiops");
  for (const auto& [id, line] : lines) LIMAN_RETURN_IF_ERROR(WriteKnobV2(dir, "io.max", line));
  return absl::OkStatus();
}

absl::Status ParseIoStat(std::string_view text, std::string_view where, Stats& stats) {
  static constexpr std::pair<std::string_view, std::string_view> kBytes[] = {
      {"rbytes", "Read"}, {"wbytes", "Write"}, {"dbytes", "Discard"}};
  static constexpr std::pair<std::string_view, std::string_view> kIos[] = {
      {"rios", "Read"}, {"wios", "Write"}, {"dios", "Discard"}};
  for (std::string_view line : SplitLines(text)) {
    std::vector<std::string_view> fields = SplitFields(line);
    size_t colon = fields.empty() ? std::string_view::npos : fields[0].find(':');
    if (colon == std::string_view::npos)
      return absl::InvalidArgumentError(fmt::format("parse {}: malformed line {}", Quote(where), Quote(line)));
    BlkioEntry base;
    LIMAN_ASSIGN_OR_RETURN(base.major, ParseUint(fields[0].substr(0, colon), where));
    LIMAN_ASSIGN_OR_RETURN(base.minor, ParseUint(fields[0].substr(colon + 1), where));
    for (size_t i = 1; i < fields.size(); ++i) {
      size_t eq = fields[i].find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view key = fields[i].substr(0, eq);
      auto emit = [&](const auto& table, std::vector<BlkioEntry>& out) -> absl::Status {
        for (const auto& [name, op] : table) {
          if (key != name) continue;
          BlkioEntry entry = base;
          entry.op = std::string(op);
          LIMAN_ASSIGN_OR_RETURN(entry.value, ParseUint(fields[i].substr(eq + 1), where));
          out.push_back(std::move(entry));
        }
        return absl::OkStatus();
      };
      LIMAN_RETURN_IF_ERROR(emit(kBytes, stats.blkio_service_bytes));
      LIMAN_RETURN_IF_ERROR(emit(kIos, stats.blkio_serviced));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadIoStats(const std::string& dir, Stats& stats) {
  std::string path = JoinPath(dir, "io.stat");
  LIMAN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  stats.blkio_service_bytes.clear();
  stats.blkio_serviced.clear();
  return ParseIoStat(text, path, stats);
}

}  // namespace liman::cgroups::v2
