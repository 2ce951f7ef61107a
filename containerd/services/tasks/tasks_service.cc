#include "containerd/services/tasks/tasks_service.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/status.h"
#include "containerd/filters/filters.h"
#include "containerd/runtime/v2/runc/options/oci.pb.h"
#include "containerd/server/grpc_status.h"
#include "containerd/server/namespace_context.h"
#include "containerd/services/tasks/exit_watch.h"
#include "containerd/services/tasks/v1/tasks.grpc.pb.h"
#include "fmt/format.h"
#include "shim/proto_time.h"

namespace liman::containerd::services {
namespace {

namespace api = ::containerd::services::tasks::v1;
namespace task_types = ::containerd::v1::types;

using server::ToGrpcStatus;

// Go's zero time.Time (0001-01-01T00:00:00Z) as a Timestamp. containerd's structs carry exit
// times as non-nullable time.Time, so a process that has not exited is reported with this, and
// Go clients test it with ExitTime.IsZero().
constexpr int64_t kGoZeroTimeSeconds = -62135596800;

google::protobuf::Timestamp ExitTimestamp(absl::Time time) {
  // The task manager's "no exit time" (liman-shim sends none while the process runs).
  if (time == absl::UnixEpoch()) {
    google::protobuf::Timestamp zero;
    zero.set_seconds(kGoZeroTimeSeconds);
    return zero;
  }
  return shim::ToProtoTimestamp(time);
}

task_types::Status ToProtoStatus(tasks::TaskStatus status) {
  switch (status) {
    case tasks::TaskStatus::kCreated: return task_types::CREATED;
    case tasks::TaskStatus::kRunning: return task_types::RUNNING;
    case tasks::TaskStatus::kStopped: return task_types::STOPPED;
    case tasks::TaskStatus::kPaused: return task_types::PAUSED;
    case tasks::TaskStatus::kPausing: return task_types::PAUSING;
    case tasks::TaskStatus::kUnknown: break;
  }
  return task_types::UNKNOWN;
}

// containerd's getProcessState: `id` is the container's id for the init, the exec id otherwise;
// container_id stays empty as containerd leaves it.
void FillProcess(const tasks::ProcessState& state, task_types::Process* process) {
  process->set_id(state.exec_id.empty() ? state.container_id : state.exec_id);
  process->set_pid(state.pid);
  process->set_status(ToProtoStatus(state.status));
  process->set_stdin(state.io.stdin_uri);
  process->set_stdout(state.io.stdout_uri);
  process->set_stderr(state.io.stderr_uri);
  process->set_terminal(state.io.terminal);
  process->set_exit_status(state.exit_status);
  *process->mutable_exited_at() = ExitTimestamp(state.exited_at);
}

void FillDelete(const tasks::ExitInfo& exit, std::string_view id, api::DeleteResponse* response) {
  response->set_id(std::string(id));
  response->set_pid(exit.pid);
  response->set_exit_status(exit.exit_status);
  *response->mutable_exited_at() = ExitTimestamp(exit.exited_at);
}

tasks::TaskIo IoOf(const std::string& in, const std::string& out, const std::string& err, bool terminal) {
  return tasks::TaskIo{in, out, err, terminal};
}

google::protobuf::Any ToProtoAny(const metadata::Any& any) {
  google::protobuf::Any proto;
  proto.set_type_url(any.type_url);
  proto.set_value(any.value);
  return proto;
}

// The message name an Any carries ("types.containerd.io/containerd.runc.v1.Options" and the bare
// "containerd.runc.v1.Options" both name containerd.runc.v1.Options).
std::string_view AnyTypeName(const google::protobuf::Any& any) {
  std::string_view url = any.type_url();
  size_t slash = url.rfind('/');
  return slash == std::string_view::npos ? url : url.substr(slash + 1);
}

// containerd's getRestorePath: runc's options may name a CRIU image to restore the task from.
// Checkpoint and restore are not implemented.
absl::Status CheckNoRestore(const api::CreateTaskRequest& request, const google::protobuf::Any* options) {
  if (request.has_checkpoint())
    return absl::UnimplementedError(
        fmt::format("create task {}: restoring from a checkpoint is not supported", Quote(request.container_id())));
  ::containerd::runc::v1::Options runc_options;
  if (options != nullptr && AnyTypeName(*options) == runc_options.GetDescriptor()->full_name() &&
      runc_options.ParseFromString(options->value()) && !runc_options.criu_image_path().empty())
    return absl::UnimplementedError(fmt::format("create task {}: restoring from checkpoint {} is not supported",
                                                Quote(request.container_id()), Quote(runc_options.criu_image_path())));
  return absl::OkStatus();
}

class TasksService final : public api::Tasks::Service {
 public:
  explicit TasksService(const ServiceDeps& deps) : deps_(deps), exits_(deps.tasks) {}

  grpc::Status Create(grpc::ServerContext* context, const api::CreateTaskRequest* request,
                      api::CreateTaskResponse* response) override {
    return ToGrpcStatus([&]() -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::string ns, server::RequireNamespace(*context));
      LIMAN_ASSIGN_OR_RETURN(metadata::Container container, GetContainer(ns, request->container_id()));

      tasks::CreateTaskOptions options;
      // The options of the call replace the container's runtime options (containerd's
      // runtime/v2 manager: TaskOptions, else RuntimeOptions).
      if (request->has_options()) {
        options.runtime_options = request->options();
      } else if (container.runtime.options) {
        options.runtime_options = ToProtoAny(*container.runtime.options);
      }
      LIMAN_RETURN_IF_ERROR(CheckNoRestore(*request, options.runtime_options ? &*options.runtime_options : nullptr));
      if (!container.spec)
        return absl::InvalidArgumentError(
            fmt::format("create task {}: the container has no spec", Quote(request->container_id())));
      options.spec = container.spec->value;
      options.runtime = request->runtime_path().empty() ? container.runtime.name : request->runtime_path();
      options.io = IoOf(request->stdin(), request->stdout(), request->stderr(), request->terminal());
      // containerd.types.Mount's target is not part of a rootfs mount (containerd's mount.Mount
      // has no target either).
      for (const ::containerd::types::Mount& mount : request->rootfs()) {
        options.rootfs.push_back(MountDescriptor{mount.type(), mount.source(), "",
                                                 {mount.options().begin(), mount.options().end()}});
      }
      if (options.rootfs.empty() && !container.snapshot_key.empty()) {
        LIMAN_ASSIGN_OR_RETURN(options.rootfs, SnapshotMounts(ns, container));
      }

      LIMAN_ASSIGN_OR_RETURN(uint32_t pid, deps_.tasks->Create(ns, container.id, options));
      response->set_container_id(container.id);
      response->set_pid(pid);
      return absl::OkStatus();
    }());
  }

  grpc::Status Start(grpc::ServerContext* context, const api::StartRequest* request,
                     api::StartResponse* response) override {
    return ToGrpcStatus([&]() -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::string ns, TaskNamespace(*context, request->container_id()));
      LIMAN_ASSIGN_OR_RETURN(uint32_t pid, deps_.tasks->Start(ns, request->container_id(), request->exec_id()));
      response->set_pid(pid);
      return absl::OkStatus();
    }());
  }

  grpc::Status Delete(grpc::ServerContext* context, const api::DeleteTaskRequest* request,
                      api::DeleteResponse* response) override {
    return ToGrpcStatus([&]() -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::string ns, TaskNamespace(*context, request->container_id()));
      LIMAN_ASSIGN_OR_RETURN(tasks::ExitInfo exit, deps_.tasks->Delete(ns, request->container_id()));
      // containerd answers the task's delete without an id (only DeleteProcess names the exec).
      FillDelete(exit, "", response);
      return absl::OkStatus();
    }());
  }

  grpc::Status DeleteProcess(grpc::ServerContext* context, const api::DeleteProcessRequest* request,
                             api::DeleteResponse* response) override {
    return ToGrpcStatus([&]() -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::string ns, TaskNamespace(*context, request->container_id()));
      if (request->exec_id().empty())
        return absl::InvalidArgumentError(
            fmt::format("delete process of task {}: exec id cannot be empty", Quote(request->container_id())));
      LIMAN_ASSIGN_OR_RETURN(tasks::ExitInfo exit,
                             deps_.tasks->DeleteProcess(ns, request->container_id(), request->exec_id()));
      FillDelete(exit, request->exec_id(), response);
      return absl::OkStatus();
    }());
  }

  grpc::Status Get(grpc::ServerContext* context, const api::GetRequest* request, api::GetResponse* response) override {
    return ToGrpcStatus([&]() -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::string ns, TaskNamespace(*context, request->container_id()));
      LIMAN_ASSIGN_OR_RETURN(tasks::ProcessState state,
                             deps_.tasks->State(ns, request->container_id(), request->exec_id()));
      FillProcess(state, response->mutable_process());
      return absl::OkStatus();
    }());
  }

  // containerd 1.6 ignores the request's filter and lists every task of the namespace.
  grpc::Status List(grpc::ServerContext* context, const api::ListTasksRequest* /*request*/,
                    api::ListTasksResponse* response) override {
    return ToGrpcStatus([&]() -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::string ns, server::RequireNamespace(*context));
      LIMAN_ASSIGN_OR_RETURN(std::vector<tasks::ProcessState> states, deps_.tasks->List(ns));
      for (const tasks::ProcessState& state : states) FillProcess(state, response->add_tasks());
      return absl::OkStatus();
    }());
  }

  grpc::Status Kill(grpc::ServerContext* context, const api::KillRequest* request,
                    google::protobuf::Empty* /*response*/) override {
    return ToGrpcStatus([&]() -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::string ns, TaskNamespace(*context, request->container_id()));
      return deps_.tasks->Kill(ns, request->container_id(), request->exec_id(), request->signal(), request->all());
    }());
  }

  grpc::Status Exec(grpc::ServerContext* context, const api::ExecProcessRequest* request,
                    google::protobuf::Empty* /*response*/) override {
    return ToGrpcStatus([&]() -> absl::Status {
      if (request->exec_id().empty()) return absl::InvalidArgumentError("exec id cannot be empty");
      LIMAN_ASSIGN_OR_RETURN(std::string ns, TaskNamespace(*context, request->container_id()));
      return deps_.tasks->Exec(ns, request->container_id(), request->exec_id(), request->spec(),
                               IoOf(request->stdin(), request->stdout(), request->stderr(), request->terminal()));
    }());
  }

  grpc::Status ResizePty(grpc::ServerContext* context, const api::ResizePtyRequest* request,
                         google::protobuf::Empty* /*response*/) override {
    return ToGrpcStatus([&]() -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::string ns, TaskNamespace(*context, request->container_id()));
      return deps_.tasks->ResizePty(ns, request->container_id(), request->exec_id(), request->width(),
                                    request->height());
    }());
  }

  grpc::Status CloseIO(grpc::ServerContext* context, const api::CloseIORequest* request,
                       google::protobuf::Empty* /*response*/) override {
    return ToGrpcStatus([&]() -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::string ns, TaskNamespace(*context, request->container_id()));
      // Stdin is the only stream a client can close; without it the call does nothing.
      if (!request->stdin()) return absl::OkStatus();
      return deps_.tasks->CloseIO(ns, request->container_id(), request->exec_id());
    }());
  }

  grpc::Status Pause(grpc::ServerContext* context, const api::PauseTaskRequest* request,
                     google::protobuf::Empty* /*response*/) override {
    return ToGrpcStatus([&]() -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::string ns, TaskNamespace(*context, request->container_id()));
      return deps_.tasks->Pause(ns, request->container_id());
    }());
  }

  grpc::Status Resume(grpc::ServerContext* context, const api::ResumeTaskRequest* request,
                      google::protobuf::Empty* /*response*/) override {
    return ToGrpcStatus([&]() -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::string ns, TaskNamespace(*context, request->container_id()));
      return deps_.tasks->Resume(ns, request->container_id());
    }());
  }

  grpc::Status ListPids(grpc::ServerContext* context, const api::ListPidsRequest* request,
                        api::ListPidsResponse* response) override {
    return ToGrpcStatus([&]() -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::string ns, TaskNamespace(*context, request->container_id()));
      LIMAN_ASSIGN_OR_RETURN(std::vector<tasks::ProcessInfo> processes,
                             deps_.tasks->Pids(ns, request->container_id()));
      for (const tasks::ProcessInfo& process : processes) {
        task_types::ProcessInfo* info = response->add_processes();
        info->set_pid(process.pid);
        if (!process.info.type_url().empty()) *info->mutable_info() = process.info;
      }
      return absl::OkStatus();
    }());
  }

  grpc::Status Checkpoint(grpc::ServerContext* context, const api::CheckpointTaskRequest* request,
                          api::CheckpointTaskResponse* /*response*/) override {
    return ToGrpcStatus([&]() -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::string ns, TaskNamespace(*context, request->container_id()));
      LIMAN_RETURN_IF_ERROR(deps_.tasks->Get(ns, request->container_id()).status());
      return absl::UnimplementedError(
          fmt::format("checkpoint task {}: checkpoints are not supported", Quote(request->container_id())));
    }());
  }

  grpc::Status Update(grpc::ServerContext* context, const api::UpdateTaskRequest* request,
                      google::protobuf::Empty* /*response*/) override {
    return ToGrpcStatus([&]() -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::string ns, TaskNamespace(*context, request->container_id()));
      std::map<std::string, std::string> annotations(request->annotations().begin(), request->annotations().end());
      return deps_.tasks->Update(ns, request->container_id(), request->resources(), annotations);
    }());
  }

  // containerd's getTasksMetrics: the filters see "id" and "namespace"; a task whose stats
  // cannot be had is left out.
  grpc::Status Metrics(grpc::ServerContext* context, const api::MetricsRequest* request,
                       api::MetricsResponse* response) override {
    return ToGrpcStatus([&]() -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::string ns, server::RequireNamespace(*context));
      LIMAN_ASSIGN_OR_RETURN(filters::Filter filter,
                             filters::Parse({request->filters().begin(), request->filters().end()}));
      LIMAN_ASSIGN_OR_RETURN(std::vector<tasks::ProcessState> states, deps_.tasks->List(ns));
      for (const tasks::ProcessState& state : states) {
        const std::string& id = state.container_id;
        bool match = filter.Match([&](const std::vector<std::string>& path) -> std::optional<std::string> {
          if (path.size() == 1 && path[0] == "id") return id;
          if (path.size() == 1 && path[0] == "namespace") return ns;
          return std::nullopt;
        });
        if (!match) continue;
        absl::Time collected = absl::Now();
        absl::StatusOr<google::protobuf::Any> stats = deps_.tasks->Stats(ns, id);
        if (!stats.ok()) {
          if (!absl::IsNotFound(stats.status())) LogWarn("collect metrics of task {}/{}: {}", ns, id, stats.status().ToString());
          continue;
        }
        ::containerd::types::Metric* metric = response->add_metrics();
        *metric->mutable_timestamp() = shim::ToProtoTimestamp(collected);
        metric->set_id(id);
        *metric->mutable_data() = *std::move(stats);
      }
      return absl::OkStatus();
    }());
  }

  grpc::Status Wait(grpc::ServerContext* context, const api::WaitRequest* request,
                    api::WaitResponse* response) override {
    return ToGrpcStatus([&]() -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::string ns, TaskNamespace(*context, request->container_id()));
      // As containerd: the task (and the exec) must exist now; the exit of a task already
      // deleted is no answer.
      LIMAN_RETURN_IF_ERROR(deps_.tasks->State(ns, request->container_id(), request->exec_id()).status());
      LIMAN_ASSIGN_OR_RETURN(
          tasks::ExitInfo exit,
          exits_.Wait(ns, request->container_id(), request->exec_id(), [context] { return context->IsCancelled(); }));
      response->set_exit_status(exit.exit_status);
      *response->mutable_exited_at() = ExitTimestamp(exit.exited_at);
      return absl::OkStatus();
    }());
  }

 private:
  absl::StatusOr<metadata::Container> GetContainer(const std::string& ns, const std::string& id) {
    return deps_.db->Containers().Get(ns, id);
  }

  // The namespace of a call on the task of container `id`, once that container is known to
  // exist (containerd's getTask: NotFound for an unknown container, whether or not a task of
  // that name runs).
  absl::StatusOr<std::string> TaskNamespace(const grpc::ServerContext& context, const std::string& id) {
    LIMAN_ASSIGN_OR_RETURN(std::string ns, server::RequireNamespace(context));
    LIMAN_RETURN_IF_ERROR(GetContainer(ns, id).status());
    return ns;
  }

  // The mounts of the container's snapshot, for a Create that brings no rootfs of its own.
  absl::StatusOr<std::vector<MountDescriptor>> SnapshotMounts(const std::string& ns,
                                                              const metadata::Container& container) {
    const std::string what =
        fmt::format("create task {}: mounts of snapshot {}", Quote(container.id), Quote(container.snapshot_key));
    const std::string& snapshotter =
        container.snapshotter.empty() ? deps_.default_snapshotter : container.snapshotter;
    absl::StatusOr<std::unique_ptr<Snapshotter>> view = deps_.db->SnapshotterView(snapshotter, ns);
    if (!view.ok()) return Annotate(view.status(), what);
    absl::StatusOr<std::vector<MountDescriptor>> mounts = (*view)->Mounts(container.snapshot_key);
    if (!mounts.ok()) return Annotate(mounts.status(), what);
    return mounts;
  }

  ServiceDeps deps_;
  ExitWatch exits_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeTasksService(const ServiceDeps& deps) {
  return std::make_unique<TasksService>(deps);
}

}  // namespace liman::containerd::services
