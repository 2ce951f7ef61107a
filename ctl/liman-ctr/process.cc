#include "ctl/liman-ctr/process.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <thread>

#include "common/status.h"
#include "common/unique_fd.h"
#include "fmt/format.h"

namespace liman::ctr {
namespace {

namespace tasks = ::containerd::services::tasks::v1;

sigset_t ForwardedSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) sigaddset(&set, sig);
  return set;
}

// How long output may stay silent after the process is gone and deleted before we stop
// waiting for EOF (a shim that never closes its end must not hang us).
constexpr int kDrainIdleMillis = 3000;

void Resize(Client& client, const AttachedProcess& process) {
  auto size = RawTerminal::Size();
  if (!size) return;
  tasks::ResizePtyRequest request;
  request.set_container_id(process.container_id);
  request.set_exec_id(process.exec_id);
  request.set_width(size->first);
  request.set_height(size->second);
  google::protobuf::Empty empty;
  auto context = client.Context();
  grpc::Status status = client.Tasks().ResizePty(context.get(), request, &empty);
  if (!status.ok())
    fmt::print(stderr, "liman-ctr: {}\n", CallError(status, "resize pty").message());
}

}  // namespace

void BlockForwardedSignals() {
  sigset_t set = ForwardedSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void UnblockForwardedSignals() {
  sigset_t set = ForwardedSignals();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

absl::Status StartProcess(Client& client, const std::string& container_id, const std::string& exec_id) {
  tasks::StartRequest request;
  request.set_container_id(container_id);
  request.set_exec_id(exec_id);
  tasks::StartResponse response;
  auto context = client.Context();
  grpc::Status status = client.Tasks().Start(context.get(), request, &response);
  if (!status.ok()) return CallError(status, fmt::format("start {}", exec_id.empty() ? container_id : exec_id));
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> DeleteProcess(Client& client, const std::string& container_id, const std::string& exec_id) {
  auto context = client.Context();
  grpc::Status status;
  if (exec_id.empty()) {
    tasks::DeleteTaskRequest request;
    request.set_container_id(container_id);
    tasks::DeleteResponse response;
    status = client.Tasks().Delete(context.get(), request, &response);
    if (status.ok()) return response.exit_status();
  } else {
    tasks::DeleteProcessRequest request;
    request.set_container_id(container_id);
    request.set_exec_id(exec_id);
    tasks::DeleteResponse response;
    status = client.Tasks().DeleteProcess(context.get(), request, &response);
    if (status.ok()) return response.exit_status();
  }
  return CallError(status, fmt::format("delete {}", exec_id.empty() ? container_id : exec_id));
}

absl::Status KillProcess(Client& client, const std::string& container_id, const std::string& exec_id, int signal,
                         bool all) {
  tasks::KillRequest request;
  request.set_container_id(container_id);
  request.set_exec_id(exec_id);
  request.set_signal(signal);
  request.set_all(all);
  google::protobuf::Empty empty;
  auto context = client.Context();
  grpc::Status status = client.Tasks().Kill(context.get(), request, &empty);
  if (!status.ok()) return CallError(status, fmt::format("kill {}", exec_id.empty() ? container_id : exec_id));
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> RunAttached(Client& client, const AttachedProcess& process, const FifoSet& fifos,
                                     AttachedIo& io, const std::function<absl::Status()>& start,
                                     const std::function<absl::Status()>& after_exit) {
  sigset_t signals = ForwardedSignals();
  UniqueFd signal_fd(signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd) return ErrnoError("signalfd");
  UniqueFd exited_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!exited_fd) return ErrnoError("eventfd");

  // Wait goes out first so the exit cannot slip by; its result comes back through the eventfd.
  struct WaitResult {
    grpc::Status status;
    tasks::WaitResponse response;
  };
  auto wait_result = std::make_shared<WaitResult>();
  std::unique_ptr<grpc::ClientContext> wait_context = client.Context(std::nullopt, /*no_deadline=*/true);
  std::thread waiter([&client, &process, wait_result, context = wait_context.get(), fd = exited_fd.get()] {
    tasks::WaitRequest request;
    request.set_container_id(process.container_id);
    request.set_exec_id(process.exec_id);
    wait_result->status = client.Tasks().Wait(context, request, &wait_result->response);
    uint64_t one = 1;
    (void)!write(fd, &one, sizeof one);
  });
  struct JoinOnExit {
    std::thread& thread;
    grpc::ClientContext* context;
    ~JoinOnExit() {
      if (!thread.joinable()) return;
      context->TryCancel();
      thread.join();
    }
  } join_waiter{waiter, wait_context.get()};

  LIMAN_RETURN_IF_ERROR(start());

  std::unique_ptr<RawTerminal> raw;
  if (process.terminal) {
    LIMAN_ASSIGN_OR_RETURN(raw, RawTerminal::Enter());
    Resize(client, process);
  }
  LIMAN_RETURN_IF_ERROR(io.StartStdin(fifos, [&client, process] {
    tasks::CloseIORequest request;
    request.set_container_id(process.container_id);
    request.set_exec_id(process.exec_id);
    request.set_stdin(true);
    google::protobuf::Empty empty;
    auto context = client.Context();
    client.Tasks().CloseIO(context.get(), request, &empty);  // a process already gone: nothing to close
  }));

  bool exited = false;
  bool out_open = io.stdout_fd() >= 0, err_open = io.stderr_fd() >= 0;
  while (!exited || out_open || err_open) {
    struct pollfd fds[4] = {{signal_fd.get(), POLLIN, 0},
                            {exited_fd.get(), POLLIN, 0},
                            {out_open ? io.stdout_fd() : -1, POLLIN, 0},
                            {err_open ? io.stderr_fd() : -1, POLLIN, 0}};
    int ready = poll(fds, 4, exited ? kDrainIdleMillis : -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return ErrnoError("poll");
    if (ready == 0) break;  // exited, deleted, and the output went quiet without EOF
    if (fds[2].revents && !AttachedIo::Pump(io.stdout_fd(), STDOUT_FILENO)) {
      out_open = false;
      io.CloseStdout();
    }
    if (fds[3].revents && !AttachedIo::Pump(io.stderr_fd(), STDERR_FILENO)) {
      err_open = false;
      io.CloseStderr();
    }
    if (fds[0].revents) {
      struct signalfd_siginfo info;
      while (read(signal_fd.get(), &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGWINCH) {
          if (process.terminal) Resize(client, process);
        } else if (!process.terminal && !exited) {
          // ctr forwards every signal to the process when there is no terminal.
          absl::Status status = KillProcess(client, process.container_id, process.exec_id, info.ssi_signo, false);
          if (!status.ok()) fmt::print(stderr, "liman-ctr: forward signal {}: {}\n", info.ssi_signo, status.message());
        }
      }
    }
    if (fds[1].revents && !exited) {
      exited = true;
      waiter.join();
      if (!wait_result->status.ok()) return CallError(wait_result->status, "wait");
      LIMAN_RETURN_IF_ERROR(after_exit());
    }
  }
  io.DetachStdin();
  if (!exited) return absl::InternalError("process output ended before its exit was reported");
  return wait_result->response.exit_status();
}

}  // namespace liman::ctr
