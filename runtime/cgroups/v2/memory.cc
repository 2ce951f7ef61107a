#include "runtime/cgroups/v2/memory.h"

#include <fcntl.h>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/status.h"
#include "fmt/format.h"
#include "runtime/cgroups/fs_util.h"

namespace liman::cgroups::v2 {
namespace {

// runc's numToStr: 0 is "not set" (empty), -1 is "max".
std::string LimitValue(int64_t value) {
  if (value == 0) return "";
  if (value == -1) return "max";
  return std::to_string(value);
}

}  // namespace

absl::StatusOr<int64_t> SwapMaxForSpec(int64_t swap, int64_t limit) {
  // Unlimited memory with swap unset: unlimited swap too, for compatibility with v1.
  if (limit == -1 && swap == 0) return -1;
  if (swap == -1 || swap == 0) return swap;
  if (limit == 0 || limit == -1)
    return absl::InvalidArgumentError("memory.swap cannot be set without a memory.limit on cgroup v2");
  if (limit < 0) return absl::InvalidArgumentError(fmt::format("invalid memory.limit {}", limit));
  if (swap < limit)
    return absl::InvalidArgumentError(
        fmt::format("memory.swap ({}) is the memory+swap limit and must be >= memory.limit ({})", swap, limit));
  return swap - limit;
}

absl::Status ApplyMemory(const std::string& dir, const oci::MemoryResources& memory) {
  int64_t limit = memory.limit.value_or(0);
  int64_t swap = memory.swap.value_or(0);
  if (memory.check_before_update.value_or(false) && limit > 0) {
    LIMAN_ASSIGN_OR_RETURN(uint64_t usage, ReadKnobUint(dir, "memory.current"));
    if (usage > static_cast<uint64_t>(limit))
      return absl::FailedPreconditionError(
          fmt::format("memory limit {} is below the current usage {} of {}", limit, usage, Quote(dir)));
  }
  LIMAN_ASSIGN_OR_RETURN(int64_t swap_max, SwapMaxForSpec(swap, limit));
  // swap == limit: no swap at all, which is "0" (not "unset").
  const std::string swap_value = (swap_max == 0 && swap > 0) ? std::string("0") : LimitValue(swap_max);
  if (!swap_value.empty()) {
    absl::Status status = WriteKnobV2(dir, "memory.swap.max", swap_value);
    // Without swap accounting the file is absent; "max" or "0" then already hold (runc).
    if (!status.ok() && !(IsErrno(status, ENOENT) && (swap_value == "max" || swap_value == "0"))) return status;
  }
  if (std::string value = LimitValue(limit); !value.empty())
    LIMAN_RETURN_IF_ERROR(WriteKnobV2(dir, "memory.max", value));
  if (std::string value = LimitValue(memory.reservation.value_or(0)); !value.empty())
    LIMAN_RETURN_IF_ERROR(WriteKnobV2(dir, "memory.low", value));
  if (memory.swappiness && *memory.swappiness != UINT64_MAX)
    LogWarn("linux.resources.memory.swappiness ignored: cgroup v2 has no per-cgroup swappiness");
  if (memory.kernel || memory.kernel_tcp)
    LogWarn("linux.resources.memory.kernel/kernelTCP ignored: cgroup v2 accounts kernel memory in memory.max");
  if (memory.disable_oom_killer.value_or(false))
    LogWarn("linux.resources.memory.disableOOMKiller ignored: cgroup v2 cannot disable the OOM killer");
  return absl::OkStatus();
}

absl::Status ReadMemoryStats(const std::string& dir, MemoryStats& stats) {
  LIMAN_ASSIGN_OR_RETURN(stats.raw, ReadKeyValues(dir, "memory.stat"));
  stats.cache = stats.raw.count("file") ? stats.raw["file"] : 0;
  stats.rss = stats.raw.count("anon") ? stats.raw["anon"] : 0;
  LIMAN_ASSIGN_OR_RETURN(stats.usage, ReadKnobUint(dir, "memory.current"));
  LIMAN_ASSIGN_OR_RETURN(stats.limit, ReadKnobUint(dir, "memory.max"));
  if (KnobExists(dir, "memory.peak")) {
    LIMAN_ASSIGN_OR_RETURN(stats.max_usage, ReadKnobUint(dir, "memory.peak"));
  }
  // memory.events "max": times usage was about to go over memory.max, the closest thing to v1's
  // failcnt.
  LIMAN_ASSIGN_OR_RETURN(auto events, ReadKeyValues(dir, "memory.events"));
  stats.failcnt = events["max"];
  if (KnobExists(dir, "memory.swap.current")) {
    LIMAN_ASSIGN_OR_RETURN(uint64_t swap, ReadKnobUint(dir, "memory.swap.current"));
    LIMAN_ASSIGN_OR_RETURN(uint64_t swap_limit, ReadKnobUint(dir, "memory.swap.max"));
    if (KnobExists(dir, "memory.swap.peak")) {
      LIMAN_ASSIGN_OR_RETURN(stats.swap_max_usage, ReadKnobUint(dir, "memory.swap.peak"));
    }
    // v1 reports memory+swap; runc adds memory to v2's swap figures to keep that meaning.
    stats.swap_usage = swap + stats.usage;
    stats.swap_limit = (swap_limit == kUnlimited || stats.limit == kUnlimited) ? kUnlimited : swap_limit + stats.limit;
    if (stats.swap_max_usage != 0) stats.swap_max_usage += stats.max_usage;
  }
  return absl::OkStatus();
}

absl::StatusOr<int> OpenOomNotifier(const std::string& dir) {
  std::string path = JoinPath(dir, "memory.events");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(fmt::format("open {}", Quote(path)));
  return fd;
}

}  // namespace liman::cgroups::v2
