#include "runtime/cgroups/v1/memory.h"

#include <fcntl.h>
#include <sys/eventfd.h>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "fmt/format.h"
#include "runtime/cgroups/fs_util.h"

namespace liman::cgroups::v1 {
namespace {

constexpr std::string_view kLimit = "memory.limit_in_bytes";
constexpr std::string_view kMemsw = "memory.memsw.limit_in_bytes";

absl::Status SetLimit(const std::string& dir, int64_t limit) {
  if (limit == 0) return absl::OkStatus();
  absl::Status status = WriteKnob(dir, kLimit, std::to_string(limit));
  if (!IsErrno(status, EBUSY)) return status;
  // EBUSY: the kernel could not reclaim down to the new limit (memory.rst, "usage_in_bytes >
  // limit"); say how far off it is, as runc does.
  auto usage = ReadKnobUint(dir, "memory.usage_in_bytes");
  auto peak = ReadKnobUint(dir, "memory.max_usage_in_bytes");
  if (!usage.ok() || !peak.ok()) return status;
  return Annotate(status, fmt::format("unable to set memory limit to {} (current usage: {}, peak usage: {})", limit,
                                      *usage, *peak));
}

absl::Status SetSwap(const std::string& dir, int64_t swap) {
  if (swap == 0) return absl::OkStatus();
  return WriteKnob(dir, kMemsw, std::to_string(swap));
}

// Writes the limit and the memory+swap limit in an order the kernel accepts at every step: it
// refuses memory.limit_in_bytes > memory.memsw.limit_in_bytes (memory.rst, "memsw.limit_in_bytes
// must be >= limit_in_bytes"). Raising: memsw first; lowering: limit first (runc's rule).
absl::Status SetLimitAndSwap(const std::string& dir, int64_t limit, int64_t swap) {
  // Unlimited memory with swap unset means unlimited memory+swap too (runc).
  if (limit == -1 && swap == 0 && KnobExists(dir, kMemsw)) swap = -1;
  if (limit > 0 && swap > 0 && swap < limit)
    return absl::InvalidArgumentError(
        fmt::format("memory.swap ({}) is the memory+swap limit and must be >= memory.limit ({})", swap, limit));
  if (limit != 0 && swap != 0) {
    LIMAN_ASSIGN_OR_RETURN(uint64_t current, ReadKnobUint(dir, kLimit));
    if (swap == -1 || current < static_cast<uint64_t>(swap)) {
      LIMAN_RETURN_IF_ERROR(SetSwap(dir, swap));
      return SetLimit(dir, limit);
    }
  }
  LIMAN_RETURN_IF_ERROR(SetLimit(dir, limit));
  return SetSwap(dir, swap);
}

absl::Status ReadEntry(const std::string& dir, std::string_view prefix, uint64_t& usage, uint64_t& max_usage,
                       uint64_t& failcnt, uint64_t& limit) {
  LIMAN_ASSIGN_OR_RETURN(usage, ReadKnobUint(dir, fmt::format("{}.usage_in_bytes", prefix)));
  LIMAN_ASSIGN_OR_RETURN(max_usage, ReadKnobUint(dir, fmt::format("{}.max_usage_in_bytes", prefix)));
  LIMAN_ASSIGN_OR_RETURN(failcnt, ReadKnobUint(dir, fmt::format("{}.failcnt", prefix)));
  LIMAN_ASSIGN_OR_RETURN(limit, ReadKnobUint(dir, fmt::format("{}.limit_in_bytes", prefix)));
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyMemory(const std::string& dir, const oci::MemoryResources& memory) {
  int64_t limit = memory.limit.value_or(0);
  if (memory.check_before_update.value_or(false) && limit > 0) {
    // The spec's checkBeforeUpdate: refuse a limit below the current usage instead of letting the
    // kernel reclaim or OOM-kill to reach it.
    LIMAN_ASSIGN_OR_RETURN(uint64_t usage, ReadKnobUint(dir, "memory.usage_in_bytes"));
    if (usage > static_cast<uint64_t>(limit))
      return absl::FailedPreconditionError(
          fmt::format("memory limit {} is below the current usage {} of {}", limit, usage, Quote(dir)));
  }
  LIMAN_RETURN_IF_ERROR(SetLimitAndSwap(dir, limit, memory.swap.value_or(0)));
  if (memory.reservation && *memory.reservation != 0)
    LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "memory.soft_limit_in_bytes", std::to_string(*memory.reservation)));
  if (memory.kernel) {
    // Kernel memory limits are deprecated (5.16: writes have no effect) and the file is gone in
    // later kernels; the spec marks the field NOT RECOMMENDED, so a missing file is only a warning.
    if (KnobExists(dir, "memory.kmem.limit_in_bytes"))
      LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "memory.kmem.limit_in_bytes", std::to_string(*memory.kernel)));
    else
      LogWarn("linux.resources.memory.kernel ignored: {} does not exist on this kernel",
              Quote(JoinPath(dir, "memory.kmem.limit_in_bytes")));
  }
  if (memory.kernel_tcp) {
    if (KnobExists(dir, "memory.kmem.tcp.limit_in_bytes"))
      LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "memory.kmem.tcp.limit_in_bytes", std::to_string(*memory.kernel_tcp)));
    else
      LogWarn("linux.resources.memory.kernelTCP ignored: {} does not exist on this kernel",
              Quote(JoinPath(dir, "memory.kmem.tcp.limit_in_bytes")));
  }
  // Swappiness -1 (Docker's "unset", seen as 2^64-1 in an unsigned field) leaves the knob alone.
  if (memory.swappiness && *memory.swappiness != UINT64_MAX) {
    if (*memory.swappiness > 100)
      return absl::InvalidArgumentError(
          fmt::format("invalid memory swappiness {}: the valid range is 0-100", *memory.swappiness));
    LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "memory.swappiness", std::to_string(*memory.swappiness)));
  }
  // oom_control "1" disables the OOM killer for the group (memory.rst, "OOM Control").
  if (memory.disable_oom_killer.value_or(false)) LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "memory.oom_control", "1"));
  return absl::OkStatus();
}

absl::Status ReadMemoryStats(const std::string& dir, MemoryStats& stats) {
  LIMAN_ASSIGN_OR_RETURN(stats.raw, ReadKeyValues(dir, "memory.stat"));
  stats.cache = stats.raw.count("cache") ? stats.raw["cache"] : 0;
  stats.rss = stats.raw.count("rss") ? stats.raw["rss"] : 0;
  LIMAN_RETURN_IF_ERROR(ReadEntry(dir, "memory", stats.usage, stats.max_usage, stats.failcnt, stats.limit));
  // v1 reports swap as memory+swap (memsw); it is absent without swap accounting.
  if (KnobExists(dir, "memory.memsw.usage_in_bytes"))
    LIMAN_RETURN_IF_ERROR(
        ReadEntry(dir, "memory.memsw", stats.swap_usage, stats.swap_max_usage, stats.swap_failcnt, stats.swap_limit));
  return absl::OkStatus();
}

absl::StatusOr<int> OpenOomNotifier(const std::string& dir) {
  // memory.rst, "Memory thresholds"/"OOM Control": register "<event_fd> <fd of memory.oom_control>"
  // in cgroup.event_control; the eventfd is then signalled on every OOM in the group, and also
  // when the cgroup is removed.
  UniqueFd efd(eventfd(0, EFD_CLOEXEC));
  if (!efd) return ErrnoError("eventfd");
  std::string control_path = JoinPath(dir, "memory.oom_control");
  UniqueFd control(open(control_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!control) return ErrnoError(fmt::format("open {}", Quote(control_path)));
  LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "cgroup.event_control", fmt::format("{} {}", efd.get(), control.get())));
  // The registration holds its own references; memory.oom_control's fd is no longer needed.
  return efd.release();
}

}  // namespace liman::cgroups::v1
