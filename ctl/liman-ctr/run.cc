// `run`: ctr run's steps (image -> config -> snapshot on the image's top chain id -> spec ->
// container record -> task with stdio FIFOs -> start -> wait -> delete task; --rm deletes the
// container and its snapshot too).
#include "ctl/liman-ctr/run.h"

#include <csignal>
#include <map>
#include <optional>

#include "common/status.h"
#include "containerd/client/proto_convert.h"
#include "ctl/liman-ctr/command.h"
#include "ctl/liman-ctr/labels.h"
#include "ctl/liman-ctr/process.h"
#include "ctl/liman-ctr/spec.h"
#include "ctl/liman-ctr/stdio.h"
#include "fmt/format.h"

namespace liman::ctr {

namespace containers = ::containerd::services::containers::v1;
namespace images = ::containerd::services::images::v1;
namespace snapshots = ::containerd::services::snapshots::v1;
namespace tasks = ::containerd::services::tasks::v1;

absl::StatusOr<containers::Container> GetContainer(Client& client, const std::string& id) {
  containers::GetContainerRequest request;
  request.set_id(id);
  containers::GetContainerResponse response;
  auto context = client.Context();
  grpc::Status status = client.Containers().Get(context.get(), request, &response);
  if (!status.ok()) return CallError(status, fmt::format("get container {}", Quote(id)));
  return response.container();
}

bool SpecWantsTerminal(const containers::Container& container) {
  auto spec = nlohmann::json::parse(container.spec().value(), nullptr, /*allow_exceptions=*/false);
  if (spec.is_discarded() || !spec.is_object()) return false;
  auto process = spec.find("process");
  if (process == spec.end() || !process->is_object()) return false;
  auto terminal = process->find("terminal");
  return terminal != process->end() && terminal->is_boolean() && terminal->get<bool>();
}

absl::Status DeleteContainerAndSnapshot(Client& client, const std::string& id) {
  LIMAN_ASSIGN_OR_RETURN(containers::Container container, GetContainer(client, id));
  return DeleteContainerAndSnapshot(client, id, container.snapshotter(), container.snapshot_key());
}

absl::Status DeleteContainerAndSnapshot(Client& client, const std::string& id, const std::string& snapshotter,
                                        const std::string& snapshot_key) {
  containers::DeleteContainerRequest request;
  request.set_id(id);
  google::protobuf::Empty empty;
  auto context = client.Context();
  grpc::Status deleted = client.Containers().Delete(context.get(), request, &empty);
  // A record already gone may have left its snapshot behind (a crash between the two).
  if (!deleted.ok() && deleted.error_code() != grpc::StatusCode::NOT_FOUND)
    return CallError(deleted, fmt::format("delete container {}", Quote(id)));
  if (!snapshot_key.empty()) {
    snapshots::RemoveSnapshotRequest remove;
    remove.set_snapshotter(snapshotter);
    remove.set_key(snapshot_key);
    auto remove_context = client.Context();
    grpc::Status removed = client.Snapshots().Remove(remove_context.get(), remove, &empty);
    if (!removed.ok() && removed.error_code() != grpc::StatusCode::NOT_FOUND)
      return CallError(removed, fmt::format("remove snapshot {}", Quote(snapshot_key)));
  }
  if (!deleted.ok()) return CallError(deleted, fmt::format("delete container {}", Quote(id)));
  return absl::OkStatus();
}

absl::StatusOr<tasks::CreateTaskResponse> CreateTask(Client& client, const containers::Container& container,
                                                     const TaskStdio& stdio) {
  const std::string& id = container.id();
  tasks::CreateTaskRequest request;
  request.set_container_id(id);
  if (!container.snapshot_key().empty()) {
    snapshots::MountsRequest mounts_request;
    mounts_request.set_snapshotter(container.snapshotter());
    mounts_request.set_key(container.snapshot_key());
    snapshots::MountsResponse mounts;
    auto context = client.Context();
    grpc::Status status = client.Snapshots().Mounts(context.get(), mounts_request, &mounts);
    if (!status.ok()) return CallError(status, fmt::format("mounts of snapshot {}", Quote(container.snapshot_key())));
    *request.mutable_rootfs() = mounts.mounts();
  }
  request.set_stdin(stdio.stdin_uri);
  request.set_stdout(stdio.stdout_uri);
  request.set_stderr(stdio.stderr_uri);
  request.set_terminal(stdio.terminal);
  tasks::CreateTaskResponse created;
  auto context = client.Context();
  grpc::Status status = client.Tasks().Create(context.get(), request, &created);
  if (!status.ok()) return CallError(status, fmt::format("create task {}", Quote(id)));
  return created;
}

absl::StatusOr<int> CreateAndRunTask(Client& client, const containers::Container& container,
                                     const TaskRunOptions& options) {
  const std::string& id = container.id();
  bool attach = !options.detach && !options.null_io;
  std::unique_ptr<FifoSet> fifos;
  std::unique_ptr<AttachedIo> io;
  if (attach) {
    LIMAN_ASSIGN_OR_RETURN(fifos, FifoSet::Create(options.fifo_dir.empty() ? kDefaultFifoDir : options.fifo_dir,
                                                  id, options.terminal));
    LIMAN_ASSIGN_OR_RETURN(io, AttachedIo::OpenOutputs(*fifos));
  }
  TaskStdio stdio;
  if (attach) stdio = {fifos->stdin_path(), fifos->stdout_path(), fifos->stderr_path(), options.terminal};
  LIMAN_RETURN_IF_ERROR(CreateTask(client, container, stdio).status());

  if (!attach) {
    absl::Status started = StartProcess(client, id, "");
    if (!started.ok()) {
      (void)DeleteProcess(client, id, "");
      return started;
    }
    if (options.detach) return 0;
    // --null-io attached: wait for the exit, then delete like an attached run.
    tasks::WaitRequest wait;
    wait.set_container_id(id);
    tasks::WaitResponse waited;
    auto wait_context = client.Context(std::nullopt, /*no_deadline=*/true);
    grpc::Status status = client.Tasks().Wait(wait_context.get(), wait, &waited);
    if (!status.ok()) return CallError(status, "wait");
    LIMAN_RETURN_IF_ERROR(DeleteProcess(client, id, "").status());
    return static_cast<int>(waited.exit_status());
  }

  AttachedProcess process{id, "", options.terminal};
  absl::StatusOr<uint32_t> code = RunAttached(
      client, process, *fifos, *io, [&] { return StartProcess(client, id, ""); },
      [&] { return DeleteProcess(client, id, "").status(); });
  if (!code.ok()) {
    // Started or not, a task we cannot follow is not left behind.
    (void)KillProcess(client, id, "", SIGKILL, true);
    (void)DeleteProcess(client, id, "");
    return code.status();
  }
  return static_cast<int>(*code);
}

namespace {

struct RunOptions {
  ContainerCreateOptions create;
  bool rm = false;
  bool detach = false;
  bool null_io = false;
  std::string fifo_dir;
};

// Releases the lease when the command is done with it (the container record then holds the
// snapshot).
struct LeaseGuard {
  Client& client;
  std::optional<std::string> id;
  ~LeaseGuard() {
    if (id) client.ReleaseLease(*id);
  }
};

}  // namespace

absl::StatusOr<LoadedImage> LoadImage(Client& client, const std::string& name, const std::string& platform_text,
                                      const std::string& snapshotter) {
  images::GetImageRequest get;
  get.set_name(name);
  images::GetImageResponse found;
  auto context = client.Context();
  grpc::Status status = client.Images().Get(context.get(), get, &found);
  if (!status.ok()) return CallError(status, fmt::format("image {}", Quote(name)));
  LoadedImage loaded;
  loaded.image = found.image();

  Platform platform = HostPlatform();
  if (!platform_text.empty()) {
    LIMAN_ASSIGN_OR_RETURN(platform, ParsePlatform(platform_text));
  }
  LIMAN_ASSIGN_OR_RETURN(loaded.resolved, ResolveImage(client.Blobs(), FromProto(loaded.image.target()), platform));
  LIMAN_ASSIGN_OR_RETURN(std::string blob, client.ReadBlob(loaded.resolved.config.digest));
  absl::StatusOr<ImageConfig> config = ParseImageConfig(blob);
  if (!config.ok()) return Annotate(config.status(), fmt::format("image {}", Quote(name)));
  loaded.config = std::move(*config);
  loaded.chain_id = ChainId(loaded.config.diff_ids);

  // The image must be unpacked: its top layer's snapshot exists.
  if (!loaded.chain_id.empty()) {
    snapshots::StatSnapshotRequest stat;
    stat.set_snapshotter(snapshotter);
    stat.set_key(loaded.chain_id);
    snapshots::StatSnapshotResponse info;
    auto stat_context = client.Context();
    status = client.Snapshots().Stat(stat_context.get(), stat, &info);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND)
      return absl::FailedPreconditionError(fmt::format(
          "image {} is not unpacked in snapshotter {} (no snapshot {}): pull or import it with that snapshotter",
          Quote(name), Quote(snapshotter), loaded.chain_id));
    if (!status.ok()) return CallError(status, fmt::format("stat snapshot {}", loaded.chain_id));
  }
  return loaded;
}

absl::StatusOr<containers::Container> CreateContainerRecord(Client& client, const LoadedImage& image,
                                                            const ContainerRecordOptions& options) {
  LeaseGuard lease{client, std::nullopt};
  absl::StatusOr<std::string> lease_id = client.CreateLease();
  if (lease_id.ok()) {
    lease.id = *lease_id;
  } else if (lease_id.status().code() != absl::StatusCode::kUnimplemented) {
    return lease_id.status();
  }

  snapshots::PrepareSnapshotRequest prepare;
  prepare.set_snapshotter(options.snapshotter);
  prepare.set_key(options.id);
  prepare.set_parent(image.chain_id);
  snapshots::PrepareSnapshotResponse prepared;
  auto prepare_context = client.Context(lease.id);
  grpc::Status status = client.Snapshots().Prepare(prepare_context.get(), prepare, &prepared);
  if (!status.ok()) return CallError(status, fmt::format("prepare snapshot {}", Quote(options.id)));
  auto remove_snapshot = [&] {
    snapshots::RemoveSnapshotRequest remove;
    remove.set_snapshotter(options.snapshotter);
    remove.set_key(options.id);
    google::protobuf::Empty empty;
    auto remove_context = client.Context(lease.id);
    client.Snapshots().Remove(remove_context.get(), remove, &empty);
  };
  nlohmann::ordered_json spec = options.spec;
  if (options.complete_spec) {
    if (absl::Status completed = options.complete_spec(containerd::client::MountsFromProto(prepared.mounts()), spec); !completed.ok()) {
      remove_snapshot();
      return completed;
    }
  }

  containers::CreateContainerRequest create;
  containers::Container* container = create.mutable_container();
  container->set_id(options.id);
  container->set_image(image.image.name());
  auto& labels = *container->mutable_labels();
  for (const auto& [key, value] : image.config.labels) labels[key] = value;  // WithImageConfigLabels
  for (const auto& [key, value] : options.labels) labels[key] = value;
  labels["io.containerd.image.config.stop-signal"] =
      image.config.stop_signal.empty() ? "SIGTERM" : image.config.stop_signal;
  container->mutable_runtime()->set_name(options.runtime);
  container->mutable_spec()->set_type_url(kSpecTypeUrl);
  container->mutable_spec()->set_value(spec.dump());
  container->set_snapshotter(options.snapshotter);
  container->set_snapshot_key(options.id);
  containers::CreateContainerResponse created;
  auto create_context = client.Context(lease.id);
  status = client.Containers().Create(create_context.get(), create, &created);
  if (!status.ok()) {
    remove_snapshot();
    return CallError(status, fmt::format("create container {}", Quote(options.id)));
  }
  return created.container();
}

absl::StatusOr<containers::Container> CreateContainerFromImage(Client& client, const ContainerCreateOptions& options) {
  LIMAN_ASSIGN_OR_RETURN(LoadedImage image, LoadImage(client, options.image, options.platform, options.snapshotter));
  RunSpecOptions spec_options;
  spec_options.namespace_name = client.Namespace();
  spec_options.id = options.id;
  spec_options.env = options.env;
  spec_options.args = options.args;
  spec_options.cwd = options.cwd;
  spec_options.terminal = options.tty;
  spec_options.cgroup = options.cgroup;
  ContainerRecordOptions record;
  LIMAN_ASSIGN_OR_RETURN(record.spec, RunSpec(image.config, spec_options));
  record.id = options.id;
  record.runtime = options.runtime;
  record.snapshotter = options.snapshotter;
  record.labels = ParseLabels(options.labels);
  return CreateContainerRecord(client, image, record);
}

void AddContainerCreateFlags(CLI::App* command, ContainerCreateOptions& options) {
  command->add_option("image", options.image, "image reference")->required();
  command->add_option("id", options.id, "container id")->required();
  command->add_option("command", options.args, "command and arguments (default: the image's)");
  TakesCommandAfter(command, 2);
  command->add_flag("--tty,-t", options.tty, "allocate a TTY for the container");
  command->add_option("--runtime", options.runtime, "runtime name")->capture_default_str();
  command->add_option("--env", options.env, "environment variable KEY=VALUE (repeatable)")->allow_extra_args(false);
  command->add_option("--cwd", options.cwd, "working directory of the process");
  command->add_option("--snapshotter", options.snapshotter, "snapshotter name")->capture_default_str();
  command->add_option("--platform", options.platform, "use this platform's image content");
  command->add_option("--cgroup", options.cgroup, "cgroup path (default: /<namespace>/<id>)");
  command->add_option("--label", options.labels, "container label KEY=VALUE (repeatable)")->allow_extra_args(false);
}


namespace {

absl::StatusOr<int> Run(Client& client, const RunOptions& options) {
  if (options.detach && options.rm) return absl::InvalidArgumentError("flags --detach and --rm cannot be specified together");
  LIMAN_ASSIGN_OR_RETURN(containers::Container container, CreateContainerFromImage(client, options.create));
  TaskRunOptions task_options;
  task_options.detach = options.detach;
  task_options.null_io = options.null_io;
  task_options.terminal = options.create.tty;
  task_options.fifo_dir = options.fifo_dir;
  absl::StatusOr<int> code = CreateAndRunTask(client, container, task_options);
  if (options.rm) {
    absl::Status removed = DeleteContainerAndSnapshot(client, container.id());
    if (code.ok() && !removed.ok()) return removed;
  }
  return code;
}

}  // namespace

void AddRunCommand(CLI::App& app, CommandLine& line) {
  auto options = Options<RunOptions>();
  CLI::App* run = app.add_subcommand("run", "run a container");
  AddContainerCreateFlags(run, options->create);
  run->add_flag("--rm", options->rm, "remove the container after running");
  run->add_flag("--detach,-d", options->detach, "detach from the task after it has started execution");
  run->add_flag("--null-io", options->null_io, "send all IO to /dev/null");
  run->add_option("--fifo-dir", options->fifo_dir, "directory for the stdio FIFOs");
  OnRun(run, line, [options](Client& client) { return Run(client, *options); }, /*attaches=*/true);
}

}  // namespace liman::ctr
