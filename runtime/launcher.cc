#include "runtime/launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "common/file_util.h"
#include "common/passwd_file.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/unix_socket.h"
#include "fmt/format.h"
#include "runtime/cgroup_entry.h"
#include "runtime/cgroups/manager.h"
#include "runtime/hooks.h"
#include "runtime/init.h"
#include "runtime/plan.h"
#include "runtime/sync_protocol.h"

namespace liman::runtime {
namespace {

// The state's owner as runc reports it: the name /etc/passwd gives the effective uid, else the
// number. Read as runc's user.CurrentUser does, without NSS, which a static binary cannot load.
std::string OwnerName() {
  uid_t uid = geteuid();
  if (absl::StatusOr<std::string> passwd = ReadFile("/etc/passwd"); passwd.ok())
    for (const PasswdEntry& entry : ParsePasswd(*passwd))
      if (entry.uid == uid) return entry.name;
  return std::to_string(uid);
}

absl::Status WriteIdMaps(pid_t pid, const NamespacePlan& ns) {
  LIMAN_RETURN_IF_ERROR(WriteFile(fmt::format("/proc/{}/uid_map", pid), ns.uid_map));
  return WriteFile(fmt::format("/proc/{}/gid_map", pid), ns.gid_map);
}

// Waits up to `timeout` for `pid` to be gone (exited; it is not our child, so a pidfd tells).
void WaitGone(pid_t pid, std::chrono::milliseconds timeout) {
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) return;
  pollfd pfd{pidfd.get(), POLLIN, 0};
  poll(&pfd, 1, static_cast<int>(timeout.count()));
}

absl::StatusOr<std::unique_ptr<cgroups::Manager>> ManagerFor(const ContainerState& state) {
  if (state.cgroup.is_null()) return absl::NotFoundError("container has no cgroup");
  return cgroups::LoadManager(state.cgroup);
}

// A task frozen by the v1 freezer acts on SIGKILL only once thawed: a SIGKILL sent to a paused
// container would leave it paused for ever (and containerd, after `ctr task kill -s SIGKILL` of a
// paused task, would wait for an exit that never comes). Like runc, thaw the cgroup after sending
// SIGKILL; other signals stay pending until `resume`, as they do for runc's `kill` without --all.
absl::Status ThawAfterSigkill(cgroups::Manager& cgroup, int signal) {
  if (signal != SIGKILL) return absl::OkStatus();
  LIMAN_ASSIGN_OR_RETURN(cgroups::FreezerState freezer, cgroup.GetFreezerState());
  if (freezer == cgroups::FreezerState::kThawed) return absl::OkStatus();
  return Annotate(cgroup.Thaw(), "thaw the paused container after SIGKILL");
}

// Everything the parent does once stage 1 runs; on error the caller tears down. The cgroup is
// entered by stage 1 or the init themselves (runtime/cgroup_entry.h); a failure there comes back
// as their report.
absl::Status DriveCreate(const StateStore& store, ContainerState& state, const ContainerPlan& plan, int sync_fd,
                         pid_t stage1) {
  if (plan.namespaces.new_user) {
    LIMAN_RETURN_IF_ERROR(ExpectSync(sync_fd, SyncType::kUserNamespaceReady).status());
    LIMAN_RETURN_IF_ERROR(Annotate(WriteIdMaps(stage1, plan.namespaces), "write user namespace mappings"));
    if (!SendSync(sync_fd, SyncType::kIdMapsWritten)) return ErrnoError("sync with stage 1");
  }
  LIMAN_ASSIGN_OR_RETURN(SyncHeader init, ExpectSync(sync_fd, SyncType::kInitPid));
  waitpid(stage1, nullptr, 0);
  state.init_pid = init.pid;
  if (plan.is_exec) return absl::OkStatus();
  // The init does not run anything of the container's before our kContinue below.
  absl::StatusOr<uint64_t> start_time = ProcessStartTime(state.init_pid);
  if (!start_time.ok()) {
    // The init may have failed meanwhile (and exited): its own report explains more.
    LIMAN_RETURN_IF_ERROR(ExpectSync(sync_fd, SyncType::kMountsReady).status());
    return start_time.status();
  }
  state.init_start_time = *start_time;

  LIMAN_RETURN_IF_ERROR(ExpectSync(sync_fd, SyncType::kMountsReady).status());
  // The state is on disk before any hook runs, so a hook may call `state` on us.
  LIMAN_RETURN_IF_ERROR(store.Save(state));
  std::string state_json = OciState(state, Status::kCreating).dump();
  if (state.config.hooks) {
    // prestart predates the "creating" state; the validation suite (and crun) give it "created".
    LIMAN_RETURN_IF_ERROR(RunHooks("prestart", state.config.hooks->prestart, OciState(state, Status::kCreated).dump()));
    LIMAN_RETURN_IF_ERROR(RunHooks("createRuntime", state.config.hooks->create_runtime, state_json));
  }
  // createContainer hooks see "creating", startContainer hooks "created": both go down, NUL-separated.
  std::string hook_states = state_json + '\0' + OciState(state, Status::kCreated).dump();
  if (!SendSync(sync_fd, SyncType::kContinue, 0, hook_states.data(), hook_states.size()))
    return ErrnoError("sync with the container init");
  if (plan.process.has_seccomp && plan.process.seccomp.uses_notify) {
    LIMAN_RETURN_IF_ERROR(ExpectSync(sync_fd, SyncType::kSeccompListener).status());
    LIMAN_ASSIGN_OR_RETURN(UniqueFd listener, ReceiveFd(sync_fd));
    LIMAN_RETURN_IF_ERROR(SendSeccompListener(plan.process.seccomp_listener_path, listener.get(),
                                              OciState(state, Status::kCreating).dump()));
  }
  LIMAN_RETURN_IF_ERROR(ExpectSync(sync_fd, SyncType::kReady).status());
  return absl::OkStatus();
}

// Forks stage 1 with the sync socket above any descriptor the caller asked to preserve.
absl::StatusOr<pid_t> ForkStage1(const ContainerPlan& plan, UniqueFd& parent_end) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return ErrnoError("socketpair");
  parent_end.reset(pair[0]);
  UniqueFd child_end(fcntl(pair[1], F_DUPFD_CLOEXEC, 3 + plan.process.preserve_fds));
  close(pair[1]);
  if (!child_end) return ErrnoError("dup sync socket");
  bool born_inside = false;
  // Born in cgroup2 here, where clone3 runs with the host's credentials: from stage 1, which may
  // be in a new user namespace by then, the kernel may refuse, and a refused first fork into a new
  // pid namespace leaves that namespace unable to get any process (free_pid, PIDNS_ADDING).
  pid_t pid = ForkIntoCgroup(plan.cgroup_join, &born_inside);
  if (pid < 0) return ErrnoError("fork");
  if (pid == 0) {
    parent_end.reset();
    RunStage1(plan, child_end.get(), born_inside);
  }
  return pid;
}

}  // namespace

absl::Status WritePidFile(const std::string& path, pid_t pid) {
  if (path.empty()) return absl::OkStatus();
  // Atomic for its reader; no fsync, as for state.json: a pid means nothing after a crash.
  return Annotate(ReplaceFile(path, std::to_string(pid), 0644), "write pid file");
}

absl::StatusOr<ContainerState> CreateContainer(const StateStore& store, const CreateOptions& options) {
  std::string config_path = JoinPath(options.bundle, "config.json");
  LIMAN_ASSIGN_OR_RETURN(std::string config_text, ReadFile(config_path));
  auto spec = oci::ParseSpec(config_text);
  if (!spec.ok()) return Annotate(spec.status(), Quote(config_path));

  ContainerState state;
  state.id = options.id;
  state.bundle = options.bundle;
  state.config = std::move(*spec);
  state.created = Rfc3339Now();
  state.owner = OwnerName();

  cgroups::ManagerOptions cgroup_options;
  cgroup_options.container_id = options.id;
  cgroup_options.cgroups_path = state.config.linux ? state.config.linux->cgroups_path : "";
  LIMAN_ASSIGN_OR_RETURN(auto cgroup, cgroups::NewManager(cgroup_options));

  PlanOptions plan_options;
  plan_options.id = options.id;
  plan_options.bundle = options.bundle;
  plan_options.console_socket = options.console_socket;
  plan_options.preserve_fds = options.preserve_fds;
  plan_options.no_pivot = options.no_pivot;
  plan_options.no_new_keyring = options.no_new_keyring;
  plan_options.cgroup_hierarchies = cgroup->Hierarchies();
  plan_options.seccomp_cache_dir = store.SeccompCacheDir();
  LIMAN_ASSIGN_OR_RETURN(ContainerPlan plan, PlanContainer(state.config, plan_options));
  absl::Cleanup close_console = [&] { if (plan.process.console_socket_fd >= 0) close(plan.process.console_socket_fd); };
  if (options.console_socket_fd >= 0) plan.process.console_socket_fd = options.console_socket_fd;
  state.rootfs = plan.rootfs.rootfs;
  std::string fifo_path = store.ExecFifoPath(options.id);

  LIMAN_RETURN_IF_ERROR(store.Reserve(options.id));
  // From here on a failure must leave nothing behind: no cgroup, no process, no state dir.
  bool created = false;
  pid_t stage1 = -1;
  absl::Cleanup undo = [&] {
    if (created) return;
    if (state.init_pid > 0) kill(state.init_pid, SIGKILL);
    if (stage1 > 0) {
      kill(stage1, SIGKILL);
      waitpid(stage1, nullptr, 0);
    }
    if (state.init_pid > 0) WaitGone(state.init_pid, std::chrono::seconds(2));
    if (absl::Status s = cgroup->Destroy(); !s.ok()) LogWarn("remove cgroup: {}", s.message());
    if (absl::Status s = store.Remove(options.id); !s.ok()) LogWarn("remove state: {}", s.message());
  };
  LIMAN_RETURN_IF_ERROR(Annotate(cgroup->Create(), "create cgroup"));
  state.cgroup = cgroup->Save();  // after Create: it records which parent directories it made
  LIMAN_RETURN_IF_ERROR(Annotate(cgroup->Apply(EffectiveResources(state.config)), "set cgroup resources"));
  LIMAN_ASSIGN_OR_RETURN(plan.cgroup_join, cgroup->OpenSelfJoin());
  if (mkfifo(fifo_path.c_str(), 0600) != 0) return ErrnoError(fmt::format("mkfifo {}", Quote(fifo_path)));
  // The init waits on this end; opened here because in a user namespace it could not open it.
  UniqueFd fifo(open(fifo_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo) return ErrnoError(fmt::format("open {}", Quote(fifo_path)));
  plan.exec_fifo_fd = fifo.get();

  UniqueFd sync;
  LIMAN_ASSIGN_OR_RETURN(stage1, ForkStage1(plan, sync));
  absl::Status driven = DriveCreate(store, state, plan, sync.get(), stage1);
  if (!driven.ok()) {
    if (state.config.hooks && !state.config.hooks->poststop.empty() && state.init_pid > 0) {
      // A failed prestart/createRuntime/createContainer hook continues the lifecycle at delete,
      // which runs poststop (runtime.md, "Lifecycle" steps 4-6 and 12).
      kill(state.init_pid, SIGKILL);
      WaitGone(state.init_pid, std::chrono::seconds(2));
      RunHooksWarningOnFailure("poststop", state.config.hooks->poststop, OciState(state, Status::kStopped).dump());
    }
    return driven;
  }
  stage1 = -1;
  LIMAN_RETURN_IF_ERROR(store.Save(state));
  LIMAN_RETURN_IF_ERROR(WritePidFile(options.pid_file, state.init_pid));
  created = true;
  return state;
}

absl::Status StartContainer(const StateStore& store, const ContainerState& state) {
  Status status = CurrentStatus(store, state);
  if (status != Status::kCreated)
    return absl::FailedPreconditionError(fmt::format("cannot start a container that is {}", StatusName(status)));
  std::string fifo_path = store.ExecFifoPath(state.id);
  // O_NONBLOCK: with no reader (init gone) open fails with ENXIO instead of blocking forever.
  UniqueFd fifo(open(fifo_path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo) {
    if (errno == ENXIO) return absl::FailedPreconditionError("cannot start a container whose init has exited");
    return ErrnoError(fmt::format("open exec fifo {}", Quote(fifo_path)));
  }
  if (write(fifo.get(), "0", 1) != 1) return ErrnoError(fmt::format("write exec fifo {}", Quote(fifo_path)));
  fifo.reset();
  unlink(fifo_path.c_str());
  if (state.config.hooks && !state.config.hooks->poststart.empty()) {
    RunHooksWarningOnFailure("poststart", state.config.hooks->poststart, OciState(state, Status::kRunning).dump());
  }
  return absl::OkStatus();
}

absl::Status SignalContainer(const ContainerState& state, int signal, bool all) {
  if (all) {
    LIMAN_ASSIGN_OR_RETURN(auto cgroup, ManagerFor(state));
    LIMAN_ASSIGN_OR_RETURN(std::vector<pid_t> pids, cgroup->Pids());
    for (pid_t pid : pids)
      if (kill(pid, signal) != 0 && errno != ESRCH) return ErrnoError(fmt::format("kill({}, {})", pid, signal));
    return ThawAfterSigkill(*cgroup, signal);
  }
  if (!ProcessAlive(state.init_pid, state.init_start_time))
    return absl::FailedPreconditionError("container not running");
  if (kill(state.init_pid, signal) != 0) return ErrnoError(fmt::format("kill({}, {})", state.init_pid, signal));
  if (signal != SIGKILL) return absl::OkStatus();
  auto cgroup = ManagerFor(state);
  if (absl::IsNotFound(cgroup.status())) return absl::OkStatus();  // no cgroup: nothing froze it
  if (!cgroup.ok()) return cgroup.status();
  return ThawAfterSigkill(**cgroup, signal);
}

absl::Status DestroyContainer(const StateStore& store, const ContainerState& state) {
  auto cgroup = ManagerFor(state);
  if (ProcessAlive(state.init_pid, state.init_start_time)) {
    kill(state.init_pid, SIGKILL);
    WaitGone(state.init_pid, std::chrono::seconds(5));
  }
  if (cgroup.ok()) {
    // Without its own pid namespace the container's other processes outlive init: kill them
    // all, thawing first so a frozen cgroup can die.
    (*cgroup)->Thaw().IgnoreError();
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto pids = (*cgroup)->Pids();
      if (!pids.ok() || pids->empty()) break;
      for (pid_t pid : *pids) kill(pid, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    LIMAN_RETURN_IF_ERROR(Annotate((*cgroup)->Destroy(), "remove cgroup"));
  }
  if (state.config.hooks && !state.config.hooks->poststop.empty()) {
    RunHooksWarningOnFailure("poststop", state.config.hooks->poststop, OciState(state, Status::kStopped).dump());
  }
  return store.Remove(state.id);
}

absl::StatusOr<pid_t> ExecInContainer(const StateStore& store, const ContainerState& state, const oci::Process& process,
                                      const ExecOptions& options) {
  Status status = CurrentStatus(store, state);
  if (status != Status::kRunning && status != Status::kCreated)
    return absl::FailedPreconditionError(fmt::format("cannot exec in a container that is {}", StatusName(status)));
  LIMAN_ASSIGN_OR_RETURN(auto cgroup, ManagerFor(state));

  ContainerPlan plan;
  plan.id = state.id;
  plan.is_exec = true;
  PlanOptions plan_options;
  plan_options.id = state.id;
  plan_options.bundle = state.bundle;
  plan_options.console_socket = options.console_socket;
  plan_options.preserve_fds = options.preserve_fds;
  plan_options.seccomp_cache_dir = store.SeccompCacheDir();
  oci::Process exec_process = process;
  if (options.console_socket_fd >= 0) plan_options.console_socket.clear();
  LIMAN_ASSIGN_OR_RETURN(plan.process, PlanProcess(exec_process, state.config, plan_options));
  absl::Cleanup close_console = [&] { if (plan.process.console_socket_fd >= 0) close(plan.process.console_socket_fd); };
  if (options.console_socket_fd >= 0) plan.process.console_socket_fd = options.console_socket_fd;
  plan.process.setsid = process.terminal;

  // Join every namespace of the init, the user namespace first; the pid and time namespaces
  // take effect for stage 2, forked after setns(2).
  std::vector<std::string> types;
  if (state.config.linux)
    for (const oci::Namespace& ns : state.config.linux->namespaces) types.push_back(ns.type);
  std::sort(types.begin(), types.end(), [](const std::string& a, const std::string& b) { return a == "user" && b != "user"; });
  for (const std::string& type : types) {
    std::string path = fmt::format("/proc/{}/ns/{}", state.init_pid, NamespaceProcName(type));
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return ErrnoError(fmt::format("open {}", Quote(path)));
    plan.namespaces.joins.push_back({NamespaceCloneFlag(type), path, std::move(fd)});
  }
  // An exec'd process must not be more privileged than the init's user namespace allows; uids
  // are validated against the container's mappings like the init's.
  if (state.config.linux && !state.config.linux->uid_mappings.empty()) {
    bool mapped = false;
    for (const oci::IdMapping& m : state.config.linux->uid_mappings)
      if (process.user.uid >= m.container_id && uint64_t{process.user.uid} < uint64_t{m.container_id} + m.size) mapped = true;
    if (!mapped) return absl::InvalidArgumentError(fmt::format("user {} is not mapped in the container's user namespace", process.user.uid));
  }

  LIMAN_ASSIGN_OR_RETURN(plan.cgroup_join, cgroup->OpenSelfJoin());
  UniqueFd sync;
  LIMAN_ASSIGN_OR_RETURN(pid_t stage1, ForkStage1(plan, sync));
  ContainerState exec_state = state;
  exec_state.init_pid = 0;
  absl::Status driven = DriveCreate(store, exec_state, plan, sync.get(), stage1);
  if (driven.ok()) driven = ExpectSync(sync.get(), SyncType::kReady).status();
  if (driven.ok()) {
    // The socket is closed on exec: EOF means the process is running its program.
    SyncHeader header{};
    ChildError error;
    size_t length = 0;
    if (ReceiveSync(sync.get(), &header, &error, sizeof error, &length) == static_cast<int>(SyncType::kError)) {
      error.message[sizeof error.message - 1] = '\0';
      driven = ErrnoError(error.err, error.message);
    }
  }
  if (!driven.ok()) {
    if (exec_state.init_pid > 0) kill(exec_state.init_pid, SIGKILL);
    waitpid(stage1, nullptr, WNOHANG);
    return driven;
  }
  LIMAN_RETURN_IF_ERROR(WritePidFile(options.pid_file, exec_state.init_pid));
  return exec_state.init_pid;
}

int WaitForwardingSignals(pid_t pid) {
  static pid_t target = 0;
  target = pid;
  struct sigaction action {};
  action.sa_handler = [](int signal) { if (target > 0) kill(target, signal); };
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT})
    sigaction(signal, &action, nullptr);
  int status = 0;
  for (;;) {
    pid_t reaped = waitpid(-1, &status, 0);
    if (reaped < 0) {
      if (errno == EINTR) continue;
      return 255;
    }
    if (reaped == pid) break;
  }
  target = 0;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

}  // namespace liman::runtime
