// Reaping the shim's children. The shim is a child subreaper, so the container's init (whose
// parent, the runtime, exits right after `create`) and every detached exec become its children
// and their exits come to it. SIGCHLD is blocked and read from a signalfd(2) on the event loop;
// each wake-up reaps every exited child and hands the exits to the task service.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/event_loop.h"
#include "common/unique_fd.h"

namespace liman::shim {

// prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants are reparented to this process instead of
// to init (prctl(2)). Call it before starting the runtime.
absl::Status BecomeSubreaper();

// What containerd reports for a wait status: the exit code, or 128 + the signal that killed it.
int ExitStatusCode(int wait_status);

struct ChildExit {
  pid_t pid = 0;
  int wait_status = 0;  // as from waitpid(2); see ExitStatusCode
  absl::Time exited_at;  // when the shim reaped it
};

// Waits for one specific child (the runtime binary a RuntimeCli call just started) and returns its
// wait status. It blocks the loop, which is the point: the other children that exit meanwhile
// stay zombies, and so queued, until the loop's Reaper collects them; none is lost to this wait.
absl::StatusOr<int> WaitForChild(pid_t pid);

class Reaper {
 public:
  // Returns true when the pid was one the handler knows (init or an exec). Exits it does not
  // claim are kept for TakeExit: the init can exit before the shim has read its pid file.
  using ExitHandler = std::function<bool(const ChildExit& exit)>;

  // Unclaimed exits kept at most; beyond it the oldest are forgotten (reparented grandchildren
  // nobody will ask about must not grow the shim forever).
  static constexpr size_t kMaxUnclaimed = 1024;

  // Blocks SIGCHLD in the calling thread (the shim has only one), opens the signalfd and watches
  // it on `loop`. Children that exited before this call are collected at once.
  static absl::StatusOr<std::unique_ptr<Reaper>> Create(EventLoop* loop);
  ~Reaper();
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  void SetHandler(ExitHandler handler) { handler_ = std::move(handler); }

  // Reaps every exited child now (the loop calls it when SIGCHLD is pending).
  void ReapAll();

  // The exit of `pid` if it was reaped before anyone claimed it; it is removed from the store.
  std::optional<ChildExit> TakeExit(pid_t pid);

  size_t unclaimed() const { return unclaimed_.size(); }

 private:
  Reaper(EventLoop* loop, UniqueFd signal_fd) : loop_(loop), signal_fd_(std::move(signal_fd)) {}
  void DrainSignals();
  void Keep(const ChildExit& exit);

  EventLoop* loop_;
  UniqueFd signal_fd_;
  ExitHandler handler_;
  struct Kept {
    ChildExit exit;
    uint64_t sequence;  // tells a reused pid's newer exit from the older one in unclaimed_order_
  };
  absl::flat_hash_map<pid_t, Kept> unclaimed_;
  std::deque<std::pair<pid_t, uint64_t>> unclaimed_order_;  // oldest first, for the bound
  uint64_t next_sequence_ = 0;
};

}  // namespace liman::shim
