// docker container prune and docker volume prune (image prune is with the images): what is not
// in use goes, and the space it held is reported as Docker reports it (a container's writable
// layer, a volume's files). docker system df counts the same sizes.
#include "absl/time/clock.h"
#include "common/disk_usage.h"
#include "common/logging.h"
#include "common/status.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "ctl/liman-ctr/run.h"
#include "engine/daemon/daemon.h"
#include "engine/daemon/json_log_reader.h"
#include "fmt/format.h"

namespace liman::engine {

namespace snapshots = ::containerd::services::snapshots::v1;
using nlohmann::json;

absl::StatusOr<std::optional<absl::Time>> UntilFilter(const json& filters) {
  std::vector<std::string> until = FilterValues(filters, "until");
  if (until.empty()) return std::optional<absl::Time>();
  absl::StatusOr<absl::Time> time = ParseLogTime(until.front(), absl::Now());
  if (!time.ok()) return absl::InvalidArgumentError(fmt::format("invalid filter 'until={}'", until.front()));
  return std::optional<absl::Time>(*time);
}

std::optional<int64_t> Daemon::WritableLayerSize(const std::string& id) {
  snapshots::UsageRequest request;
  request.set_snapshotter(ctr::kDefaultSnapshotter);
  request.set_key(id);
  snapshots::UsageResponse usage;
  auto context = client_->Context();
  if (!client_->Snapshots().Usage(context.get(), request, &usage).ok()) return std::nullopt;
  return usage.size();
}

std::optional<int64_t> Daemon::VolumeSize(const std::string& name) const {
  absl::StatusOr<DiskUsage> usage = MeasureDiskUsage(options_.data_root + "/volumes/" + name);
  if (!usage.ok()) return std::nullopt;
  return static_cast<int64_t>(usage->size);
}

absl::StatusOr<json> Daemon::PruneContainers(const json& filters) {
  LIMAN_ASSIGN_OR_RETURN(std::optional<absl::Time> until, UntilFilter(filters));
  std::vector<std::string> candidates;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, container] : containers_) {
      if (container->Running() || container->Restarting() || container->monitored) continue;
      if (!LabelFiltersMatch(container->record["Config"].value("Labels", json::object()), filters)) continue;
      absl::StatusOr<absl::Time> created = ParseLogTime(container->record.value("Created", ""), absl::Now());
      if (until && created.ok() && *created >= *until) continue;
      candidates.push_back(id);
    }
  }
  json deleted = json::array();
  uint64_t reclaimed = 0;
  for (const std::string& id : candidates) {
    std::optional<int64_t> size = WritableLayerSize(id);
    // Started since it was chosen: the removal refuses, and it stays.
    absl::Status removed = RemoveContainer(id, /*force=*/false, /*remove_volumes=*/false);
    if (!removed.ok()) {
      LogInfo("container prune: {} stays: {}", id, removed);
      continue;
    }
    deleted.push_back(id);
    if (size) reclaimed += static_cast<uint64_t>(*size);
  }
  return json{{"ContainersDeleted", deleted}, {"SpaceReclaimed", reclaimed}};
}

absl::StatusOr<json> Daemon::PruneVolumes(const json& filters) {
  json deleted = json::array();
  uint64_t reclaimed = 0;
  std::lock_guard lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, volume] : volumes_)
    if (VolumeUsersLocked(name).empty() && LabelFiltersMatch(volume.value("Labels", json::object()), filters))
      names.push_back(name);
  for (const std::string& name : names) {
    // A volume that cannot be measured is still removed; it just adds nothing to the count.
    std::optional<int64_t> size = VolumeSize(name);
    LIMAN_RETURN_IF_ERROR(RemoveVolumeLocked(name, /*force=*/false));
    deleted.push_back(name);
    if (size) reclaimed += static_cast<uint64_t>(*size);
  }
  return json{{"VolumesDeleted", deleted}, {"SpaceReclaimed", reclaimed}};
}

absl::StatusOr<json> Daemon::SystemDiskUsage() {
  LIMAN_ASSIGN_OR_RETURN(json usage, ImagesDiskUsage());
  std::map<std::string, int64_t> image_size;
  for (const json& image : usage["Images"]) image_size[image["Id"].get<std::string>()] = image["Size"].get<int64_t>();

  LIMAN_ASSIGN_OR_RETURN(json containers, ListContainers(/*all=*/true, /*limit=*/-1, json::object()));
  for (json& container : containers) {
    int64_t rw = WritableLayerSize(container["Id"].get<std::string>()).value_or(0);
    container["SizeRw"] = rw;
    container["SizeRootFs"] = rw + image_size[container.value("ImageID", "")];
  }
  usage["Containers"] = containers;

  LIMAN_ASSIGN_OR_RETURN(json volumes, ListVolumes());
  json volume_rows = json::array();
  for (json volume : volumes["Volumes"]) {
    const std::string name = volume["Name"].get<std::string>();
    size_t users;
    {
      std::lock_guard lock(mu_);
      users = VolumeUsersLocked(name).size();
    }
    // Docker's -1: not measured.
    volume["UsageData"] = {{"Size", VolumeSize(name).value_or(-1)}, {"RefCount", users}};
    volume_rows.push_back(std::move(volume));
  }
  usage["Volumes"] = volume_rows;
  usage["BuildCache"] = json::array();
  return usage;
}

}  // namespace liman::engine
