// containerd.task.v2.Task for one container: the state machine of its init and exec processes,
// driven by ttrpc calls and by the reaper's exits. Every runtime call is synchronous (the shim
// has one thread); exits that happen meanwhile wait in the signalfd until the loop comes back.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/event_loop.h"
#include "common/ttrpc/server.h"
#include "containerd/runtime/v2/task/shim.pb.h"
#include "google/protobuf/empty.pb.h"
#include "shim/flags.h"
#include "shim/oom_watch.h"
#include "shim/process.h"
#include "shim/publisher.h"
#include "shim/reaper.h"
#include "shim/runtime_cli.h"

namespace liman::shim {

namespace task = ::containerd::task::v2;

class TaskService {
 public:
  TaskService(EventLoop* loop, Reaper* reaper, Publisher* publisher, const ShimFlags& flags);
  ~TaskService();

  void RegisterWith(ttrpc::Server& server);
  // Handles one reaped child; false when it is none of ours (yet).
  bool OnChildExit(const ChildExit& exit);
  // Set once Shutdown decided the shim should go.
  bool shutdown_requested() const { return shutdown_requested_; }

 private:
  using Empty = google::protobuf::Empty;

  absl::StatusOr<task::StateResponse> State(const task::StateRequest& request);
  absl::StatusOr<task::CreateTaskResponse> Create(const task::CreateTaskRequest& request);
  absl::StatusOr<task::StartResponse> Start(const task::StartRequest& request);
  absl::StatusOr<task::DeleteResponse> Delete(const task::DeleteRequest& request);
  absl::StatusOr<task::PidsResponse> Pids(const task::PidsRequest& request);
  absl::StatusOr<Empty> Pause(const task::PauseRequest& request);
  absl::StatusOr<Empty> Resume(const task::ResumeRequest& request);
  absl::StatusOr<Empty> Kill(const task::KillRequest& request);
  absl::StatusOr<Empty> Exec(const task::ExecProcessRequest& request);
  absl::StatusOr<Empty> ResizePty(const task::ResizePtyRequest& request);
  absl::StatusOr<Empty> CloseIO(const task::CloseIORequest& request);
  absl::StatusOr<Empty> Update(const task::UpdateTaskRequest& request);
  void Wait(ttrpc::Call& call);
  absl::StatusOr<task::StatsResponse> Stats(const task::StatsRequest& request);
  absl::StatusOr<task::ConnectResponse> Connect(const task::ConnectRequest& request);
  absl::StatusOr<Empty> Shutdown(const task::ShutdownRequest& request);

  // The process a request names: the init for an empty exec id. NotFound otherwise.
  absl::StatusOr<Process*> Find(const std::string& container_id, const std::string& exec_id);
  absl::StatusOr<Process*> FindInit(const std::string& container_id);
  absl::Status StartExec(Process& process);
  // Records the exit durably, then once the output is drained publishes it and answers Wait.
  void ProcessExited(Process& process, const ChildExit& exit);
  void PublishExit(const std::string& exec_id);
  // An exit the reaper saw before we knew the pid (a process that died straight away).
  void ClaimEarlyExit(Process& process);
  void UnmountRootfs();

  EventLoop* loop_;
  Reaper* reaper_;
  Publisher* publisher_;
  ShimFlags flags_;
  std::string container_id_;
  std::string bundle_;
  std::optional<RuntimeCli> runtime_;
  bool rootfs_mounted_ = false;
  std::unique_ptr<Process> init_;
  std::map<std::string, std::unique_ptr<Process>> execs_;
  std::unique_ptr<OomWatch> oom_watch_;
  bool deleted_ = false;
  bool shutdown_requested_ = false;
};

}  // namespace liman::shim
