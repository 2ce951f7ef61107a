#include "runtime/cgroups/v2_manager.h"

#include <algorithm>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/status.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/cgroups/fs_util.h"
#include "runtime/cgroups/v2/cpu.h"
#include "runtime/cgroups/v2/cpuset.h"
#include "runtime/cgroups/v2/devices.h"
#include "runtime/cgroups/v2/freezer.h"
#include "runtime/cgroups/v2/hugetlb.h"
#include "runtime/cgroups/v2/io.h"
#include "runtime/cgroups/v2/memory.h"
#include "runtime/cgroups/v2/pids.h"

namespace liman::cgroups {

using nlohmann::json;

absl::Status EnableSubtreeControllers(const std::string& mountpoint, const std::string& leaf,
                                      const std::optional<std::vector<std::string>>& wanted) {
  std::vector<std::string> chain = {mountpoint};
  for (size_t pos = mountpoint.size() + 1; pos < leaf.size(); ++pos)
    if (leaf[pos] == '/') chain.push_back(leaf.substr(0, pos));
  for (const std::string& dir : chain) {
    LIMAN_ASSIGN_OR_RETURN(std::string available, ReadKnob(dir, "cgroup.controllers"));
    LIMAN_ASSIGN_OR_RETURN(std::string enabled_text, ReadKnob(dir, "cgroup.subtree_control"));
    std::vector<std::string_view> enabled = SplitFields(enabled_text);
    std::vector<std::string> todo;
    for (std::string_view controller : SplitFields(available)) {
      if (std::find(enabled.begin(), enabled.end(), controller) != enabled.end()) continue;
      if (wanted && std::find(wanted->begin(), wanted->end(), controller) == wanted->end()) continue;
      todo.push_back(fmt::format("+{}", controller));
    }
    if (todo.empty()) continue;
    std::string all = fmt::format("{}", fmt::join(todo, " "));
    if (WriteKnob(dir, "cgroup.subtree_control", all).ok()) continue;
    // One refusal fails the whole write; enable the others one by one (runc does the same).
    for (const std::string& one : todo)
      if (absl::Status status = WriteKnob(dir, "cgroup.subtree_control", one); !status.ok())
        LogWarn("cannot enable cgroup controller {}: {}", one.substr(1), std::string(status.message()));
  }
  return absl::OkStatus();
}

json V2DirToJson(const V2Dir& dir) {
  return json{{"mountpoint", dir.mountpoint}, {"path", dir.path}, {"created", dir.created}};
}

absl::StatusOr<V2Dir> V2DirFromJson(const json& j) {
  if (!j.is_object() || !j.contains("mountpoint") || !j["mountpoint"].is_string() || !j.contains("path") ||
      !j["path"].is_string())
    return absl::InvalidArgumentError("saved cgroup state: the cgroup2 entry lacks mountpoint/path");
  V2Dir dir;
  dir.mountpoint = j["mountpoint"].get<std::string>();
  dir.path = j["path"].get<std::string>();
  if (j.contains("created")) {
    if (!j["created"].is_array()) return absl::InvalidArgumentError("saved cgroup state: \"created\" is not a list");
    for (const json& c : j["created"]) {
      if (!c.is_string()) return absl::InvalidArgumentError("saved cgroup state: \"created\" holds a non-string");
      dir.created.push_back(c.get<std::string>());
    }
  }
  return dir;
}

absl::StatusOr<std::unique_ptr<Manager>> V2Manager::Load(const json& saved) {
  if (!saved.contains("unified")) return absl::InvalidArgumentError("saved cgroup state: no \"unified\" entry");
  LIMAN_ASSIGN_OR_RETURN(V2Dir dir, V2DirFromJson(saved["unified"]));
  return std::unique_ptr<Manager>(new V2Manager(std::move(dir)));
}

absl::Status V2Manager::Create() {
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> created, MakeCgroupDir(dir_.mountpoint, dir_.path));
  if (!created.empty()) dir_.created = std::move(created);
  return Annotate(EnableSubtreeControllers(dir_.mountpoint, dir_.path, std::nullopt), "enable cgroup controllers");
}

absl::StatusOr<SelfJoin> V2Manager::OpenSelfJoin() const {
  SelfJoin join;
  LIMAN_ASSIGN_OR_RETURN(join.cgroup2_dir, OpenCgroupDir(dir_.path));
  LIMAN_ASSIGN_OR_RETURN(join.cgroup2_procs, OpenKnobForWrite(dir_.path, "cgroup.procs"));
  return join;
}

absl::Status V2Manager::Apply(const oci::Resources& r) {
  const std::string& dir = dir_.path;
  // runc's order (fs2.Manager.Set); the unified map comes last so it can override anything.
  if (r.pids_limit) LIMAN_RETURN_IF_ERROR(v2::ApplyPids(dir, *r.pids_limit));
  if (r.memory) LIMAN_RETURN_IF_ERROR(v2::ApplyMemory(dir, *r.memory));
  if (r.block_io) LIMAN_RETURN_IF_ERROR(v2::ApplyIo(dir, *r.block_io));
  if (r.cpu) LIMAN_RETURN_IF_ERROR(v2::ApplyCpu(dir, *r.cpu));
  LIMAN_RETURN_IF_ERROR(v2::ApplyDevices(dir, r.devices));
  if (r.cpu) LIMAN_RETURN_IF_ERROR(v2::ApplyCpuset(dir, *r.cpu));
  if (!r.hugepage_limits.empty()) LIMAN_RETURN_IF_ERROR(v2::ApplyHugetlb(dir, r.hugepage_limits));
  if (r.network && (r.network->class_id || !r.network->priorities.empty()))
    return absl::InvalidArgumentError(
        "linux.resources.network is not supported on cgroup v2 (net_cls/net_prio are v1-only controllers)");
  for (const auto& [key, value] : r.unified) {
    // Keys name files of the container's own directory, nothing else (runtime-spec, "unified").
    if (key.empty() || key.find('/') != std::string::npos || key == "." || key == "..")
      return absl::InvalidArgumentError(fmt::format("linux.resources.unified: invalid key {}", Quote(key)));
    LIMAN_RETURN_IF_ERROR(Annotate(WriteKnobV2(dir, key, value), "linux.resources.unified"));
  }
  return absl::OkStatus();
}

absl::Status V2Manager::Freeze() { return v2::Freeze(dir_.path); }
absl::Status V2Manager::Thaw() { return v2::Thaw(dir_.path); }
absl::StatusOr<FreezerState> V2Manager::GetFreezerState() { return v2::GetFreezerState(dir_.path); }
absl::StatusOr<std::vector<pid_t>> V2Manager::Pids() { return ReadProcsRecursive(dir_.path); }

absl::StatusOr<Stats> V2Manager::GetStats() {
  Stats stats;
  const std::string& dir = dir_.path;
  // Each controller's files exist only when it is enabled for the cgroup; report what there is.
  if (KnobExists(dir, "memory.stat")) LIMAN_RETURN_IF_ERROR(v2::ReadMemoryStats(dir, stats.memory));
  LIMAN_RETURN_IF_ERROR(v2::ReadCpuStats(dir, stats.cpu));  // cpu.stat is always there
  if (KnobExists(dir, "pids.current")) LIMAN_RETURN_IF_ERROR(v2::ReadPidsStats(dir, stats.pids));
  if (KnobExists(dir, "io.stat")) LIMAN_RETURN_IF_ERROR(v2::ReadIoStats(dir, stats));
  LIMAN_RETURN_IF_ERROR(v2::ReadHugetlbStats(dir, stats));
  return stats;
}

absl::Status V2Manager::Destroy() { return RemoveCgroupDir(dir_.path, dir_.created); }

absl::StatusOr<int> V2Manager::OpenOomNotifier() {
  if (!KnobExists(dir_.path, "memory.events")) return -1;
  return v2::OpenOomNotifier(dir_.path);
}

std::vector<Hierarchy> V2Manager::Hierarchies() const { return {{"", "cgroup2", "", dir_.path}}; }

json V2Manager::Save() const { return json{{"version", 1}, {"layout", "unified"}, {"unified", V2DirToJson(dir_)}}; }

}  // namespace liman::cgroups
