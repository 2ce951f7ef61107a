// Tasks: one shim per container, driven over ttrpc the way containerd 1.6's runtime v2 task
// manager drives them (runtime/v2/manager.go, shim.go, shim_load.go). The manager starts shims,
// keeps the list of live tasks per namespace, forwards every task call to the task's shim,
// notices dead shims and cleans up after them (the exit and delete events the shim could not
// publish any more), and after a daemon restart adopts the shims that kept running.
//
// Events: as in containerd, the shims publish the task events themselves (/tasks/create,
// /tasks/start, /tasks/exit, /tasks/exec-added, /tasks/exec-started, /tasks/paused,
// /tasks/resumed, /tasks/delete, /tasks/oom) through the ttrpc events endpoint
// (events/ttrpc_endpoint.h); the manager publishes only for shims that died: /tasks/exit and
// /tasks/delete with the exit the shim's `delete` action reported (255 when it reported none).
//
// Thread-safe: every method may be called from any thread; Wait blocks only its caller.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/mount.h"
#include "common/unique_fd.h"
#include "containerd/events/exchange.h"
#include "containerd/tasks/bundle.h"
#include "google/protobuf/any.pb.h"

namespace liman::containerd::tasks {

class ShimMonitor;

struct TaskManagerOptions {
  // containerd's state directory (/run/containerd): bundles go under
  // <state_dir>/io.containerd.runtime.v2.task/<namespace>/<id>.
  std::string state_dir;
  // containerd's root directory (/var/lib/containerd): each task gets a work directory under
  // <root_dir>/io.containerd.runtime.v2.task/<namespace>/<id>, linked from the bundle as `work`.
  // Empty: no work directories.
  std::string root_dir;
  // The daemon's gRPC socket, passed to shims as -address (they derive their own socket from it).
  std::string address;
  // Where shims publish events ($TTRPC_ADDRESS); empty: address + ".ttrpc".
  std::string ttrpc_address;
  // -publish-binary; empty: this executable.
  std::string publish_binary;
  // Where shim binaries are looked for before $PATH; empty: the directory of this executable.
  std::vector<std::string> shim_dirs;
  // Receives the events the manager publishes (required).
  events::Exchange* events = nullptr;
  // Shims started with -debug.
  bool shim_debug = false;
  // Bound on every shim call but Wait, and on running the shim binary's actions.
  absl::Duration call_timeout = absl::Minutes(2);
};

struct TaskIo {
  std::string stdin_uri;  // "" (none), a FIFO path, or a URI the shim understands (file://…)
  std::string stdout_uri;
  std::string stderr_uri;
  bool terminal = false;
};

struct CreateTaskOptions {
  std::string spec;                          // the OCI runtime spec (config.json)
  std::vector<MountDescriptor> rootfs;       // mounted by the shim onto <bundle>/rootfs
  std::string runtime;                       // "io.containerd.runc.v2", "io.containerd.liman.v2", or a path
  std::optional<google::protobuf::Any> runtime_options;  // e.g. containerd.runc.v1.Options
  TaskIo io;
};

enum class TaskStatus { kUnknown, kCreated, kRunning, kStopped, kPaused, kPausing };
std::string_view TaskStatusName(TaskStatus status);  // "created", "running"…

struct ProcessState {
  std::string container_id;
  std::string exec_id;  // empty for the task's init process
  std::string bundle;
  uint32_t pid = 0;
  TaskStatus status = TaskStatus::kUnknown;
  TaskIo io;
  uint32_t exit_status = 0;
  // As the shim reported it: UnixEpoch when it sent none (liman-shim, while running); Go's zero
  // time, 0001-01-01, from containerd-shim-runc-v2 while running.
  absl::Time exited_at = absl::UnixEpoch();
};

struct ExitInfo {
  uint32_t pid = 0;
  uint32_t exit_status = 0;
  absl::Time exited_at = absl::UnixEpoch();
};

struct ProcessInfo {
  uint32_t pid = 0;
  google::protobuf::Any info;  // containerd.runc.v1.ProcessDetails naming the exec, if any
};

// What LoadExisting found, as "namespace/id".
struct LoadReport {
  std::vector<std::string> adopted;  // live shims: their tasks are managed again
  std::vector<std::string> cleaned;  // dead shims: cleaned up, exit and delete published
};

class TaskManager {
 public:
  static absl::StatusOr<std::unique_ptr<TaskManager>> Create(TaskManagerOptions options);
  // Lets go of the shims (they and their containers keep running, as when containerd stops);
  // interrupts pending Waits (Unavailable).
  ~TaskManager();
  TaskManager(const TaskManager&) = delete;
  TaskManager& operator=(const TaskManager&) = delete;

  // On daemon start: adopts the tasks whose shims are alive and cleans up after dead ones.
  absl::StatusOr<LoadReport> LoadExisting();

  // Makes the bundle, starts the runtime's shim and creates the task in it. Returns the pid of
  // the task's init. On failure nothing is left: no shim, no bundle, no mount.
  absl::StatusOr<uint32_t> Create(std::string_view ns, std::string_view id, const CreateTaskOptions& options);
  // Starts the init (empty exec_id) or an exec process; returns its pid.
  absl::StatusOr<uint32_t> Start(std::string_view ns, std::string_view id, std::string_view exec_id = "");
  absl::Status Kill(std::string_view ns, std::string_view id, std::string_view exec_id, uint32_t signal, bool all);
  // Adds an exec process (`spec`: the OCI process as JSON in an Any, as containerd sends it).
  absl::Status Exec(std::string_view ns, std::string_view id, std::string_view exec_id,
                    const google::protobuf::Any& spec, const TaskIo& io);
  absl::Status ResizePty(std::string_view ns, std::string_view id, std::string_view exec_id, uint32_t width,
                         uint32_t height);
  // Closes the process's stdin.
  absl::Status CloseIO(std::string_view ns, std::string_view id, std::string_view exec_id);
  absl::Status Pause(std::string_view ns, std::string_view id);
  absl::Status Resume(std::string_view ns, std::string_view id);
  absl::StatusOr<std::vector<ProcessInfo>> Pids(std::string_view ns, std::string_view id);
  // `resources`: the OCI LinuxResources as JSON in an Any.
  absl::Status Update(std::string_view ns, std::string_view id, const google::protobuf::Any& resources,
                      const std::map<std::string, std::string>& annotations = {});
  // Cgroup metrics (io.containerd.cgroups.v1.Metrics or v2) in an Any.
  absl::StatusOr<google::protobuf::Any> Stats(std::string_view ns, std::string_view id);
  // Blocks until the process has exited (or `deadline`: DeadlineExceeded). Any number of
  // waiters. If the shim dies meanwhile, the init's waiters get the exit the cleanup found. The
  // exits of the last tasks that left (deleted, or cleaned up after their shim died) are kept:
  // a Wait for the init of such a task returns that exit rather than NotFound.
  absl::StatusOr<ExitInfo> Wait(std::string_view ns, std::string_view id, std::string_view exec_id = "",
                                absl::Time deadline = absl::InfiniteFuture());
  absl::StatusOr<ProcessState> State(std::string_view ns, std::string_view id, std::string_view exec_id = "");
  // The task's init process state; NotFound when there is no such task.
  absl::StatusOr<ProcessState> Get(std::string_view ns, std::string_view id) { return State(ns, id); }
  // Every task of the namespace (its init's state), by id.
  absl::StatusOr<std::vector<ProcessState>> List(std::string_view ns);
  // Deletes a stopped (or created) task: the shim's Delete, its Shutdown, then the bundle.
  // Returns the init's exit; a dead shim is cleaned up instead and its recorded exit returned.
  absl::StatusOr<ExitInfo> Delete(std::string_view ns, std::string_view id);
  // Deletes a finished exec process.
  absl::StatusOr<ExitInfo> DeleteProcess(std::string_view ns, std::string_view id, std::string_view exec_id);

  // The bundle directory of (ns, id), whether or not the task exists.
  std::string BundlePath(std::string_view ns, std::string_view id) const;

 private:
  struct Task;
  using Key = std::pair<std::string, std::string>;  // namespace, id

  explicit TaskManager(TaskManagerOptions options);

  absl::StatusOr<std::shared_ptr<Task>> Find(std::string_view ns, std::string_view id) const;
  // Whether (ns, id) is listed, being created or departing (call with mu_ held).
  bool Known(const Key& key) const;
  // Moves `task` from the list to departing_ if it is still listed; true for the one caller that
  // did (and who must Finish it).
  bool Claim(const std::shared_ptr<Task>& task);
  // Connects the task's monitor watch and adds it to the list.
  absl::Status Adopt(const std::shared_ptr<Task>& task, UniqueFd log);
  // After a shim died: its `delete` action, the events, the bundle; returns the exit.
  ExitInfo CleanupDeadShim(const std::string& ns, const std::string& id, const std::string& bundle,
                           const std::string& binary);
  // Records the task's final exit (for late Waits too, when `remember`) and wakes its waiters.
  void Finish(Task& task, ExitInfo exit, bool remember = true);
  void RememberExit(const Key& key, ExitInfo exit);
  std::optional<ExitInfo> DepartedExit(const Key& key) const;
  // The exit of a task that is leaving (waits for it) or has left; nullopt for neither.
  std::optional<absl::StatusOr<ExitInfo>> ExitOfDeparted(const Key& key, absl::Time deadline);
  // Waits for Finish (or the manager stopping, or `deadline`).
  absl::StatusOr<ExitInfo> AwaitFinish(Task& task, absl::Time deadline);
  // Asks the shim to exit (it stays while it still has a container) and closes our connections.
  void ShutdownShim(Task& task);
  // ShutdownShim, then the bundle goes.
  void ShutdownAndRemove(Task& task);
  absl::Status MapError(const Task& task, std::string_view what, absl::Status status) const;
  void CleanupWorker();
  // Counts a public call in flight (the destructor waits for them); Unavailable once stopping.
  absl::Status EnterCall();
  void LeaveCall();

  TaskManagerOptions options_;
  BundleRoots roots_;
  std::unique_ptr<ShimMonitor> monitor_;

  mutable std::mutex mu_;
  std::map<Key, std::shared_ptr<Task>> tasks_;
  std::set<Key> creating_;
  // Claimed, not yet finished: being deleted, or cleaned up after their shim died.
  std::map<Key, std::shared_ptr<Task>> departing_;
  // Exits of tasks that left, oldest first, for Waits that come late (bounded).
  std::deque<std::pair<Key, ExitInfo>> departed_;

  // Dead shims noticed by the monitor are cleaned here, off the monitor's thread.
  std::mutex cleanup_mu_;
  std::condition_variable cleanup_ready_;
  std::deque<std::shared_ptr<Task>> dead_;
  bool stopping_ = false;
  std::thread cleanup_thread_;

  std::mutex calls_mu_;
  std::condition_variable calls_done_;
  int active_calls_ = 0;
  bool closing_ = false;
};

}  // namespace liman::containerd::tasks
