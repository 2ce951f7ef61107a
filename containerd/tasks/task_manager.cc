#include "containerd/tasks/task_manager.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/wall_clock.h"
#include "containerd/events/identifiers.h"
#include "containerd/events/task.pb.h"
#include "containerd/runtime/v2/task/shim.pb.h"
#include "containerd/tasks/shim_binary.h"
#include "containerd/tasks/shim_client.h"
#include "containerd/tasks/shim_command.h"
#include "containerd/tasks/shim_monitor.h"
#include "fmt/format.h"
#include "google/protobuf/empty.pb.h"
#include "shim/proto_time.h"

namespace liman::containerd::tasks {
namespace {

namespace task_api = ::containerd::task::v2;
namespace types = ::containerd::v1::types;
namespace task_events = ::containerd::events;
using Empty = google::protobuf::Empty;

// containerd 1.6's timeouts for a reloaded shim's first answer and for its shutdown
// (runtime/v2/shim.go loadTimeout, shutdownTimeout).
constexpr absl::Duration kLoadTimeout = absl::Seconds(5);
constexpr absl::Duration kShutdownTimeout = absl::Seconds(3);
// The exit reported for a dead shim whose `delete` action told nothing (containerd's 255).
constexpr uint32_t kUnknownExitStatus = 255;
// How many exits of departed tasks Wait can still report.
constexpr size_t kMaxDepartedExits = 1024;

TaskStatus FromProtoStatus(types::Status status) {
  switch (status) {
    case types::CREATED: return TaskStatus::kCreated;
    case types::RUNNING: return TaskStatus::kRunning;
    case types::STOPPED: return TaskStatus::kStopped;
    case types::PAUSED: return TaskStatus::kPaused;
    case types::PAUSING: return TaskStatus::kPausing;
    default: return TaskStatus::kUnknown;
  }
}

absl::Time ExitTime(bool present, const google::protobuf::Timestamp& timestamp) {
  return present ? shim::FromProtoTimestamp(timestamp) : absl::UnixEpoch();
}

std::string Label(std::string_view ns, std::string_view id) { return fmt::format("{}/{}", ns, id); }

bool IsDirectory(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::string_view TaskStatusName(TaskStatus status) {
  switch (status) {
    case TaskStatus::kCreated: return "created";
    case TaskStatus::kRunning: return "running";
    case TaskStatus::kStopped: return "stopped";
    case TaskStatus::kPaused: return "paused";
    case TaskStatus::kPausing: return "pausing";
    default: return "unknown";
  }
}

struct TaskManager::Task {
  std::string ns;
  std::string id;
  std::string bundle;
  std::string binary;  // the shim's path, for its `delete` action
  std::unique_ptr<ShimClient> client;
  ShimMonitor::WatchId watch = 0;

  // Set once, when the task leaves the manager (deleted, or its shim died and was cleaned up).
  std::mutex mu;
  std::condition_variable finished;
  std::optional<ExitInfo> final_exit;
  bool detached = false;  // the manager stopped: nobody will set final_exit
};

// --- life of the manager --------------------------------------------------------------------------

TaskManager::TaskManager(TaskManagerOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<TaskManager>> TaskManager::Create(TaskManagerOptions options) {
  if (options.state_dir.empty()) return absl::InvalidArgumentError("task manager: no state directory");
  if (options.address.empty()) return absl::InvalidArgumentError("task manager: no daemon address");
  if (options.events == nullptr) return absl::InvalidArgumentError("task manager: no event exchange");
  if (options.ttrpc_address.empty()) options.ttrpc_address = options.address + ".ttrpc";
  if (options.publish_binary.empty()) options.publish_binary = ManagerCommand();
  if (options.shim_dirs.empty()) options.shim_dirs.push_back(SelfExecutableDir());

  std::unique_ptr<TaskManager> manager(new TaskManager(std::move(options)));
  manager->roots_.state = JoinPath(manager->options_.state_dir, kRuntimePluginDir);
  if (!manager->options_.root_dir.empty())
    manager->roots_.root = JoinPath(manager->options_.root_dir, kRuntimePluginDir);
  for (const std::string& dir : {manager->roots_.state, manager->roots_.root}) {
    if (!dir.empty()) LIMAN_RETURN_IF_ERROR(MkdirAll(dir, 0711));
  }
  LIMAN_ASSIGN_OR_RETURN(manager->monitor_, ShimMonitor::Start());
  manager->cleanup_thread_ = std::thread([raw = manager.get()] { raw->CleanupWorker(); });
  return manager;
}

TaskManager::~TaskManager() {
  {
    std::lock_guard lock(calls_mu_);
    closing_ = true;
  }
  std::vector<std::shared_ptr<Task>> tasks;
  {
    std::lock_guard lock(mu_);
    for (auto& [key, task] : tasks_) tasks.push_back(task);
    for (auto& [key, task] : departing_) tasks.push_back(task);
  }
  // Interrupts Waits; the shims themselves are left running (as when containerd stops).
  for (const std::shared_ptr<Task>& task : tasks) {
    task->client->Close();
    std::lock_guard lock(task->mu);
    task->detached = true;
    task->finished.notify_all();
  }
  {
    std::unique_lock lock(calls_mu_);
    calls_done_.wait(lock, [this] { return active_calls_ == 0; });
  }
  {
    std::lock_guard lock(cleanup_mu_);
    stopping_ = true;
    cleanup_ready_.notify_all();
  }
  if (cleanup_thread_.joinable()) cleanup_thread_.join();
  monitor_.reset();
}

absl::Status TaskManager::EnterCall() {
  std::lock_guard lock(calls_mu_);
  if (closing_) return absl::UnavailableError("task manager is shutting down");
  ++active_calls_;
  return absl::OkStatus();
}

void TaskManager::LeaveCall() {
  std::lock_guard lock(calls_mu_);
  if (--active_calls_ == 0) calls_done_.notify_all();
}

#define LIMAN_TASK_CALL()                          \
  LIMAN_RETURN_IF_ERROR(EnterCall());              \
  absl::Cleanup leave_call_ = [this] { LeaveCall(); }

std::string TaskManager::BundlePath(std::string_view ns, std::string_view id) const {
  return BundleAt(roots_, ns, id).path;
}

// --- the task list --------------------------------------------------------------------------------

absl::StatusOr<std::shared_ptr<TaskManager::Task>> TaskManager::Find(std::string_view ns, std::string_view id) const {
  std::lock_guard lock(mu_);
  auto it = tasks_.find(Key(ns, id));
  if (it == tasks_.end())
    return absl::NotFoundError(fmt::format("task {} in namespace {}: not found", Quote(id), Quote(ns)));
  return it->second;
}

bool TaskManager::Known(const Key& key) const {
  return tasks_.contains(key) || creating_.contains(key) || departing_.contains(key);
}

bool TaskManager::Claim(const std::shared_ptr<Task>& task) {
  std::lock_guard lock(mu_);
  Key key(task->ns, task->id);
  auto it = tasks_.find(key);
  if (it == tasks_.end() || it->second != task) return false;
  tasks_.erase(it);
  departing_[key] = task;
  return true;
}

absl::Status TaskManager::Adopt(const std::shared_ptr<Task>& task, UniqueFd log) {
  {
    std::lock_guard lock(mu_);
    tasks_[Key(task->ns, task->id)] = task;
  }
  // Listed first: a death noticed at once must find the task to clean up.
  std::weak_ptr<Task> weak = task;
  absl::StatusOr<ShimMonitor::WatchId> watch =
      monitor_->Watch(task->client->address(), std::move(log), Label(task->ns, task->id), [this, weak] {
        std::shared_ptr<Task> dead = weak.lock();
        if (!dead) return;
        std::lock_guard lock(cleanup_mu_);
        dead_.push_back(std::move(dead));
        cleanup_ready_.notify_all();
      });
  if (!watch.ok()) return watch.status();
  task->watch = *watch;
  return absl::OkStatus();
}

void TaskManager::RememberExit(const Key& key, ExitInfo exit) {
  std::lock_guard lock(mu_);
  departed_.emplace_back(key, exit);
  if (departed_.size() > kMaxDepartedExits) departed_.pop_front();
}

void TaskManager::Finish(Task& task, ExitInfo exit, bool remember) {
  {
    std::lock_guard lock(mu_);
    auto it = departing_.find(Key(task.ns, task.id));
    if (it != departing_.end() && it->second.get() == &task) departing_.erase(it);
  }
  if (remember) RememberExit(Key(task.ns, task.id), exit);
  std::lock_guard lock(task.mu);
  if (!task.final_exit) task.final_exit = exit;
  task.finished.notify_all();
}

std::optional<ExitInfo> TaskManager::DepartedExit(const Key& key) const {
  std::lock_guard lock(mu_);
  for (auto it = departed_.rbegin(); it != departed_.rend(); ++it)
    if (it->first == key) return it->second;
  return std::nullopt;
}

void TaskManager::CleanupWorker() {
  while (true) {
    std::shared_ptr<Task> task;
    {
      std::unique_lock lock(cleanup_mu_);
      cleanup_ready_.wait(lock, [this] { return stopping_ || !dead_.empty(); });
      if (stopping_) return;  // what is left is found dead again by the next LoadExisting
      task = std::move(dead_.front());
      dead_.pop_front();
    }
    // A task being deleted was claimed by Delete first: its shim's exit is expected.
    if (!Claim(task)) continue;
    LogWarn("shim of task {} disconnected: cleaning up", Label(task->ns, task->id));
    task->client->Close();
    Finish(*task, CleanupDeadShim(task->ns, task->id, task->bundle, task->binary));
  }
}

ExitInfo TaskManager::CleanupDeadShim(const std::string& ns, const std::string& id, const std::string& bundle,
                                      const std::string& binary) {
  ExitInfo exit{0, kUnknownExitStatus, WallClockNow()};
  bool cleaned = false;
  if (!binary.empty()) {
    ShimInvocation shim{binary, ns, id, bundle, options_.address, options_.ttrpc_address, options_.publish_binary,
                        options_.shim_debug};
    absl::StatusOr<task_api::DeleteResponse> response = RunShimDelete(shim, options_.call_timeout);
    if (response.ok()) {
      exit = ExitInfo{response->pid(), response->exit_status(),
                      ExitTime(response->has_exited_at(), response->exited_at())};
      cleaned = true;
    } else {
      LogWarn("clean up after the shim of task {}: {}", Label(ns, id), response.status());
    }
  }
  task_events::TaskExit exit_event;
  exit_event.set_container_id(id);
  exit_event.set_id(id);
  exit_event.set_pid(exit.pid);
  exit_event.set_exit_status(exit.exit_status);
  *exit_event.mutable_exited_at() = shim::ToProtoTimestamp(exit.exited_at);
  if (absl::Status status = options_.events->Publish(ns, "/tasks/exit", exit_event); !status.ok())
    LogWarn("task {}: {}", Label(ns, id), status);
  task_events::TaskDelete delete_event;
  delete_event.set_container_id(id);
  delete_event.set_id(id);
  delete_event.set_pid(exit.pid);
  delete_event.set_exit_status(exit.exit_status);
  *delete_event.mutable_exited_at() = shim::ToProtoTimestamp(exit.exited_at);
  if (absl::Status status = options_.events->Publish(ns, "/tasks/delete", delete_event); !status.ok())
    LogWarn("task {}: {}", Label(ns, id), status);
  // As containerd: when the shim's own cleanup failed the bundle stays, so that the next start
  // of the daemon tries again; otherwise (or with no shim to ask) it goes.
  if (cleaned || binary.empty()) {
    if (absl::Status status = DeleteBundle(bundle); !status.ok())
      LogWarn("remove bundle of task {}: {}", Label(ns, id), status);
  }
  return exit;
}

void TaskManager::ShutdownAndRemove(Task& task) {
  ShutdownShim(task);
  if (absl::Status removed = DeleteBundle(task.bundle); !removed.ok())
    LogWarn("remove bundle of task {}: {}", Label(task.ns, task.id), removed);
}

void TaskManager::ShutdownShim(Task& task) {
  task_api::ShutdownRequest request;
  request.set_id(task.id);
  Empty empty;
  // The shim exits while answering, or right after: a transport error here is success.
  absl::Status status = task.client->Call("Shutdown", request, &empty, kShutdownTimeout);
  if (!status.ok() && status.code() != absl::StatusCode::kUnavailable)
    LogWarn("shut down the shim of task {}: {}", Label(task.ns, task.id), status);
  task.client->Close();
}

absl::Status TaskManager::MapError(const Task& task, std::string_view what, absl::Status status) const {
  return Annotate(status, fmt::format("{} task {}", what, Quote(task.id)));
}

// --- create ---------------------------------------------------------------------------------------

absl::StatusOr<uint32_t> TaskManager::Create(std::string_view ns, std::string_view id,
                                             const CreateTaskOptions& options) {
  LIMAN_TASK_CALL();
  const std::string what = fmt::format("create task {}", Quote(id));
  if (absl::Status status = events::ValidateIdentifier(ns); !status.ok())
    return Annotate(status, fmt::format("{}: invalid namespace", what));
  if (absl::Status status = events::ValidateIdentifier(id); !status.ok())
    return Annotate(status, fmt::format("{}: invalid task id", what));
  Key key(ns, id);
  {
    std::lock_guard lock(mu_);
    if (Known(key))
      return absl::AlreadyExistsError(fmt::format("{}: task already exists in namespace {}", what, Quote(ns)));
    creating_.insert(key);
    // A new task of the same name: the old one's exit is no answer for it.
    std::erase_if(departed_, [&key](const auto& entry) { return entry.first == key; });
  }
  absl::Cleanup unreserve = [this, &key] {
    std::lock_guard lock(mu_);
    creating_.erase(key);
  };

  absl::StatusOr<std::string> binary = ResolveShimBinary(options.runtime, options_.shim_dirs);
  if (!binary.ok()) return Annotate(binary.status(), what);
  absl::StatusOr<Bundle> bundle = CreateBundle(roots_, ns, id, options.spec);
  if (!bundle.ok()) return Annotate(bundle.status(), what);

  ShimInvocation invocation{*binary, std::string(ns), std::string(id), bundle->path, options_.address,
                            options_.ttrpc_address, options_.publish_binary, options_.shim_debug};
  // Undoes everything so far: the shim's own cleanup (runtime state, rootfs mount, socket) and
  // the bundle. `shim_error` is what the caller is told.
  auto fail = [&](absl::Status shim_error) -> absl::Status {
    absl::StatusOr<task_api::DeleteResponse> cleanup = RunShimDelete(invocation, options_.call_timeout);
    if (!cleanup.ok()) LogWarn("{}: clean up: {}", what, cleanup.status());
    if (absl::Status removed = DeleteBundle(bundle->path); !removed.ok()) LogWarn("{}: {}", what, removed);
    return Annotate(shim_error, what);
  };

  // Where the runtime's shim is, for the cleanup after a restart (containerd's file name).
  if (absl::Status status = ReplaceFile(JoinPath(bundle->path, "shim-binary-path"), *binary, 0600); !status.ok())
    return fail(status);
  absl::StatusOr<UniqueFd> log = OpenShimLog(bundle->path);
  if (!log.ok()) return fail(log.status());
  std::string shim_options = options.runtime_options ? options.runtime_options->SerializeAsString() : "";
  absl::StatusOr<std::string> address = RunShimStart(invocation, shim_options, options_.call_timeout);
  if (!address.ok()) return fail(Annotate(address.status(), "start shim"));

  auto task = std::make_shared<Task>();
  task->ns = std::string(ns);
  task->id = std::string(id);
  task->bundle = bundle->path;
  task->binary = *binary;
  task->client = std::make_unique<ShimClient>(*address);

  task_api::CreateTaskRequest request;
  request.set_id(task->id);
  request.set_bundle(bundle->path);
  for (const MountDescriptor& mount : options.rootfs) {
    ::containerd::types::Mount* out = request.add_rootfs();
    out->set_type(mount.type);
    out->set_source(mount.source);
    out->set_target(mount.target);
    for (const std::string& option : mount.options) out->add_options(option);
  }
  request.set_terminal(options.io.terminal);
  request.set_stdin(options.io.stdin_uri);
  request.set_stdout(options.io.stdout_uri);
  request.set_stderr(options.io.stderr_uri);
  if (options.runtime_options) *request.mutable_options() = *options.runtime_options;

  absl::Status status = Adopt(task, std::move(*log));
  task_api::CreateTaskResponse response;
  if (status.ok()) status = task->client->Call("Create", request, &response, options_.call_timeout);
  if (status.ok()) return response.pid();

  // Out of the list again, unless the monitor found the shim dead first (then its cleanup
  // reports the task's end and removes everything).
  if (!Claim(task)) return Annotate(status, what);
  if (task->watch != 0) monitor_->Unwatch(task->watch);
  task_api::DeleteRequest delete_request;
  delete_request.set_id(task->id);
  task_api::DeleteResponse ignored;
  (void)task->client->Call("Delete", delete_request, &ignored, options_.call_timeout);
  ShutdownShim(*task);
  Finish(*task, ExitInfo{0, kUnknownExitStatus, WallClockNow()}, /*remember=*/false);
  return fail(status);
}

// --- calls on a task ------------------------------------------------------------------------------

absl::StatusOr<uint32_t> TaskManager::Start(std::string_view ns, std::string_view id, std::string_view exec_id) {
  LIMAN_TASK_CALL();
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, id));
  task_api::StartRequest request;
  request.set_id(task->id);
  request.set_exec_id(std::string(exec_id));
  task_api::StartResponse response;
  if (absl::Status status = task->client->Call("Start", request, &response, options_.call_timeout); !status.ok())
    return MapError(*task, "start", status);
  return response.pid();
}

absl::Status TaskManager::Kill(std::string_view ns, std::string_view id, std::string_view exec_id, uint32_t signal,
                               bool all) {
  LIMAN_TASK_CALL();
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, id));
  task_api::KillRequest request;
  request.set_id(task->id);
  request.set_exec_id(std::string(exec_id));
  request.set_signal(signal);
  request.set_all(all);
  Empty empty;
  if (absl::Status status = task->client->Call("Kill", request, &empty, options_.call_timeout); !status.ok())
    return MapError(*task, "kill", status);
  return absl::OkStatus();
}

absl::Status TaskManager::Exec(std::string_view ns, std::string_view id, std::string_view exec_id,
                               const google::protobuf::Any& spec, const TaskIo& io) {
  LIMAN_TASK_CALL();
  if (absl::Status status = events::ValidateIdentifier(exec_id); !status.ok())
    return Annotate(status, fmt::format("invalid exec id {}", Quote(exec_id)));
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, id));
  task_api::ExecProcessRequest request;
  request.set_id(task->id);
  request.set_exec_id(std::string(exec_id));
  request.set_terminal(io.terminal);
  request.set_stdin(io.stdin_uri);
  request.set_stdout(io.stdout_uri);
  request.set_stderr(io.stderr_uri);
  *request.mutable_spec() = spec;
  Empty empty;
  if (absl::Status status = task->client->Call("Exec", request, &empty, options_.call_timeout); !status.ok())
    return MapError(*task, "exec in", status);
  return absl::OkStatus();
}

absl::Status TaskManager::ResizePty(std::string_view ns, std::string_view id, std::string_view exec_id,
                                    uint32_t width, uint32_t height) {
  LIMAN_TASK_CALL();
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, id));
  task_api::ResizePtyRequest request;
  request.set_id(task->id);
  request.set_exec_id(std::string(exec_id));
  request.set_width(width);
  request.set_height(height);
  Empty empty;
  if (absl::Status status = task->client->Call("ResizePty", request, &empty, options_.call_timeout); !status.ok())
    return MapError(*task, "resize pty of", status);
  return absl::OkStatus();
}

absl::Status TaskManager::CloseIO(std::string_view ns, std::string_view id, std::string_view exec_id) {
  LIMAN_TASK_CALL();
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, id));
  task_api::CloseIORequest request;
  request.set_id(task->id);
  request.set_exec_id(std::string(exec_id));
  request.set_stdin(true);
  Empty empty;
  if (absl::Status status = task->client->Call("CloseIO", request, &empty, options_.call_timeout); !status.ok())
    return MapError(*task, "close io of", status);
  return absl::OkStatus();
}

absl::Status TaskManager::Pause(std::string_view ns, std::string_view id) {
  LIMAN_TASK_CALL();
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, id));
  task_api::PauseRequest request;
  request.set_id(task->id);
  Empty empty;
  if (absl::Status status = task->client->Call("Pause", request, &empty, options_.call_timeout); !status.ok())
    return MapError(*task, "pause", status);
  return absl::OkStatus();
}

absl::Status TaskManager::Resume(std::string_view ns, std::string_view id) {
  LIMAN_TASK_CALL();
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, id));
  task_api::ResumeRequest request;
  request.set_id(task->id);
  Empty empty;
  if (absl::Status status = task->client->Call("Resume", request, &empty, options_.call_timeout); !status.ok())
    return MapError(*task, "resume", status);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ProcessInfo>> TaskManager::Pids(std::string_view ns, std::string_view id) {
  LIMAN_TASK_CALL();
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, id));
  task_api::PidsRequest request;
  request.set_id(task->id);
  task_api::PidsResponse response;
  if (absl::Status status = task->client->Call("Pids", request, &response, options_.call_timeout); !status.ok())
    return MapError(*task, "list processes of", status);
  std::vector<ProcessInfo> processes;
  for (const types::ProcessInfo& process : response.processes())
    processes.push_back(ProcessInfo{process.pid(), process.info()});
  return processes;
}

absl::Status TaskManager::Update(std::string_view ns, std::string_view id, const google::protobuf::Any& resources,
                                 const std::map<std::string, std::string>& annotations) {
  LIMAN_TASK_CALL();
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, id));
  task_api::UpdateTaskRequest request;
  request.set_id(task->id);
  *request.mutable_resources() = resources;
  for (const auto& [key, value] : annotations) (*request.mutable_annotations())[key] = value;
  Empty empty;
  if (absl::Status status = task->client->Call("Update", request, &empty, options_.call_timeout); !status.ok())
    return MapError(*task, "update", status);
  return absl::OkStatus();
}

absl::StatusOr<google::protobuf::Any> TaskManager::Stats(std::string_view ns, std::string_view id) {
  LIMAN_TASK_CALL();
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, id));
  task_api::StatsRequest request;
  request.set_id(task->id);
  task_api::StatsResponse response;
  if (absl::Status status = task->client->Call("Stats", request, &response, options_.call_timeout); !status.ok())
    return MapError(*task, "stats of", status);
  return response.stats();
}

absl::StatusOr<ProcessState> TaskManager::State(std::string_view ns, std::string_view id, std::string_view exec_id) {
  LIMAN_TASK_CALL();
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, id));
  task_api::StateRequest request;
  request.set_id(task->id);
  request.set_exec_id(std::string(exec_id));
  task_api::StateResponse response;
  if (absl::Status status = task->client->Call("State", request, &response, options_.call_timeout); !status.ok()) {
    // As containerd: a task whose shim is gone (cleanup pending) is not found.
    if (status.code() == absl::StatusCode::kUnavailable && !task->client->Reachable())
      return absl::NotFoundError(fmt::format("state of task {}: shim is gone: {}", Quote(task->id), status.message()));
    return MapError(*task, "state of", status);
  }
  ProcessState state;
  state.container_id = task->id;
  state.exec_id = std::string(exec_id);
  state.bundle = response.bundle();
  state.pid = response.pid();
  state.status = FromProtoStatus(response.status());
  state.io = TaskIo{response.stdin(), response.stdout(), response.stderr(), response.terminal()};
  state.exit_status = response.exit_status();
  state.exited_at = ExitTime(response.has_exited_at(), response.exited_at());
  return state;
}

absl::StatusOr<std::vector<ProcessState>> TaskManager::List(std::string_view ns) {
  LIMAN_TASK_CALL();
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu_);
    for (auto it = tasks_.lower_bound(Key(ns, "")); it != tasks_.end() && it->first.first == ns; ++it)
      ids.push_back(it->first.second);
  }
  std::vector<ProcessState> states;
  for (const std::string& id : ids) {
    absl::StatusOr<ProcessState> state = State(ns, id);
    if (absl::IsNotFound(state.status())) continue;  // deleted meanwhile, or its shim died
    if (!state.ok()) return state.status();
    states.push_back(std::move(*state));
  }
  return states;
}

std::optional<absl::StatusOr<ExitInfo>> TaskManager::ExitOfDeparted(const Key& key, absl::Time deadline) {
  std::shared_ptr<Task> departing;
  {
    std::lock_guard lock(mu_);
    auto it = departing_.find(key);
    if (it != departing_.end()) departing = it->second;
  }
  // Leaving right now (being deleted, or its dead shim being cleaned up): its exit is coming.
  if (departing) return AwaitFinish(*departing, deadline);
  if (std::optional<ExitInfo> exit = DepartedExit(key)) return absl::StatusOr<ExitInfo>(*exit);
  return std::nullopt;
}

absl::StatusOr<ExitInfo> TaskManager::Wait(std::string_view ns, std::string_view id, std::string_view exec_id,
                                           absl::Time deadline) {
  LIMAN_TASK_CALL();
  absl::StatusOr<std::shared_ptr<Task>> found = Find(ns, id);
  if (!found.ok()) {
    if (exec_id.empty()) {
      if (std::optional<absl::StatusOr<ExitInfo>> exit = ExitOfDeparted(Key(ns, id), deadline)) return *exit;
    }
    return found.status();
  }
  std::shared_ptr<Task> task = std::move(*found);
  // A connection can fail while the shim is alive; Wait is asked again then (it is idempotent).
  // A shim that is gone does not come back: the init's exit is what the cleanup finds.
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    // The pid is the process's own (the shim's Wait answers only status and time).
    task_api::StateRequest state_request;
    state_request.set_id(task->id);
    state_request.set_exec_id(std::string(exec_id));
    task_api::StateResponse state;
    absl::Status status = task->client->Call("State", state_request, &state, options_.call_timeout);
    if (status.ok()) {
      task_api::WaitRequest request;
      request.set_id(task->id);
      request.set_exec_id(std::string(exec_id));
      task_api::WaitResponse response;
      status = task->client->LongCall("Wait", request, &response, deadline);
      if (status.ok())
        return ExitInfo{state.pid(), response.exit_status(), ExitTime(response.has_exited_at(), response.exited_at())};
    }
    if (exec_id.empty()) {
      // Deleted meanwhile (the shim no longer knows it), or the shim is gone.
      if (absl::IsNotFound(status) || (status.code() == absl::StatusCode::kUnavailable && !task->client->Reachable())) {
        if (std::optional<absl::StatusOr<ExitInfo>> exit = ExitOfDeparted(Key(ns, id), deadline)) return *exit;
        if (status.code() == absl::StatusCode::kUnavailable) return AwaitFinish(*task, deadline);
      }
    }
    if (status.code() != absl::StatusCode::kUnavailable || attempt == kAttempts)
      return MapError(*task, "wait for", status);
    // A shim in the middle of dying may still accept a connection: give the monitor a moment
    // to see it go before asking again.
    absl::StatusOr<ExitInfo> finished =
        AwaitFinish(*task, std::min(deadline, absl::Now() + attempt * absl::Milliseconds(200)));
    // (An exec's exit died with its shim: only the init's is known.)
    if (finished.ok() && !exec_id.empty()) return MapError(*task, "wait for", status);
    if (finished.ok() || finished.status().code() != absl::StatusCode::kDeadlineExceeded) return finished;
    if (absl::Now() >= deadline) return finished;
  }
}

absl::StatusOr<ExitInfo> TaskManager::AwaitFinish(Task& task, absl::Time deadline) {
  std::unique_lock lock(task.mu);
  auto done = [&task] { return task.final_exit.has_value() || task.detached; };
  if (deadline == absl::InfiniteFuture()) {
    task.finished.wait(lock, done);
  } else {
    task.finished.wait_for(lock, absl::ToChronoNanoseconds(std::max(deadline - absl::Now(), absl::ZeroDuration())), done);
  }
  if (task.final_exit) return *task.final_exit;
  if (task.detached) return absl::UnavailableError(fmt::format("wait for task {}: task manager stopped", Quote(task.id)));
  return absl::DeadlineExceededError(fmt::format("wait for task {}: deadline exceeded", Quote(task.id)));
}

// --- delete ---------------------------------------------------------------------------------------

absl::StatusOr<ExitInfo> TaskManager::Delete(std::string_view ns, std::string_view id) {
  LIMAN_TASK_CALL();
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, id));
  task_api::DeleteRequest request;
  request.set_id(task->id);
  task_api::DeleteResponse response;
  absl::Status status = task->client->Call("Delete", request, &response, options_.call_timeout);
  if (!status.ok() && status.code() == absl::StatusCode::kUnavailable && !task->client->Reachable()) {
    // The shim is dead: clean up after it here (or wait for the monitor's cleanup to finish).
    if (Claim(task)) {
      monitor_->Unwatch(task->watch);
      task->client->Close();
      Finish(*task, CleanupDeadShim(task->ns, task->id, task->bundle, task->binary));
    }
    absl::StatusOr<ExitInfo> exit = AwaitFinish(*task, absl::InfiniteFuture());
    if (exit.ok()) return exit;
    return MapError(*task, "delete", status);
  }
  // NotFound: the shim has no such task (any more); the shim itself goes all the same.
  if (!status.ok() && !absl::IsNotFound(status)) return MapError(*task, "delete", status);
  ExitInfo exit{response.pid(), response.exit_status(), ExitTime(response.has_exited_at(), response.exited_at())};
  if (Claim(task)) {
    // Out of the list and unwatched before the shim is told to go: its exit is no death.
    monitor_->Unwatch(task->watch);
    ShutdownAndRemove(*task);
    Finish(*task, exit);
  }
  if (!status.ok()) return MapError(*task, "delete", status);
  return exit;
}

absl::StatusOr<ExitInfo> TaskManager::DeleteProcess(std::string_view ns, std::string_view id,
                                                    std::string_view exec_id) {
  LIMAN_TASK_CALL();
  if (exec_id.empty()) return absl::InvalidArgumentError("delete process: empty exec id (use Delete for the task)");
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, id));
  task_api::DeleteRequest request;
  request.set_id(task->id);
  request.set_exec_id(std::string(exec_id));
  task_api::DeleteResponse response;
  if (absl::Status status = task->client->Call("Delete", request, &response, options_.call_timeout); !status.ok())
    return MapError(*task, fmt::format("delete process {} of", Quote(exec_id)), status);
  return ExitInfo{response.pid(), response.exit_status(), ExitTime(response.has_exited_at(), response.exited_at())};
}

// --- restart --------------------------------------------------------------------------------------

absl::StatusOr<LoadReport> TaskManager::LoadExisting() {
  LIMAN_TASK_CALL();
  LoadReport report;
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> namespaces, ListDir(roots_.state));
  std::sort(namespaces.begin(), namespaces.end());
  for (const std::string& ns : namespaces) {
    std::string ns_dir = JoinPath(roots_.state, ns);
    if (ns.starts_with('.') || !IsDirectory(ns_dir)) continue;
    absl::StatusOr<std::vector<std::string>> ids = ListDir(ns_dir);
    if (!ids.ok()) {
      LogError("load tasks in namespace {}: {}", Quote(ns), ids.status());
      continue;
    }
    std::sort(ids->begin(), ids->end());
    for (const std::string& id : *ids) {
      std::string bundle = JoinPath(ns_dir, id);
      if (id.starts_with('.') || !IsDirectory(bundle)) continue;
      {
        std::lock_guard lock(mu_);
        if (Known(Key(ns, id))) continue;
      }
      absl::StatusOr<std::vector<std::string>> files = ListDir(bundle);
      if (!files.ok() || files->empty()) {
        if (absl::Status status = DeleteBundle(bundle); !status.ok()) LogWarn("load task {}: {}", Label(ns, id), status);
        continue;
      }
      absl::StatusOr<std::string> binary = ReadFile(JoinPath(bundle, "shim-binary-path"));
      if (!binary.ok()) {
        // No shim to ask (a bundle from before the shim started): nothing can be running.
        LogWarn("load task {}: {}: removing the bundle", Label(ns, id), binary.status());
        if (absl::Status status = DeleteBundle(bundle); !status.ok()) LogWarn("load task {}: {}", Label(ns, id), status);
        continue;
      }
      auto task = std::make_shared<Task>();
      task->ns = ns;
      task->id = id;
      task->bundle = bundle;
      task->binary = std::string(absl::StripAsciiWhitespace(*binary));
      absl::Status alive = [&]() -> absl::Status {
        LIMAN_ASSIGN_OR_RETURN(std::string address, ReadFile(JoinPath(bundle, "address")));
        task->client = std::make_unique<ShimClient>(std::string(absl::StripAsciiWhitespace(address)));
        task_api::ConnectRequest request;
        request.set_id(id);
        task_api::ConnectResponse response;
        return task->client->Call("Connect", request, &response, kLoadTimeout);
      }();
      if (alive.ok()) {
        absl::StatusOr<UniqueFd> log = OpenShimLog(bundle);
        if (!log.ok()) LogWarn("load task {}: shim log: {}", Label(ns, id), log.status());
        alive = Adopt(task, log.ok() ? std::move(*log) : UniqueFd());
        if (alive.ok()) {
          report.adopted.push_back(Label(ns, id));
          continue;
        }
        if (!Claim(task)) continue;  // the monitor saw it die and cleans up
      }
      LogWarn("load task {}: shim is gone ({}): cleaning up", Label(ns, id), alive);
      if (task->client) task->client->Close();
      ExitInfo exit = CleanupDeadShim(ns, id, bundle, task->binary);
      Finish(*task, exit);
      report.cleaned.push_back(Label(ns, id));
    }
    // Work directories of tasks that did not come back (the state directory went with a reboot).
    if (!roots_.root.empty()) {
      std::string work_ns = JoinPath(roots_.root, ns);
      absl::StatusOr<std::vector<std::string>> works = ListDir(work_ns);
      for (const std::string& id : works.ok() ? *works : std::vector<std::string>{}) {
        {
          std::lock_guard lock(mu_);
          if (Known(Key(ns, id))) continue;
        }
        if (absl::Status status = RemoveAll(JoinPath(work_ns, id)); !status.ok())
          LogWarn("remove work directory of {}: {}", Label(ns, id), status);
      }
    }
  }
  return report;
}

}  // namespace liman::containerd::tasks
