#include "containerd/services/tasks/exit_watch.h"

#include <system_error>
#include <thread>

#include "fmt/format.h"

#include "absl/time/clock.h"

namespace liman::containerd::services {
namespace {

// How often a waiting call looks whether its client gave up: gRPC's synchronous API has no
// notification for it (ServerContext::IsCancelled is a poll).
constexpr absl::Duration kCancellationPoll = absl::Milliseconds(200);

}  // namespace

ExitWatch::ExitWatch(tasks::TaskManager* tasks) : tasks_(tasks), waiters_(std::make_shared<Waiters>()) {}

std::shared_ptr<ExitWatch::Waiter> ExitWatch::Join(const Key& key) {
  absl::MutexLock lock(&waiters_->mu);
  std::shared_ptr<Waiter>& slot = waiters_->running[key];
  if (slot) return slot;
  std::shared_ptr<Waiter> waiter = std::make_shared<Waiter>();
  slot = waiter;
  auto run = [tasks = tasks_, waiters = waiters_, waiter, key] {
    absl::StatusOr<tasks::ExitInfo> result = tasks->Wait(std::get<0>(key), std::get<1>(key), std::get<2>(key));
    {
      // Gone from the list first: a Wait that comes later asks the manager again (the task may
      // have been deleted and made anew meanwhile) rather than taking this old answer.
      absl::MutexLock lock(&waiters->mu);
      auto it = waiters->running.find(key);
      if (it != waiters->running.end() && it->second == waiter) waiters->running.erase(it);
    }
    absl::MutexLock lock(&waiter->mu);
    waiter->result = std::move(result);
    waiter->done = true;
  };
  try {
    // Detached: it ends with the process (or the manager), not with this call or this object.
    std::thread(std::move(run)).detach();
  } catch (const std::system_error& error) {
    waiters_->running.erase(key);
    absl::MutexLock waiter_lock(&waiter->mu);
    waiter->result = absl::ResourceExhaustedError(fmt::format("wait: start a waiter thread: {}", error.what()));
    waiter->done = true;
  }
  return waiter;
}

absl::StatusOr<tasks::ExitInfo> ExitWatch::Wait(std::string_view ns, std::string_view id, std::string_view exec_id,
                                                const std::function<bool()>& cancelled) {
  std::shared_ptr<Waiter> waiter = Join(Key(std::string(ns), std::string(id), std::string(exec_id)));
  absl::MutexLock lock(&waiter->mu);
  while (!waiter->mu.AwaitWithTimeout(absl::Condition(&waiter->done), kCancellationPoll)) {
    if (cancelled()) return absl::CancelledError("wait: cancelled by the client");
  }
  return waiter->result;
}

size_t ExitWatch::active_waiters() const {
  absl::MutexLock lock(&waiters_->mu);
  return waiters_->running.size();
}

}  // namespace liman::containerd::services
