#include "common/event_loop.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <utility>
#include <vector>

#include "common/status.h"

namespace liman {
namespace {

constexpr int kMaxEventsPerRound = 64;

uint64_t PackEventData(int fd, uint32_t generation) {
  return (static_cast<uint64_t>(generation) << 32) | static_cast<uint32_t>(fd);
}

}  // namespace

EventLoop::EventLoop(UniqueFd epoll_fd) : epoll_fd_(std::move(epoll_fd)) {}

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create() {
  UniqueFd epoll_fd(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd) return ErrnoError("epoll_create1");
  return std::unique_ptr<EventLoop>(new EventLoop(std::move(epoll_fd)));
}

absl::Status EventLoop::Add(int fd, uint32_t events, FdCallback callback) {
  uint32_t generation = next_generation_++;
  epoll_event event{};
  event.events = events;
  event.data.u64 = PackEventData(fd, generation);
  if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &event) != 0)
    return ErrnoError(fmt::format("epoll_ctl add fd {}", fd));
  watches_[fd] = Watch{std::make_shared<FdCallback>(std::move(callback)), generation};
  return absl::OkStatus();
}

absl::Status EventLoop::Modify(int fd, uint32_t events) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) return ErrnoError(ENOENT, fmt::format("epoll_ctl modify fd {}", fd));
  epoll_event event{};
  event.events = events;
  event.data.u64 = PackEventData(fd, it->second.generation);
  if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, fd, &event) != 0)
    return ErrnoError(fmt::format("epoll_ctl modify fd {}", fd));
  return absl::OkStatus();
}

void EventLoop::Remove(int fd) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  // EBADF/ENOENT only mean the fd is already gone from the interest list (closed early): the
  // bookkeeping below is what matters for this round's pending events.
  epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
  watches_.erase(it);
}

bool EventLoop::Watching(int fd) const { return watches_.contains(fd); }

EventLoop::TimerId EventLoop::AddTimer(absl::Duration after, std::function<void()> callback) {
  TimerId id = next_timer_id_++;
  absl::Time deadline = absl::Now() + after;
  timer_deadlines_.emplace(deadline, id);
  timers_.emplace(id, std::make_pair(deadline, std::move(callback)));
  return id;
}

void EventLoop::CancelTimer(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  auto [first, last] = timer_deadlines_.equal_range(it->second.first);
  for (auto deadline = first; deadline != last; ++deadline) {
    if (deadline->second == id) {
      timer_deadlines_.erase(deadline);
      break;
    }
  }
  timers_.erase(it);
}

int EventLoop::NextTimeoutMs(absl::Duration limit) const {
  absl::Duration wait = limit;
  if (!timer_deadlines_.empty()) wait = std::min(wait, timer_deadlines_.begin()->first - absl::Now());
  if (wait == absl::InfiniteDuration()) return -1;
  if (wait <= absl::ZeroDuration()) return 0;
  // Rounded up: waking a little early would only spin through an empty round.
  int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1)));
  return static_cast<int>(std::min<int64_t>(ms, INT32_MAX));
}

void EventLoop::FireDueTimers() {
  absl::Time now = absl::Now();
  // Only timers due at the start of the round fire in it: one that re-arms itself with a zero
  // delay waits for the next round instead of starving the fds.
  std::vector<TimerId> due;
  for (auto it = timer_deadlines_.begin(); it != timer_deadlines_.end() && it->first <= now; ++it)
    due.push_back(it->second);
  for (TimerId id : due) {
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled by an earlier callback of this round
    std::function<void()> callback = std::move(it->second.second);
    CancelTimer(id);
    callback();
  }
}

absl::Status EventLoop::RunOnce(absl::Duration timeout) {
  epoll_event events[kMaxEventsPerRound];
  int count = epoll_wait(epoll_fd_.get(), events, kMaxEventsPerRound, NextTimeoutMs(timeout));
  if (count < 0) {
    if (errno != EINTR) return ErrnoError("epoll_wait");
    count = 0;
  }
  for (int i = 0; i < count; ++i) {
    int fd = static_cast<int>(static_cast<uint32_t>(events[i].data.u64));
    uint32_t generation = static_cast<uint32_t>(events[i].data.u64 >> 32);
    auto it = watches_.find(fd);
    // Removed (and maybe re-added) by a callback earlier in this round.
    if (it == watches_.end() || it->second.generation != generation) continue;
    // A copy keeps the callback alive while it removes its own watch.
    std::shared_ptr<FdCallback> callback = it->second.callback;
    (*callback)(events[i].events);
  }
  FireDueTimers();
  return absl::OkStatus();
}

absl::Status EventLoop::Run() {
  while (!stopped_) LIMAN_RETURN_IF_ERROR(RunOnce(absl::InfiniteDuration()));
  stopped_ = false;  // so the loop can be run again
  return absl::OkStatus();
}

void EventLoop::Stop() { stopped_ = true; }

}  // namespace liman
