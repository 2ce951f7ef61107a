#include "shim/reaper.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/logging.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::shim {

absl::Status BecomeSubreaper() {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) return ErrnoError("prctl PR_SET_CHILD_SUBREAPER");
  return absl::OkStatus();
}

int ExitStatusCode(int wait_status) {
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  // Not a termination (stopped/continued are never asked for): Go's WaitStatus.ExitStatus() -1.
  return -1;
}

absl::StatusOr<int> WaitForChild(pid_t pid) {
  int status = 0;
  for (;;) {
    if (waitpid(pid, &status, 0) == pid) return status;
    if (errno != EINTR) return ErrnoError(fmt::format("waitpid {}", pid));
  }
}

absl::StatusOr<std::unique_ptr<Reaper>> Reaper::Create(EventLoop* loop) {
  sigset_t sigchld;
  sigemptyset(&sigchld);
  sigaddset(&sigchld, SIGCHLD);
  // A blocked SIGCHLD stays pending until the signalfd reads it (signalfd(2)); with the default
  // disposition and no block it would be discarded. The shim has a single thread, so
  // sigprocmask is the whole process's mask.
  if (sigprocmask(SIG_BLOCK, &sigchld, nullptr) != 0) return ErrnoError("sigprocmask block SIGCHLD");
  UniqueFd fd(signalfd(-1, &sigchld, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd) return ErrnoError("signalfd SIGCHLD");
  std::unique_ptr<Reaper> reaper(new Reaper(loop, std::move(fd)));
  Reaper* self = reaper.get();
  LIMAN_RETURN_IF_ERROR(loop->Add(self->signal_fd_.get(), EPOLLIN, [self](uint32_t) {
    self->DrainSignals();
    self->ReapAll();
  }));
  // Children that exited before SIGCHLD was blocked left no pending signal behind.
  self->ReapAll();
  return reaper;
}

Reaper::~Reaper() { loop_->Remove(signal_fd_.get()); }

void Reaper::DrainSignals() {
  // Standard signals do not queue: one pending SIGCHLD may stand for many exits, which is why
  // ReapAll loops on waitpid instead of trusting the siginfo's pid.
  signalfd_siginfo info;
  while (read(signal_fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
  }
}

void Reaper::ReapAll() {
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid == 0) return;  // children left, none exited
    if (pid < 0) {
      if (errno == EINTR) continue;
      if (errno != ECHILD) LogWarn("waitpid: {}", ErrnoText(errno));
      return;
    }
    ChildExit exit{pid, status, absl::Now()};
    LogDebug("reaped pid {}: exit status {}", pid, ExitStatusCode(status));
    if (!handler_ || !handler_(exit)) Keep(exit);
  }
}

void Reaper::Keep(const ChildExit& exit) {
  // A pid can be reused: a newer exit replaces an older unclaimed one.
  uint64_t sequence = next_sequence_++;
  unclaimed_[exit.pid] = Kept{exit, sequence};
  unclaimed_order_.emplace_back(exit.pid, sequence);
  auto is_live = [this](const std::pair<pid_t, uint64_t>& entry) {
    auto it = unclaimed_.find(entry.first);
    return it != unclaimed_.end() && it->second.sequence == entry.second;
  };
  while (unclaimed_.size() > kMaxUnclaimed) {
    if (is_live(unclaimed_order_.front())) unclaimed_.erase(unclaimed_order_.front().first);
    unclaimed_order_.pop_front();
  }
  // Taken and replaced exits leave stale entries behind; keep the queue from outgrowing the map.
  if (unclaimed_order_.size() > 2 * kMaxUnclaimed) std::erase_if(unclaimed_order_, [&](const auto& e) { return !is_live(e); });
}

std::optional<ChildExit> Reaper::TakeExit(pid_t pid) {
  auto it = unclaimed_.find(pid);
  if (it == unclaimed_.end()) return std::nullopt;
  ChildExit exit = it->second.exit;
  unclaimed_.erase(it);
  return exit;
}

}  // namespace liman::shim
