// A single-threaded epoll(7) loop with one-shot timers: the whole of liman-shim runs on one of
// these, so one shim costs one thread. Callbacks run on the loop's thread; any of them may add or
// remove watches and timers, including its own.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"

namespace liman {

class EventLoop {
 public:
  // Receives the epoll event mask (EPOLLIN, EPOLLOUT, EPOLLHUP, EPOLLERR…).
  using FdCallback = std::function<void(uint32_t events)>;
  using TimerId = uint64_t;

  static absl::StatusOr<std::unique_ptr<EventLoop>> Create();

  // Watches `fd` (owned by the caller, who must Remove it before closing it) for `events`.
  absl::Status Add(int fd, uint32_t events, FdCallback callback);
  absl::Status Modify(int fd, uint32_t events);
  // Stops watching `fd`; a pending event for it in the current round is not delivered.
  void Remove(int fd);
  bool Watching(int fd) const;

  // Runs `callback` once, `after` from now. Returns an id for CancelTimer.
  TimerId AddTimer(absl::Duration after, std::function<void()> callback);
  void CancelTimer(TimerId id);

  // Dispatches events and timers until Stop(); an error only if epoll_wait(2) fails.
  absl::Status Run();
  // Waits at most `timeout` for one round of events/timers and dispatches them.
  absl::Status RunOnce(absl::Duration timeout);
  void Stop();

 private:
  explicit EventLoop(UniqueFd epoll_fd);
  int NextTimeoutMs(absl::Duration limit) const;
  void FireDueTimers();

  // A watch's generation travels in epoll_event.data next to the fd, so that an event queued for
  // a removed fd is not delivered to a new watch that reuses the same number in the same round.
  struct Watch {
    std::shared_ptr<FdCallback> callback;
    uint32_t generation = 0;
  };

  UniqueFd epoll_fd_;
  std::unordered_map<int, Watch> watches_;
  uint32_t next_generation_ = 1;
  std::multimap<absl::Time, TimerId> timer_deadlines_;
  std::unordered_map<TimerId, std::pair<absl::Time, std::function<void()>>> timers_;
  TimerId next_timer_id_ = 1;
  bool stopped_ = false;
};

}  // namespace liman
