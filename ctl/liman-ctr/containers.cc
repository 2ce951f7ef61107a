// `containers ls|info|create|rm` (aliases as ctr: c, container; list; delete, del, remove).
#include <google/protobuf/util/time_util.h>

#include "common/status.h"
#include "ctl/liman-ctr/command.h"
#include "ctl/liman-ctr/labels.h"
#include "ctl/liman-ctr/run.h"
#include "ctl/liman-ctr/table.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace liman::ctr {
namespace {

namespace containers = ::containerd::services::containers::v1;
namespace tasks = ::containerd::services::tasks::v1;
using google::protobuf::util::TimeUtil;

absl::StatusOr<int> ListContainers(Client& client, const std::vector<std::string>& filters, bool quiet) {
  containers::ListContainersRequest request;
  for (const auto& filter : filters) request.add_filters(filter);
  containers::ListContainersResponse response;
  auto context = client.Context();
  grpc::Status status = client.Containers().List(context.get(), request, &response);
  if (!status.ok()) return CallError(status, "list containers");
  if (quiet) {
    std::string out;
    for (const auto& c : response.containers()) out += c.id() + "\n";
    WriteOut(out);
    return 0;
  }
  TabWriter table(4, 8, 4, ' ');
  table.Write("CONTAINER\tIMAGE\tRUNTIME\t\n");
  for (const auto& c : response.containers())
    table.Write(fmt::format("{}\t{}\t{}\t\n", c.id(), c.image().empty() ? "-" : c.image(), c.runtime().name()));
  WriteOut(table.Flush());
  return 0;
}

// ctr containers info: the record as Go's JSON of containers.Container, the spec decoded.
absl::StatusOr<int> ContainerInfo(Client& client, const std::string& id, bool spec_only) {
  LIMAN_ASSIGN_OR_RETURN(containers::Container c, GetContainer(client, id));
  nlohmann::ordered_json spec = nlohmann::ordered_json::parse(c.spec().value(), nullptr, false);
  if (spec_only) {
    WriteOut((spec.is_discarded() ? nlohmann::ordered_json() : spec).dump(4) + "\n");
    return 0;
  }
  nlohmann::ordered_json info;
  info["ID"] = c.id();
  info["Labels"] = nullptr;
  for (const auto& [key, value] : ToMap(c.labels())) info["Labels"][key] = value;
  info["Image"] = c.image();
  info["Runtime"] = {{"Name", c.runtime().name()},
                     {"Options", c.runtime().has_options() ? nlohmann::ordered_json{{"type_url", c.runtime().options().type_url()}}
                                                           : nlohmann::ordered_json()}};
  info["SnapshotKey"] = c.snapshot_key();
  info["Snapshotter"] = c.snapshotter();
  info["CreatedAt"] = TimeUtil::ToString(c.created_at());
  info["UpdatedAt"] = TimeUtil::ToString(c.updated_at());
  info["Extensions"] = nullptr;  // Go's nil map
  for (const auto& [name, any] : c.extensions()) info["Extensions"][name] = {{"type_url", any.type_url()}};
  if (!spec.is_discarded()) info["Spec"] = spec;
  WriteOut(info.dump(4) + "\n");
  return 0;
}

// ctr's deleteContainer: a task that is not stopped keeps the container; a stopped one is
// deleted first.
absl::Status RemoveContainer(Client& client, const std::string& id) {
  tasks::GetRequest get;
  get.set_container_id(id);
  tasks::GetResponse task;
  auto context = client.Context();
  grpc::Status status = client.Tasks().Get(context.get(), get, &task);
  if (status.ok()) {
    if (task.process().status() != ::containerd::v1::types::STOPPED)
      return absl::FailedPreconditionError(
          fmt::format("cannot delete a non stopped container: {}",
                      ::containerd::v1::types::Status_Name(task.process().status())));
    tasks::DeleteTaskRequest remove;
    remove.set_container_id(id);
    tasks::DeleteResponse deleted;
    auto remove_context = client.Context();
    status = client.Tasks().Delete(remove_context.get(), remove, &deleted);
    if (!status.ok() && status.error_code() != grpc::StatusCode::NOT_FOUND)
      return CallError(status, fmt::format("delete task {}", Quote(id)));
  } else if (status.error_code() != grpc::StatusCode::NOT_FOUND) {
    return CallError(status, fmt::format("get task {}", Quote(id)));
  }
  return DeleteContainerAndSnapshot(client, id);
}

}  // namespace

void AddContainersCommands(CLI::App& app, CommandLine& line) {
  CLI::App* group = app.add_subcommand("containers", "manage containers");
  group->alias("container")->alias("c")->require_subcommand(1);

  struct ListOptions {
    bool quiet = false;
    std::vector<std::string> filters;
  };
  auto list_options = Options<ListOptions>();
  CLI::App* list = group->add_subcommand("ls", "list containers")->alias("list");
  list->add_flag("--quiet,-q", list_options->quiet, "print only the container id");
  list->add_option("filters", list_options->filters, "filters (containerd syntax)");
  OnRun(list, line, [list_options](Client& client) {
    return ListContainers(client, list_options->filters, list_options->quiet);
  });

  struct InfoOptions {
    std::string id;
    bool spec = false;
  };
  auto info_options = Options<InfoOptions>();
  CLI::App* info = group->add_subcommand("info", "get info about a container");
  info->add_option("id", info_options->id, "container id")->required();
  info->add_flag("--spec", info_options->spec, "only display the spec");
  OnRun(info, line, [info_options](Client& client) {
    return ContainerInfo(client, info_options->id, info_options->spec);
  });

  auto create_options = Options<ContainerCreateOptions>();
  CLI::App* create = group->add_subcommand("create", "create a container");
  AddContainerCreateFlags(create, *create_options);
  OnRun(create, line, [create_options](Client& client) -> absl::StatusOr<int> {
    LIMAN_RETURN_IF_ERROR(CreateContainerFromImage(client, *create_options).status());
    return 0;
  });

  struct RemoveOptions {
    std::vector<std::string> ids;
  };
  auto remove_options = Options<RemoveOptions>();
  CLI::App* remove = group->add_subcommand("rm", "delete one or more existing containers")
                         ->alias("delete")->alias("del")->alias("remove");
  remove->add_option("ids", remove_options->ids, "container ids")->required();
  OnRun(remove, line, [remove_options](Client& client) -> absl::StatusOr<int> {
    absl::Status first;
    for (const std::string& id : remove_options->ids) {
      absl::Status status = RemoveContainer(client, id);
      if (status.ok()) continue;
      if (first.ok()) {
        first = status;
      } else {
        fmt::print(stderr, "liman-ctr: failed to delete container {}: {}\n", Quote(id), status.message());
      }
    }
    if (!first.ok()) return first;
    return 0;
  });
}

}  // namespace liman::ctr
