// The cgroup v2 manager (unified layout), and the pieces of it the hybrid layout reuses.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "runtime/cgroups/manager.h"

namespace liman::cgroups {

// Writes "+ctrl ..." into cgroup.subtree_control of `mountpoint` and of every directory down to
// the parent of `leaf`, for the controllers each one lists in cgroup.controllers (all of them,
// or only those in `wanted`), so that the leaf gets their interface files (cgroup-v2.rst,
// "Enabling and Disabling"). The leaf's own subtree_control is left alone: it holds processes,
// and "no internal process" forbids both. A controller the kernel refuses to enable (e.g. cpu
// with realtime tasks about) is only warned about; writing its knobs fails later with a message
// saying it is not enabled.
absl::Status EnableSubtreeControllers(const std::string& mountpoint, const std::string& leaf,
                                      const std::optional<std::vector<std::string>>& wanted);

// One cgroup v2 directory of a container.
struct V2Dir {
  std::string mountpoint;
  std::string path;
  std::vector<std::string> created;  // directories Create made, top-down
};
nlohmann::json V2DirToJson(const V2Dir& dir);
absl::StatusOr<V2Dir> V2DirFromJson(const nlohmann::json& json);

class V2Manager final : public Manager {
 public:
  explicit V2Manager(V2Dir dir) : dir_(std::move(dir)) {}
  static absl::StatusOr<std::unique_ptr<Manager>> Load(const nlohmann::json& saved);

  Layout layout() const override { return Layout::kUnified; }
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
  V2Dir dir_;
};

}  // namespace liman::cgroups
