#include "runtime/cgroups/v1_manager.h"

#include <algorithm>

#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/cgroups/fs_util.h"
#include "runtime/cgroups/v1/blkio.h"
#include "runtime/cgroups/v1/cpu.h"
#include "runtime/cgroups/v1/cpuacct.h"
#include "runtime/cgroups/v1/cpuset.h"
#include "runtime/cgroups/v1/devices.h"
#include "runtime/cgroups/v1/freezer.h"
#include "runtime/cgroups/v1/hugetlb.h"
#include "runtime/cgroups/v1/memory.h"
#include "runtime/cgroups/v1/net_cls.h"
#include "runtime/cgroups/v1/net_prio.h"
#include "runtime/cgroups/v1/pids.h"
#include "runtime/cgroups/v2/devices.h"
#include "runtime/cgroups/v2/freezer.h"
#include "runtime/cgroups/v2/hugetlb.h"

namespace liman::cgroups {

using nlohmann::json;

namespace {

bool Contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Whether the spec sets anything the cpu controller (not cpuset) handles; zeros mean "unset".
bool CpuControllerSet(const oci::CpuResources& cpu) {
  return cpu.shares.value_or(0) != 0 || cpu.quota.value_or(0) != 0 || cpu.period.value_or(0) != 0 ||
         cpu.burst.has_value() || cpu.idle.has_value() || cpu.realtime_runtime.value_or(0) != 0 ||
         cpu.realtime_period.value_or(0) != 0;
}

std::string Basename(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

absl::StatusOr<std::vector<std::string>> StringList(const json& j, std::string_view what) {
  if (!j.is_array()) return absl::InvalidArgumentError(fmt::format("saved cgroup state: {} is not a list", what));
  std::vector<std::string> out;
  for (const json& item : j) {
    if (!item.is_string())
      return absl::InvalidArgumentError(fmt::format("saved cgroup state: {} holds a non-string", what));
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Manager>> V1Manager::Load(const json& saved) {
  if (!saved.contains("hierarchies") || !saved["hierarchies"].is_array())
    return absl::InvalidArgumentError("saved cgroup state: no \"hierarchies\" list");
  std::vector<V1Dir> dirs;
  for (const json& h : saved["hierarchies"]) {
    if (!h.is_object() || !h.contains("controllers"))
      return absl::InvalidArgumentError("saved cgroup state: malformed hierarchy entry");
    LIMAN_ASSIGN_OR_RETURN(V2Dir common, V2DirFromJson(h));  // same mountpoint/path/created fields
    V1Dir dir{std::move(common.mountpoint), {}, std::move(common.path), std::move(common.created)};
    LIMAN_ASSIGN_OR_RETURN(dir.controllers, StringList(h["controllers"], "controllers"));
    dirs.push_back(std::move(dir));
  }
  std::optional<UnifiedPart> unified;
  if (saved.contains("unified") && !saved["unified"].is_null()) {
    UnifiedPart part;
    LIMAN_ASSIGN_OR_RETURN(part.dir, V2DirFromJson(saved["unified"]));
    if (saved["unified"].contains("controllers")) {
      LIMAN_ASSIGN_OR_RETURN(part.controllers, StringList(saved["unified"]["controllers"], "controllers"));
    }
    unified = std::move(part);
  }
  return std::unique_ptr<Manager>(new V1Manager(std::move(dirs), std::move(unified)));
}

const V1Dir* V1Manager::Find(std::string_view controller) const {
  for (const V1Dir& dir : dirs_)
    if (Contains(dir.controllers, controller)) return &dir;
  return nullptr;
}

absl::StatusOr<std::string> V1Manager::DirFor(std::string_view controller, std::string_view resource) const {
  if (const V1Dir* dir = Find(controller)) return dir->path;
  return absl::FailedPreconditionError(fmt::format(
      "cannot set linux.resources.{}: the {} cgroup controller is not mounted", resource, Quote(controller)));
}

bool V1Manager::UnifiedHas(std::string_view controller) const {
  return unified_ && Contains(unified_->controllers, controller);
}

absl::Status V1Manager::Create() {
  for (V1Dir& dir : dirs_) {
    LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> created, MakeCgroupDir(dir.mountpoint, dir.path));
    if (!created.empty()) dir.created = std::move(created);
    if (Contains(dir.controllers, "cpuset")) LIMAN_RETURN_IF_ERROR(v1::SeedCpuset(dir.mountpoint, dir.path));
  }
  if (unified_) {
    V2Dir& dir = unified_->dir;
    LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> created, MakeCgroupDir(dir.mountpoint, dir.path));
    if (!created.empty()) dir.created = std::move(created);
    // Controllers of the unified part are enabled only when a resource needs one (Apply): once
    // enabled in the root's subtree_control, a controller can no longer be mounted as a v1
    // hierarchy, which other runtimes on the host (crun) rely on.
  }
  return absl::OkStatus();
}

absl::StatusOr<SelfJoin> V1Manager::OpenSelfJoin() const {
  SelfJoin join;
  for (const V1Dir& dir : dirs_) {
    LIMAN_ASSIGN_OR_RETURN(CgroupFile tasks, OpenKnobForWrite(dir.path, "tasks"));
    join.tasks_files.push_back(std::move(tasks));
  }
  if (unified_) {
    LIMAN_ASSIGN_OR_RETURN(join.cgroup2_dir, OpenCgroupDir(unified_->dir.path));
    LIMAN_ASSIGN_OR_RETURN(join.cgroup2_procs, OpenKnobForWrite(unified_->dir.path, "cgroup.procs"));
  }
  return join;
}

absl::Status V1Manager::Apply(const oci::Resources& r) {
  if (!r.unified.empty()) return absl::InvalidArgumentError("linux.resources.unified cannot be used on cgroup v1");
  if (r.memory) {
    LIMAN_ASSIGN_OR_RETURN(std::string dir, DirFor("memory", "memory"));
    LIMAN_RETURN_IF_ERROR(v1::ApplyMemory(dir, *r.memory));
  }
  if (r.cpu) {
    if (CpuControllerSet(*r.cpu)) {
      LIMAN_ASSIGN_OR_RETURN(std::string dir, DirFor("cpu", "cpu"));
      LIMAN_RETURN_IF_ERROR(v1::ApplyCpu(dir, *r.cpu));
    }
    if (!r.cpu->cpus.empty() || !r.cpu->mems.empty()) {
      LIMAN_ASSIGN_OR_RETURN(std::string dir, DirFor("cpuset", "cpu.cpus/mems"));
      LIMAN_RETURN_IF_ERROR(v1::ApplyCpuset(dir, *r.cpu));
    }
  }
  if (r.pids_limit) {
    LIMAN_ASSIGN_OR_RETURN(std::string dir, DirFor("pids", "pids"));
    LIMAN_RETURN_IF_ERROR(v1::ApplyPids(dir, *r.pids_limit));
  }
  if (r.block_io) {
    LIMAN_ASSIGN_OR_RETURN(std::string dir, DirFor("blkio", "blockIO"));
    LIMAN_RETURN_IF_ERROR(v1::ApplyBlkio(dir, *r.block_io));
  }
  if (!r.hugepage_limits.empty()) {
    if (Find("hugetlb") == nullptr && UnifiedHas("hugetlb")) {
      LIMAN_RETURN_IF_ERROR(Annotate(EnableSubtreeControllers(unified_->dir.mountpoint, unified_->dir.path,
                                                              std::vector<std::string>{"hugetlb"}),
                                     "enable the hugetlb controller"));
      LIMAN_RETURN_IF_ERROR(v2::ApplyHugetlb(unified_->dir.path, r.hugepage_limits));
    } else {
      LIMAN_ASSIGN_OR_RETURN(std::string dir, DirFor("hugetlb", "hugepageLimits"));
      LIMAN_RETURN_IF_ERROR(v1::ApplyHugetlb(dir, r.hugepage_limits));
    }
  }
  if (!r.devices.empty()) {
    if (const V1Dir* dir = Find("devices")) {
      LIMAN_RETURN_IF_ERROR(v1::ApplyDevices(dir->path, r.devices));
    } else if (unified_) {
      // Without a v1 devices hierarchy the cgroup2 eBPF hook still applies to every process
      // (the kernel runs it before the v1 check, security/device_cgroup.c).
      LIMAN_RETURN_IF_ERROR(v2::ApplyDevices(unified_->dir.path, r.devices));
    } else {
      return DirFor("devices", "devices").status();
    }
  }
  if (r.network) {
    if (r.network->class_id) {
      LIMAN_ASSIGN_OR_RETURN(std::string dir, DirFor("net_cls", "network.classID"));
      LIMAN_RETURN_IF_ERROR(v1::ApplyNetCls(dir, *r.network->class_id));
    }
    if (!r.network->priorities.empty()) {
      LIMAN_ASSIGN_OR_RETURN(std::string dir, DirFor("net_prio", "network.priorities"));
      LIMAN_RETURN_IF_ERROR(v1::ApplyNetPrio(dir, r.network->priorities));
    }
  }
  return absl::OkStatus();
}

absl::Status V1Manager::Freeze() {
  if (const V1Dir* dir = Find("freezer")) return v1::Freeze(dir->path);
  if (unified_ && KnobExists(unified_->dir.path, "cgroup.freeze")) return v2::Freeze(unified_->dir.path);
  return absl::UnimplementedError("cannot freeze: neither a v1 freezer hierarchy nor cgroup.freeze is available");
}

absl::Status V1Manager::Thaw() {
  if (const V1Dir* dir = Find("freezer")) return v1::Thaw(dir->path);
  if (unified_ && KnobExists(unified_->dir.path, "cgroup.freeze")) return v2::Thaw(unified_->dir.path);
  return absl::UnimplementedError("cannot thaw: neither a v1 freezer hierarchy nor cgroup.freeze is available");
}

absl::StatusOr<FreezerState> V1Manager::GetFreezerState() {
  if (const V1Dir* dir = Find("freezer")) return v1::GetFreezerState(dir->path);
  if (unified_) return v2::GetFreezerState(unified_->dir.path);
  return FreezerState::kThawed;  // nothing can have frozen it
}

absl::StatusOr<std::vector<pid_t>> V1Manager::Pids() {
  // Every hierarchy holds every process of the container; prefer ones without per-thread
  // placement quirks.
  for (std::string_view controller : {"pids", "freezer", "memory", "devices", "cpu"})
    if (const V1Dir* dir = Find(controller)) return ReadProcsRecursive(dir->path);
  if (!dirs_.empty()) return ReadProcsRecursive(dirs_.front().path);
  if (unified_) return ReadProcsRecursive(unified_->dir.path);
  return std::vector<pid_t>{};
}

absl::StatusOr<Stats> V1Manager::GetStats() {
  Stats stats;
  if (const V1Dir* dir = Find("memory")) LIMAN_RETURN_IF_ERROR(v1::ReadMemoryStats(dir->path, stats.memory));
  if (const V1Dir* dir = Find("cpuacct")) LIMAN_RETURN_IF_ERROR(v1::ReadCpuacctStats(dir->path, stats.cpu));
  if (const V1Dir* dir = Find("cpu")) LIMAN_RETURN_IF_ERROR(v1::ReadCpuThrottling(dir->path, stats.cpu));
  if (const V1Dir* dir = Find("pids")) LIMAN_RETURN_IF_ERROR(v1::ReadPidsStats(dir->path, stats.pids));
  if (const V1Dir* dir = Find("blkio")) LIMAN_RETURN_IF_ERROR(v1::ReadBlkioStats(dir->path, stats));
  if (const V1Dir* dir = Find("hugetlb"))
    LIMAN_RETURN_IF_ERROR(v1::ReadHugetlbStats(dir->path, stats));
  else if (UnifiedHas("hugetlb"))
    LIMAN_RETURN_IF_ERROR(v2::ReadHugetlbStats(unified_->dir.path, stats));
  return stats;
}

absl::Status V1Manager::Destroy() {
  absl::Status first;
  for (const V1Dir& dir : dirs_) {
    absl::Status status = RemoveCgroupDir(dir.path, dir.created);
    if (first.ok()) first = status;
  }
  if (unified_) {
    absl::Status status = RemoveCgroupDir(unified_->dir.path, unified_->dir.created);
    if (first.ok()) first = status;
  }
  return first;
}

absl::StatusOr<int> V1Manager::OpenOomNotifier() {
  if (const V1Dir* dir = Find("memory")) return v1::OpenOomNotifier(dir->path);
  return -1;
}

std::vector<Hierarchy> V1Manager::Hierarchies() const {
  std::vector<Hierarchy> out;
  for (const V1Dir& dir : dirs_)
    out.push_back({Basename(dir.mountpoint), "cgroup", fmt::format("{}", fmt::join(dir.controllers, ",")), dir.path});
  if (unified_) out.push_back({Basename(unified_->dir.mountpoint), "cgroup2", "", unified_->dir.path});
  return out;
}

json V1Manager::Save() const {
  json hierarchies = json::array();
  for (const V1Dir& dir : dirs_)
    hierarchies.push_back({{"mountpoint", dir.mountpoint},
                           {"controllers", dir.controllers},
                           {"path", dir.path},
                           {"created", dir.created}});
  json saved{{"version", 1}, {"layout", unified_ ? "hybrid" : "legacy"}, {"hierarchies", hierarchies}};
  if (unified_) {
    json unified = V2DirToJson(unified_->dir);
    unified["controllers"] = unified_->controllers;
    saved["unified"] = unified;
  }
  return saved;
}

}  // namespace liman::cgroups
