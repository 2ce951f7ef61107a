// The cgroup v1 manager, for the legacy layout (v1 hierarchies only) and the hybrid one (v1
// hierarchies plus a cgroup2 hierarchy at <root>/unified). In hybrid mode the container also gets
// a directory in the unified hierarchy, as runc gives it, and controllers that only exist there
// (hugetlb on a kernel that bound it to v2) are driven through it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "runtime/cgroups/manager.h"
#include "runtime/cgroups/v2_manager.h"

namespace liman::cgroups {

// One v1 hierarchy and the container's directory in it.
struct V1Dir {
  std::string mountpoint;                // /sys/fs/cgroup/memory
  std::vector<std::string> controllers;  // {"memory"}, {"cpu", "cpuacct"}, {"name=systemd"}
  std::string path;                      // /sys/fs/cgroup/memory/<cgroupsPath>
  std::vector<std::string> created;      // directories Create made, top-down
};

// The hybrid layout's cgroup2 part: the directory, and the controllers handled there (those
// the cgroup2 root offers that no v1 hierarchy binds).
struct UnifiedPart {
  V2Dir dir;
  std::vector<std::string> controllers;
};

class V1Manager final : public Manager {
 public:
  V1Manager(std::vector<V1Dir> dirs, std::optional<UnifiedPart> unified)
      : dirs_(std::move(dirs)), unified_(std::move(unified)) {}
  static absl::StatusOr<std::unique_ptr<Manager>> Load(const nlohmann::json& saved);

  Layout layout() const override { return unified_ ? Layout::kHybrid : Layout::kLegacy; }
  absl::Status Create() override;
  absl::StatusOr<SelfJoin> OpenSelfJoin() const override;
  absl::Status Apply(const oci::Resources& resources) override;
  absl::Status Freeze() override;
  absl::Status Thaw() override;
  absl::StatusOr<FreezerState> GetFreezerState() override;
  absl::StatusOr<std::vector<pid_t>> Pids() override;
  absl::StatusOr<Stats> GetStats() override;
  absl::Status Destroy() override;
  absl::StatusOr<int> OpenOomNotifier() override;
  std::vector<Hierarchy> Hierarchies() const override;
  nlohmann::json Save() const override;

 private:
  // The container's directory in the hierarchy binding `controller`, or nullptr.
  const V1Dir* Find(std::string_view controller) const;
  // As Find, but an error naming the resource when the controller is not mounted.
  absl::StatusOr<std::string> DirFor(std::string_view controller, std::string_view resource) const;
  bool UnifiedHas(std::string_view controller) const;

  std::vector<V1Dir> dirs_;
  std::optional<UnifiedPart> unified_;
};

}  // namespace liman::cgroups
