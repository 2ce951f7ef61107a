#include "shim/task_service.h"

#include <signal.h>
#include <unistd.h>


#include "common/file_util.h"
#include "common/logging.h"
#include "common/mount.h"
#include "common/status.h"
#include "containerd/events/task.pb.h"
#include "containerd/runtime/v2/runc/options/oci.pb.h"
#include "shim/metrics.h"
#include "shim/proto_time.h"
#include "shim/runtime_record.h"

namespace liman::shim {
namespace {

namespace types = ::containerd::v1::types;
namespace events = ::containerd::events;

constexpr std::string_view kTaskService = "containerd.task.v2.Task";
constexpr std::string_view kRuncOptionsType = "containerd.runc.v1.Options";
// How long an exited process's output may keep flowing (a grandchild holding the pipe) before
// the exit is reported anyway, as containerd-shim-runc-v2 bounds its io wait.
constexpr absl::Duration kOutputGrace = absl::Seconds(2);

std::string StatusName(types::Status status) {
  std::string name = types::Status_Name(status);
  for (char& c : name) c = static_cast<char>(tolower(c));
  return name;
}

std::string SelfDirectory() { return ParentDirectory(ReadLink("/proc/self/exe").value_or(".")); }

RuntimeStdio RuntimeStdioOf(const ProcessIo& io) {
  return RuntimeStdio{io.child_stdin(), io.child_stdout(), io.child_stderr()};
}

std::string WaitPayload(const Process& process) {
  task::WaitResponse response;
  response.set_exit_status(process.exit->exit_status);
  *response.mutable_exited_at() = ToProtoTimestamp(process.exit->exited_at);
  return response.SerializeAsString();
}

}  // namespace

TaskService::TaskService(EventLoop* loop, Reaper* reaper, Publisher* publisher, const ShimFlags& flags)
    : loop_(loop), reaper_(reaper), publisher_(publisher), flags_(flags), container_id_(flags.id),
      bundle_(flags.bundle) {}

TaskService::~TaskService() = default;

void TaskService::RegisterWith(ttrpc::Server& server) {
  std::string service(kTaskService);
  auto bind = [this](auto method) {
    return [this, method](const auto& request) { return (this->*method)(request); };
  };
  server.RegisterMethod<task::StateRequest, task::StateResponse>(service, "State", bind(&TaskService::State));
  server.RegisterMethod<task::CreateTaskRequest, task::CreateTaskResponse>(service, "Create", bind(&TaskService::Create));
  server.RegisterMethod<task::StartRequest, task::StartResponse>(service, "Start", bind(&TaskService::Start));
  server.RegisterMethod<task::DeleteRequest, task::DeleteResponse>(service, "Delete", bind(&TaskService::Delete));
  server.RegisterMethod<task::PidsRequest, task::PidsResponse>(service, "Pids", bind(&TaskService::Pids));
  server.RegisterMethod<task::PauseRequest, Empty>(service, "Pause", bind(&TaskService::Pause));
  server.RegisterMethod<task::ResumeRequest, Empty>(service, "Resume", bind(&TaskService::Resume));
  server.RegisterMethod<task::CheckpointTaskRequest, Empty>(
      service, "Checkpoint", [](const task::CheckpointTaskRequest&) -> absl::StatusOr<Empty> {
        return absl::UnimplementedError("checkpoint is not supported by liman-shim");
      });
  server.RegisterMethod<task::KillRequest, Empty>(service, "Kill", bind(&TaskService::Kill));
  server.RegisterMethod<task::ExecProcessRequest, Empty>(service, "Exec", bind(&TaskService::Exec));
  server.RegisterMethod<task::ResizePtyRequest, Empty>(service, "ResizePty", bind(&TaskService::ResizePty));
  server.RegisterMethod<task::CloseIORequest, Empty>(service, "CloseIO", bind(&TaskService::CloseIO));
  server.RegisterMethod<task::UpdateTaskRequest, Empty>(service, "Update", bind(&TaskService::Update));
  server.Register(service, "Wait", [this](ttrpc::Call& call) { Wait(call); });
  server.RegisterMethod<task::StatsRequest, task::StatsResponse>(service, "Stats", bind(&TaskService::Stats));
  server.RegisterMethod<task::ConnectRequest, task::ConnectResponse>(service, "Connect", bind(&TaskService::Connect));
  server.RegisterMethod<task::ShutdownRequest, Empty>(service, "Shutdown", bind(&TaskService::Shutdown));
}

// --- lookups --------------------------------------------------------------------------------------

absl::StatusOr<Process*> TaskService::FindInit(const std::string& container_id) {
  if (init_ == nullptr || deleted_)
    return absl::NotFoundError(fmt::format("container {}: not created", Quote(container_id)));
  if (!container_id.empty() && container_id != container_id_)
    return absl::NotFoundError(fmt::format("container {}: not found (this shim serves {})", Quote(container_id),
                                           Quote(container_id_)));
  return init_.get();
}

absl::StatusOr<Process*> TaskService::Find(const std::string& container_id, const std::string& exec_id) {
  LIMAN_ASSIGN_OR_RETURN(Process * init, FindInit(container_id));
  if (exec_id.empty()) return init;
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return absl::NotFoundError(fmt::format("process {}: not found", Quote(exec_id)));
  return it->second.get();
}

// --- exits ----------------------------------------------------------------------------------------

bool TaskService::OnChildExit(const ChildExit& exit) {
  auto matches = [&exit](const std::unique_ptr<Process>& process) {
    return process && process->pid == exit.pid && !process->exit;
  };
  if (matches(init_)) {
    ProcessExited(*init_, exit);
    return true;
  }
  for (auto& [id, process] : execs_) {
    if (matches(process)) {
      ProcessExited(*process, exit);
      return true;
    }
  }
  return false;
}

void TaskService::ClaimEarlyExit(Process& process) {
  if (std::optional<ChildExit> exit = reaper_->TakeExit(process.pid)) ProcessExited(process, *exit);
}

void TaskService::ProcessExited(Process& process, const ChildExit& exit) {
  ExitRecord record{process.exec_id, static_cast<uint32_t>(process.pid),
                    static_cast<uint32_t>(ExitStatusCode(exit.wait_status)), exit.exited_at};
  // Durable before anyone is told: a manager that restarts finds the code on disk.
  if (absl::Status status = WriteExitRecord(bundle_, record); !status.ok())
    LogError("record exit of pid {}: {}", process.pid, status);
  process.exit = record;
  process.status = types::STOPPED;
  if (&process == init_.get()) {
    // Without a pid namespace of its own, an exec would outlive the init; with one the kernel
    // kills them anyway. Either way they end with the container, as with runc's shim.
    for (auto& [id, exec] : execs_)
      if (exec->pid > 0 && !exec->exit) kill(exec->pid, SIGKILL);
    oom_watch_.reset();
  }
  std::string exec_id = process.exec_id;
  if (process.io) {
    process.io->WhenDrained(kOutputGrace, [this, exec_id] { PublishExit(exec_id); });
  } else {
    PublishExit(exec_id);
  }
}

void TaskService::PublishExit(const std::string& exec_id) {
  Process* process = exec_id.empty() ? init_.get() : nullptr;
  if (!exec_id.empty()) {
    auto it = execs_.find(exec_id);
    if (it != execs_.end()) process = it->second.get();
  }
  if (process == nullptr || !process->exit || process->exit_published) return;
  process->exit_published = true;
  events::TaskExit event;
  event.set_container_id(container_id_);
  event.set_id(exec_id.empty() ? container_id_ : exec_id);
  event.set_pid(process->exit->pid);
  event.set_exit_status(process->exit->exit_status);
  *event.mutable_exited_at() = ToProtoTimestamp(process->exit->exited_at);
  publisher_->Publish("/tasks/exit", event);
  std::string payload = WaitPayload(*process);
  for (const ttrpc::Responder& waiter : process->waiters) waiter.Reply(payload);
  process->waiters.clear();
}

// --- methods --------------------------------------------------------------------------------------

absl::StatusOr<task::StateResponse> TaskService::State(const task::StateRequest& request) {
  LIMAN_ASSIGN_OR_RETURN(Process * process, Find(request.id(), request.exec_id()));
  task::StateResponse response;
  response.set_id(process->exec_id.empty() ? container_id_ : process->exec_id);
  response.set_exec_id(process->exec_id);
  response.set_bundle(bundle_);
  response.set_pid(static_cast<uint32_t>(process->pid));
  response.set_status(process->status);
  response.set_stdin(process->stdio.stdin_uri);
  response.set_stdout(process->stdio.stdout_uri);
  response.set_stderr(process->stdio.stderr_uri);
  response.set_terminal(process->stdio.terminal);
  if (process->exit) {
    response.set_exit_status(process->exit->exit_status);
    *response.mutable_exited_at() = ToProtoTimestamp(process->exit->exited_at);
  }
  return response;
}

absl::StatusOr<task::CreateTaskResponse> TaskService::Create(const task::CreateTaskRequest& request) {
  if (init_ != nullptr) return absl::AlreadyExistsError(fmt::format("container {}: already created", Quote(container_id_)));
  if (request.id().empty()) return absl::InvalidArgumentError("create: container id is empty");
  if (!request.bundle().starts_with('/'))
    return absl::InvalidArgumentError(fmt::format("create: bundle {} is not an absolute path", Quote(request.bundle())));
  if (!request.checkpoint().empty()) return absl::UnimplementedError("create from a checkpoint is not supported");
  container_id_ = request.id();
  bundle_ = request.bundle();

  containerd::runc::v1::Options options;
  if (request.has_options() && request.options().type_url().ends_with(kRuncOptionsType) &&
      !options.ParseFromString(request.options().value()))
    return absl::InvalidArgumentError("create: cannot parse containerd.runc.v1.Options");
  RuntimeConfig config;
  config.binary = options.binary_name().empty() ? JoinPath(SelfDirectory(), "liman-runtime") : options.binary_name();
  std::string root = options.root();
  if (root.empty()) {
    const char* env_root = getenv("LIMAN_RUNTIME_ROOT");
    root = env_root != nullptr && *env_root ? env_root : "/run/liman/runtime";
  }
  config.root = JoinPath(root, flags_.namespace_name);
  config.log_path = JoinPath(bundle_, "log.json");
  config.systemd_cgroup = options.systemd_cgroup();
  runtime_.emplace(config);
  LIMAN_RETURN_IF_ERROR(SaveRuntimeConfig(bundle_, config));

  if (request.rootfs_size() > 0) {
    std::vector<MountDescriptor> mounts;
    for (const auto& mount : request.rootfs())
      mounts.push_back({mount.type(), mount.source(), mount.target(), {mount.options().begin(), mount.options().end()}});
    std::string rootfs = JoinPath(bundle_, "rootfs");
    LIMAN_RETURN_IF_ERROR(MkdirAll(rootfs, 0711));
    LIMAN_RETURN_IF_ERROR(MountAll(mounts, rootfs));
    rootfs_mounted_ = true;
  }
  auto process = std::make_unique<Process>();
  process->stdio = {request.stdin(), request.stdout(), request.stderr(), request.terminal()};
  absl::StatusOr<pid_t> pid = [&]() -> absl::StatusOr<pid_t> {
    LIMAN_ASSIGN_OR_RETURN(process->io, ProcessIo::Create(loop_, process->stdio, container_id_, flags_.namespace_name));
    RuntimeCreateOptions create;
    create.bundle = bundle_;
    create.pid_file = JoinPath(bundle_, "init.pid");
    create.no_pivot = options.no_pivot_root();
    create.no_new_keyring = options.no_new_keyring();
    create.console_socket = process->io->console_socket_path();
    create.stdio = RuntimeStdioOf(*process->io);
    LIMAN_RETURN_IF_ERROR(runtime_->Create(container_id_, create));
    LIMAN_RETURN_IF_ERROR(process->io->Start());
    return ReadPidFile(create.pid_file);
  }();
  if (!pid.ok()) {
    process->io.reset();
    (void)runtime_->Delete(container_id_, /*force=*/true);
    UnmountRootfs();
    return Annotate(pid.status(), fmt::format("create container {}", Quote(container_id_)));
  }
  process->pid = *pid;
  init_ = std::move(process);

  absl::StatusOr<std::unique_ptr<OomWatch>> oom = OomWatch::ForProcess(loop_, *pid, [this] {
    events::TaskOOM event;
    event.set_container_id(container_id_);
    publisher_->Publish("/tasks/oom", event);
  });
  if (oom.ok()) {
    oom_watch_ = std::move(*oom);
  } else {
    LogWarn("container {}: no OOM events: {}", container_id_, oom.status());
  }
  events::TaskCreate event;
  event.set_container_id(container_id_);
  event.set_bundle(bundle_);
  *event.mutable_rootfs() = request.rootfs();
  event.mutable_io()->set_stdin(request.stdin());
  event.mutable_io()->set_stdout(request.stdout());
  event.mutable_io()->set_stderr(request.stderr());
  event.mutable_io()->set_terminal(request.terminal());
  event.set_pid(static_cast<uint32_t>(*pid));
  publisher_->Publish("/tasks/create", event);
  ClaimEarlyExit(*init_);
  task::CreateTaskResponse response;
  response.set_pid(static_cast<uint32_t>(*pid));
  return response;
}

absl::StatusOr<task::StartResponse> TaskService::Start(const task::StartRequest& request) {
  LIMAN_ASSIGN_OR_RETURN(Process * process, Find(request.id(), request.exec_id()));
  if (process->status != types::CREATED)
    return absl::FailedPreconditionError(fmt::format("cannot start a {} process", StatusName(process->status)));
  if (process == init_.get()) {
    LIMAN_RETURN_IF_ERROR(runtime_->Start(container_id_));
    if (!process->exit) process->status = types::RUNNING;
    events::TaskStart event;
    event.set_container_id(container_id_);
    event.set_pid(static_cast<uint32_t>(process->pid));
    publisher_->Publish("/tasks/start", event);
  } else {
    LIMAN_RETURN_IF_ERROR(StartExec(*process));
  }
  task::StartResponse response;
  response.set_pid(static_cast<uint32_t>(process->pid));
  return response;
}

absl::Status TaskService::StartExec(Process& process) {
  if (init_->status != types::RUNNING)
    return absl::FailedPreconditionError(
        fmt::format("cannot exec in a {} container", StatusName(init_->status)));
  LIMAN_ASSIGN_OR_RETURN(process.io, ProcessIo::Create(loop_, process.stdio, container_id_, flags_.namespace_name));
  RuntimeExecOptions exec;
  exec.process_file = process.spec_path;
  exec.pid_file = JoinPath(bundle_, process.exec_id + ".pid");
  exec.console_socket = process.io->console_socket_path();
  exec.stdio = RuntimeStdioOf(*process.io);
  absl::Status status = runtime_->Exec(container_id_, exec);
  if (status.ok()) status = process.io->Start();
  absl::StatusOr<pid_t> pid = status.ok() ? ReadPidFile(exec.pid_file) : absl::StatusOr<pid_t>(status);
  unlink(exec.pid_file.c_str());
  if (!pid.ok()) {
    process.io.reset();
    return Annotate(pid.status(), fmt::format("exec {}", Quote(process.exec_id)));
  }
  process.pid = *pid;
  process.status = types::RUNNING;
  events::TaskExecStarted event;
  event.set_container_id(container_id_);
  event.set_exec_id(process.exec_id);
  event.set_pid(static_cast<uint32_t>(*pid));
  publisher_->Publish("/tasks/exec-started", event);
  ClaimEarlyExit(process);
  return absl::OkStatus();
}

absl::StatusOr<task::DeleteResponse> TaskService::Delete(const task::DeleteRequest& request) {
  LIMAN_ASSIGN_OR_RETURN(Process * process, Find(request.id(), request.exec_id()));
  if (process->running())
    return absl::FailedPreconditionError(
        fmt::format("cannot delete a {} process", StatusName(process->status)));
  task::DeleteResponse response;
  response.set_pid(static_cast<uint32_t>(process->pid));
  if (process != init_.get()) {
    if (process->exit) {
      response.set_exit_status(process->exit->exit_status);
      *response.mutable_exited_at() = ToProtoTimestamp(process->exit->exited_at);
    }
    unlink(process->spec_path.c_str());
    execs_.erase(process->exec_id);
    return response;
  }
  // A created init is still blocked in the runtime: --force kills it.
  bool force = !process->exit;
  absl::Status status = runtime_->Delete(container_id_, force);
  if (!status.ok() && !absl::IsNotFound(status)) return status;
  if (!process->exit) {
    // Killed by the forced delete; its exit, reaped later, belongs to nobody any more.
    ProcessExited(*process, ChildExit{process->pid, SIGKILL, absl::Now()});
  }
  // Nobody reads the output of a deleted task: report the exit now rather than after the grace.
  PublishExit("");
  UnmountRootfs();
  process->io.reset();
  oom_watch_.reset();
  response.set_exit_status(process->exit->exit_status);
  *response.mutable_exited_at() = ToProtoTimestamp(process->exit->exited_at);
  events::TaskDelete event;
  event.set_container_id(container_id_);
  event.set_id(container_id_);
  event.set_pid(response.pid());
  event.set_exit_status(response.exit_status());
  *event.mutable_exited_at() = response.exited_at();
  publisher_->Publish("/tasks/delete", event);
  deleted_ = true;
  return response;
}

absl::StatusOr<task::PidsResponse> TaskService::Pids(const task::PidsRequest& request) {
  LIMAN_RETURN_IF_ERROR(FindInit(request.id()).status());
  LIMAN_ASSIGN_OR_RETURN(std::vector<pid_t> pids, runtime_->Ps(container_id_));
  task::PidsResponse response;
  for (pid_t pid : pids) {
    types::ProcessInfo* info = response.add_processes();
    info->set_pid(static_cast<uint32_t>(pid));
    for (const auto& [id, exec] : execs_) {
      if (exec->pid != pid) continue;
      containerd::runc::v1::ProcessDetails details;
      details.set_exec_id(id);
      info->mutable_info()->set_type_url(details.GetDescriptor()->full_name());
      info->mutable_info()->set_value(details.SerializeAsString());
    }
  }
  return response;
}

absl::StatusOr<google::protobuf::Empty> TaskService::Pause(const task::PauseRequest& request) {
  LIMAN_ASSIGN_OR_RETURN(Process * init, FindInit(request.id()));
  if (init->status != types::RUNNING)
    return absl::FailedPreconditionError(fmt::format("cannot pause a {} container", StatusName(init->status)));
  LIMAN_RETURN_IF_ERROR(runtime_->Pause(container_id_));
  init->status = types::PAUSED;
  events::TaskPaused event;
  event.set_container_id(container_id_);
  publisher_->Publish("/tasks/paused", event);
  return Empty();
}

absl::StatusOr<google::protobuf::Empty> TaskService::Resume(const task::ResumeRequest& request) {
  LIMAN_ASSIGN_OR_RETURN(Process * init, FindInit(request.id()));
  if (init->status != types::PAUSED)
    return absl::FailedPreconditionError(fmt::format("cannot resume a {} container", StatusName(init->status)));
  LIMAN_RETURN_IF_ERROR(runtime_->Resume(container_id_));
  init->status = types::RUNNING;
  events::TaskResumed event;
  event.set_container_id(container_id_);
  publisher_->Publish("/tasks/resumed", event);
  return Empty();
}

absl::StatusOr<google::protobuf::Empty> TaskService::Kill(const task::KillRequest& request) {
  LIMAN_ASSIGN_OR_RETURN(Process * process, Find(request.id(), request.exec_id()));
  if (process->exit && !(process == init_.get() && request.all()))
    return absl::NotFoundError(fmt::format("process {}: process already finished",
                                           Quote(process->exec_id.empty() ? container_id_ : process->exec_id)));
  if (request.signal() == 0 || request.signal() >= 65)
    return absl::InvalidArgumentError(fmt::format("kill: invalid signal {}", request.signal()));
  if (process == init_.get()) {
    LIMAN_RETURN_IF_ERROR(runtime_->Kill(container_id_, static_cast<int>(request.signal()), request.all()));
  } else if (process->pid <= 0) {
    return absl::FailedPreconditionError(fmt::format("process {}: not started", Quote(process->exec_id)));
  } else if (kill(process->pid, static_cast<int>(request.signal())) != 0) {
    return ErrnoError(fmt::format("kill process {} (pid {})", Quote(process->exec_id), process->pid));
  }
  return Empty();
}

absl::StatusOr<google::protobuf::Empty> TaskService::Exec(const task::ExecProcessRequest& request) {
  LIMAN_ASSIGN_OR_RETURN(Process * init, FindInit(request.id()));
  LIMAN_RETURN_IF_ERROR(ValidateExecId(request.exec_id()));
  if (execs_.contains(request.exec_id()))
    return absl::AlreadyExistsError(fmt::format("exec process {}: already exists", Quote(request.exec_id())));
  if (init->exit) return absl::FailedPreconditionError("cannot exec in a stopped container");
  if (request.spec().value().empty()) return absl::InvalidArgumentError("exec: process spec is empty");
  auto process = std::make_unique<Process>();
  process->exec_id = request.exec_id();
  process->stdio = {request.stdin(), request.stdout(), request.stderr(), request.terminal()};
  // containerd marshals the OCI process as JSON inside the Any: exactly runtime exec's --process.
  process->spec_path = JoinPath(bundle_, fmt::format("exec-{}.json", request.exec_id()));
  LIMAN_RETURN_IF_ERROR(ReplaceFile(process->spec_path, request.spec().value(), 0600));
  execs_.emplace(request.exec_id(), std::move(process));
  events::TaskExecAdded event;
  event.set_container_id(container_id_);
  event.set_exec_id(request.exec_id());
  publisher_->Publish("/tasks/exec-added", event);
  return Empty();
}

absl::StatusOr<google::protobuf::Empty> TaskService::ResizePty(const task::ResizePtyRequest& request) {
  LIMAN_ASSIGN_OR_RETURN(Process * process, Find(request.id(), request.exec_id()));
  if (!process->io || !process->stdio.terminal)
    return absl::FailedPreconditionError("resize: the process has no terminal");
  LIMAN_RETURN_IF_ERROR(process->io->Resize(request.width(), request.height()));
  return Empty();
}

absl::StatusOr<google::protobuf::Empty> TaskService::CloseIO(const task::CloseIORequest& request) {
  LIMAN_ASSIGN_OR_RETURN(Process * process, Find(request.id(), request.exec_id()));
  if (request.stdin() && process->io) LIMAN_RETURN_IF_ERROR(process->io->CloseStdin());
  return Empty();
}

absl::StatusOr<google::protobuf::Empty> TaskService::Update(const task::UpdateTaskRequest& request) {
  LIMAN_ASSIGN_OR_RETURN(Process * init, FindInit(request.id()));
  if (init->exit) return absl::FailedPreconditionError("cannot update a stopped container");
  // containerd sends the OCI LinuxResources as JSON in the Any, as runtime update reads them.
  LIMAN_RETURN_IF_ERROR(runtime_->Update(container_id_, request.resources().value()));
  return Empty();
}

void TaskService::Wait(ttrpc::Call& call) {
  task::WaitRequest request;
  if (!request.ParseFromString(call.payload)) {
    call.responder.Reply(absl::InvalidArgumentError("cannot parse containerd.task.v2.WaitRequest"));
    return;
  }
  absl::StatusOr<Process*> process = Find(request.id(), request.exec_id());
  if (!process.ok()) {
    call.responder.Reply(process.status());
  } else if ((*process)->exit_published) {
    call.responder.Reply(WaitPayload(**process));
  } else {
    // Answered by PublishExit, once the exit is on disk and the output drained.
    (*process)->waiters.push_back(call.responder);
  }
}

absl::StatusOr<task::StatsResponse> TaskService::Stats(const task::StatsRequest& request) {
  LIMAN_RETURN_IF_ERROR(FindInit(request.id()).status());
  LIMAN_ASSIGN_OR_RETURN(std::string stats, runtime_->Stats(container_id_));
  task::StatsResponse response;
  LIMAN_ASSIGN_OR_RETURN(*response.mutable_stats(), StatsToMetricsAny(stats, IsUnifiedCgroupHost()));
  return response;
}

absl::StatusOr<task::ConnectResponse> TaskService::Connect(const task::ConnectRequest& request) {
  task::ConnectResponse response;
  response.set_shim_pid(static_cast<uint32_t>(getpid()));
  if (init_) response.set_task_pid(static_cast<uint32_t>(init_->pid));
  response.set_version("liman-shim " LIMAN_VERSION);
  return response;
}

absl::StatusOr<google::protobuf::Empty> TaskService::Shutdown(const task::ShutdownRequest& request) {
  // As containerd-shim-runc-v2: stay while a container is still there, unless told `now`.
  if (!request.now() && ((init_ && !deleted_) || !execs_.empty())) return Empty();
  shutdown_requested_ = true;
  // Answer first; the loop ends on its next round.
  loop_->AddTimer(absl::ZeroDuration(), [this] { loop_->Stop(); });
  return Empty();
}

void TaskService::UnmountRootfs() {
  if (!rootfs_mounted_) return;
  if (absl::Status status = UnmountAll(JoinPath(bundle_, "rootfs")); !status.ok())
    LogWarn("{}", status);
  rootfs_mounted_ = false;
}

}  // namespace liman::shim
