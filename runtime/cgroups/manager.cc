// Layout detection, manager construction (path resolution) and the stats JSON; the work itself
// is in v1_manager.cc, v2_manager.cc and the per-controller files.
#include "runtime/cgroups/manager.h"

#include <algorithm>

#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"
#include "runtime/cgroups/fs_util.h"
#include "common/cgroup_layout.h"
#include "runtime/cgroups/v1_manager.h"
#include "runtime/cgroups/v2_manager.h"

namespace liman::cgroups {

using nlohmann::json;

const char* LayoutName(Layout layout) {
  switch (layout) {
    case Layout::kLegacy:
      return "legacy";
    case Layout::kHybrid:
      return "hybrid";
    case Layout::kUnified:
      return "unified";
  }
  return "unknown";
}

absl::StatusOr<Layout> DetectLayout(const std::string& mount_root, const std::string& proc_root) {
  LIMAN_ASSIGN_OR_RETURN(CgroupMounts mounts, FindCgroupMounts(mount_root, proc_root));
  return mounts.layout;
}

absl::StatusOr<Layout> DetectLayout(const std::string& mount_root) { return DetectLayout(mount_root, "/proc"); }

absl::StatusOr<std::unique_ptr<Manager>> NewManager(const ManagerOptions& options) {
  LIMAN_ASSIGN_OR_RETURN(CgroupMounts mounts, FindCgroupMounts(options.mount_root, options.proc_root));
  const std::string& requested = options.cgroups_path.empty() ? options.container_id : options.cgroups_path;
  if (requested.empty())
    return absl::InvalidArgumentError("cgroups: neither a cgroupsPath nor a container id to name the cgroup");
  LIMAN_ASSIGN_OR_RETURN(std::string inner, CleanCgroupPath(requested));

  std::vector<ProcCgroupEntry> own_entries;
  const bool relative = inner.front() != '/';
  if (relative) {
    std::string file = JoinPath(
        JoinPath(options.proc_root, options.relative_to_pid > 0 ? std::to_string(options.relative_to_pid) : "self"),
        "cgroup");
    LIMAN_ASSIGN_OR_RETURN(std::string text, ReadFile(file));
    LIMAN_ASSIGN_OR_RETURN(own_entries, ParseProcCgroup(text));
  }
  auto dir_in = [&](const CgroupMount& mount) -> absl::StatusOr<std::string> {
    std::string own;
    if (relative) {
      LIMAN_ASSIGN_OR_RETURN(own, OwnCgroup(mount, own_entries));
    }
    return ContainerDir(mount, inner, own);
  };

  if (mounts.layout == Layout::kUnified) {
    LIMAN_ASSIGN_OR_RETURN(std::string path, dir_in(*mounts.v2));
    return std::unique_ptr<Manager>(new V2Manager(V2Dir{mounts.v2->mountpoint, path, {}}));
  }
  std::vector<V1Dir> dirs;
  std::vector<std::string> bound;  // controllers some v1 hierarchy has
  for (const CgroupMount& mount : mounts.v1) {
    LIMAN_ASSIGN_OR_RETURN(std::string path, dir_in(mount));
    dirs.push_back(V1Dir{mount.mountpoint, mount.controllers, path, {}});
    bound.insert(bound.end(), mount.controllers.begin(), mount.controllers.end());
  }
  std::optional<UnifiedPart> unified;
  if (mounts.layout == Layout::kHybrid) {
    UnifiedPart part;
    LIMAN_ASSIGN_OR_RETURN(std::string path, dir_in(*mounts.v2));
    part.dir = V2Dir{mounts.v2->mountpoint, path, {}};
    // The cgroup2 root lists exactly the controllers not bound to a v1 hierarchy (cgroup-v2.rst,
    // "Mounting"); those are the ones to drive through the unified directory.
    LIMAN_ASSIGN_OR_RETURN(std::string available, ReadKnob(mounts.v2->mountpoint, "cgroup.controllers"));
    for (std::string_view controller : SplitFields(available))
      if (std::find(bound.begin(), bound.end(), controller) == bound.end()) part.controllers.emplace_back(controller);
    unified = std::move(part);
  }
  return std::unique_ptr<Manager>(new V1Manager(std::move(dirs), std::move(unified)));
}

absl::StatusOr<std::unique_ptr<Manager>> LoadManager(const json& saved) {
  if (!saved.is_object() || !saved.contains("layout") || !saved["layout"].is_string())
    return absl::InvalidArgumentError("saved cgroup state: no layout");
  std::string layout = saved["layout"].get<std::string>();
  if (layout == "unified") return V2Manager::Load(saved);
  if (layout == "legacy" || layout == "hybrid") return V1Manager::Load(saved);
  return absl::InvalidArgumentError(fmt::format("saved cgroup state: unknown layout {}", Quote(layout)));
}

namespace {

// Go's encoding/json omits zero values of fields tagged omitempty; these mirror that.
void PutNonZero(json& j, const char* key, uint64_t value) {
  if (value != 0) j[key] = value;
}

json MemoryEntryJson(uint64_t limit, uint64_t usage, uint64_t max, uint64_t failcnt) {
  json j{{"limit", limit}};
  PutNonZero(j, "usage", usage);
  PutNonZero(j, "max", max);
  j["failcnt"] = failcnt;
  return j;
}

json BlkioJson(const std::vector<BlkioEntry>& entries) {
  json list = json::array();
  for (const BlkioEntry& e : entries) {
    json j = json::object();
    PutNonZero(j, "major", e.major);
    PutNonZero(j, "minor", e.minor);
    if (!e.op.empty()) j["op"] = e.op;
    PutNonZero(j, "value", e.value);
    list.push_back(std::move(j));
  }
  return list;
}

}  // namespace

json StatsToJson(const Stats& stats) {
  // runc's types.Stats (types/events.go) as filled by convertLibcontainerStats (events.go).
  json usage = json::object();
  PutNonZero(usage, "total", stats.cpu.usage_total_ns);
  if (!stats.cpu.usage_per_cpu_ns.empty()) usage["percpu"] = stats.cpu.usage_per_cpu_ns;
  usage["kernel"] = stats.cpu.usage_kernel_ns;
  usage["user"] = stats.cpu.usage_user_ns;
  json throttling = json::object();
  PutNonZero(throttling, "periods", stats.cpu.throttling_periods);
  PutNonZero(throttling, "throttledPeriods", stats.cpu.throttled_periods);
  PutNonZero(throttling, "throttledTime", stats.cpu.throttled_time_ns);

  const MemoryStats& m = stats.memory;
  json memory = json::object();
  PutNonZero(memory, "cache", m.cache);
  memory["usage"] = MemoryEntryJson(m.limit, m.usage, m.max_usage, m.failcnt);
  memory["swap"] = MemoryEntryJson(m.swap_limit, m.swap_usage, m.swap_max_usage, m.swap_failcnt);
  if (!m.raw.empty()) memory["raw"] = m.raw;

  json pids = json::object();
  PutNonZero(pids, "current", stats.pids.current);
  PutNonZero(pids, "limit", stats.pids.limit);

  json blkio = json::object();
  if (!stats.blkio_service_bytes.empty()) blkio["ioServiceBytesRecursive"] = BlkioJson(stats.blkio_service_bytes);
  if (!stats.blkio_serviced.empty()) blkio["ioServicedRecursive"] = BlkioJson(stats.blkio_serviced);

  json hugetlb = json::object();
  for (const auto& [size, h] : stats.hugetlb) {
    json entry = json::object();
    PutNonZero(entry, "usage", h.usage);
    PutNonZero(entry, "max", h.max_usage);
    entry["failcnt"] = h.failcnt;
    hugetlb[size] = std::move(entry);
  }
  return json{{"cpu", {{"usage", usage}, {"throttling", throttling}}},
              {"memory", memory},
              {"pids", pids},
              {"blkio", blkio},
              {"hugetlb", hugetlb}};
}

}  // namespace liman::cgroups
