// docker update: a container's resources and restart policy. As moby: the fields given (and
// non-zero) replace the recorded ones in HostConfig, the result is checked as create checks it,
// a running task gets the new limits through the manager's Tasks.Update (the runtime's
// `update`), and the manager's spec takes them too, so the next start has them.
#include "common/status.h"
#include "containerd/services/tasks/v1/tasks.grpc.pb.h"
#include "ctl/liman-ctr/run.h"
#include "engine/daemon/daemon.h"
#include "engine/daemon/docker_spec.h"
#include "fmt/format.h"
#include "google/protobuf/field_mask.pb.h"

namespace liman::engine {

namespace containers = ::containerd::services::containers::v1;
namespace tasks = ::containerd::services::tasks::v1;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

constexpr char kLinuxResourcesTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";

// HostConfig's resource fields docker update may change: numbers, a zero meaning "unchanged".
constexpr const char* kNumberFields[] = {"BlkioWeight", "CpuShares",  "CpuPeriod",         "CpuQuota", "Memory",
                                         "MemorySwap",  "NanoCpus",   "MemoryReservation", "PidsLimit"};
constexpr const char* kStringFields[] = {"CpusetCpus", "CpusetMems"};
// The sections of the OCI resources that DockerResources writes (devices stay as they are).
constexpr const char* kResourceSections[] = {"memory", "cpu", "pids", "blockIO"};

// moby's container.UpdateContainer: `update` merged into `host`, or kInvalidArgument.
absl::Status MergeUpdate(json& host, const json& update) {
  for (const char* field : kNumberFields) {
    if (!update.contains(field) || update[field].is_null()) continue;
    if (!update[field].is_number_integer())
      return absl::InvalidArgumentError(fmt::format("json: cannot unmarshal {}: not an integer", field));
    if (update[field].get<int64_t>() != 0) host[field] = update[field];
  }
  for (const char* field : kStringFields) {
    if (!update.contains(field) || update[field].is_null()) continue;
    if (!update[field].is_string()) return absl::InvalidArgumentError(fmt::format("json: cannot unmarshal {}: not a string", field));
    if (!update[field].get<std::string>().empty()) host[field] = update[field];
  }
  // NanoCpus and CpuQuota/CpuPeriod replace each other.
  auto set = [&](const char* field) { return update.contains(field) && update[field].is_number_integer() && update[field] != 0; };
  if (set("NanoCpus")) {
    host["CpuPeriod"] = 0;
    host["CpuQuota"] = 0;
  } else if (set("CpuPeriod") || set("CpuQuota")) {
    host["NanoCpus"] = 0;
  }
  if (set("Memory") && !set("MemorySwap") && host.value("MemorySwap", int64_t{0}) > 0 &&
      update["Memory"].get<int64_t>() > host["MemorySwap"].get<int64_t>())
    return absl::FailedPreconditionError(
        "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time");
  if (update.contains("RestartPolicy") && update["RestartPolicy"].is_object() &&
      !update["RestartPolicy"].value("Name", "").empty()) {
    LIMAN_ASSIGN_OR_RETURN(RestartPolicy policy, ParseRestartPolicy(update));
    if (policy.kind != RestartPolicy::Kind::kNo && host.value("AutoRemove", false))
      return absl::InvalidArgumentError("Restart policy cannot be updated because AutoRemove is enabled for the container");
    host["RestartPolicy"] = update["RestartPolicy"];
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Daemon::UpdateStoredSpec(const std::string& id, const std::function<void(ordered_json&)>& change) {
  LIMAN_ASSIGN_OR_RETURN(containers::Container stored, ctr::GetContainer(*client_, id));
  ordered_json spec = ordered_json::parse(stored.spec().value(), nullptr, false);
  if (spec.is_discarded() || !spec.is_object()) return absl::InternalError(fmt::format("container {}: its spec is not JSON", id));
  change(spec);
  containers::UpdateContainerRequest request;
  *request.mutable_container() = stored;
  request.mutable_container()->mutable_spec()->set_value(spec.dump());
  request.mutable_update_mask()->add_paths("spec");
  containers::UpdateContainerResponse response;
  auto context = client_->Context();
  grpc::Status status = client_->Containers().Update(context.get(), request, &response);
  if (!status.ok()) return ctr::CallError(status, fmt::format("update the spec of container {}", id));
  return absl::OkStatus();
}

absl::StatusOr<json> Daemon::UpdateContainer(const std::string& ref, const json& update) {
  if (!update.is_object()) return absl::InvalidArgumentError("update config cannot be empty");
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(ref));
  std::lock_guard lifecycle(container->lifecycle);
  json host;
  bool running = false;
  {
    std::lock_guard lock(mu_);
    if (container->removed) return absl::NotFoundError(fmt::format("No such container: {}", ref));
    host = container->record["HostConfig"];
    running = container->Running();
  }
  LIMAN_RETURN_IF_ERROR(MergeUpdate(host, update));
  LIMAN_ASSIGN_OR_RETURN(ordered_json resources, DockerResources(host));
  const std::string& id = container->id;

  // The running task first: a limit the kernel refuses changes nothing.
  if (running) {
    tasks::UpdateTaskRequest request;
    request.set_container_id(id);
    request.mutable_resources()->set_type_url(kLinuxResourcesTypeUrl);
    request.mutable_resources()->set_value(resources.dump());
    google::protobuf::Empty empty;
    auto context = client_->Context();
    grpc::Status status = client_->Tasks().Update(context.get(), request, &empty);
    if (!status.ok()) return ctr::CallError(status, fmt::format("Cannot update container {}", id));
  }
  // The manager's spec, for the next start.
  LIMAN_RETURN_IF_ERROR(UpdateStoredSpec(id, [&](ordered_json& spec) {
    ordered_json& spec_resources = spec["linux"]["resources"];
    if (!spec_resources.is_object()) spec_resources = ordered_json::object();
    for (const char* section : kResourceSections) spec_resources.erase(section);
    spec_resources.update(resources);
  }));

  std::lock_guard lock(mu_);
  container->record["HostConfig"] = host;
  LIMAN_RETURN_IF_ERROR(SaveLocked(*container));
  ContainerEventLocked(*container, "update");
  return json{{"Warnings", json::array()}};
}

}  // namespace liman::engine
