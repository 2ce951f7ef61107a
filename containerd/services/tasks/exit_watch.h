// Waiting for a process's exit on behalf of gRPC calls that may give up (Tasks.Wait).
//
// TaskManager::Wait cannot be interrupted, and each call of it is one waiting request in the
// shim; a gRPC handler blocked in it would stay blocked after its client cancelled. So one
// background waiter per process (namespace, container, exec) calls TaskManager::Wait, and the
// calls interested in that exit wait for the waiter's result while watching their own
// cancellation: a cancelled call returns at once, and however many calls come and go there is
// never more than one waiter (thread and shim request) per process. The waiter ends when the
// process exits, or when the task manager stops (which interrupts its Waits).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "containerd/tasks/task_manager.h"

namespace liman::containerd::services {

class ExitWatch {
 public:
  // `tasks` must outlive every waiter; it does when it outlives the gRPC server, because a
  // waiter is always inside TaskManager::Wait, which the manager's destructor interrupts.
  explicit ExitWatch(tasks::TaskManager* tasks);
  ExitWatch(const ExitWatch&) = delete;
  ExitWatch& operator=(const ExitWatch&) = delete;

  // The process's exit as TaskManager::Wait reports it. Returns kCancelled as soon as
  // `cancelled()` (polled a few times a second) is true.
  absl::StatusOr<tasks::ExitInfo> Wait(std::string_view ns, std::string_view id, std::string_view exec_id,
                                       const std::function<bool()>& cancelled);

  // Background waiters running now (for tests).
  size_t active_waiters() const;

 private:
  using Key = std::tuple<std::string, std::string, std::string>;
  struct Waiter {
    absl::Mutex mu;
    bool done ABSL_GUARDED_BY(mu) = false;
    absl::StatusOr<tasks::ExitInfo> result ABSL_GUARDED_BY(mu);
  };
  // Shared with the waiter threads, which may outlive this object.
  struct Waiters {
    mutable absl::Mutex mu;
    std::map<Key, std::shared_ptr<Waiter>> running ABSL_GUARDED_BY(mu);
  };

  // The waiter for `key`, started if there is none.
  std::shared_ptr<Waiter> Join(const Key& key);

  tasks::TaskManager* tasks_;
  std::shared_ptr<Waiters> waiters_;
};

}  // namespace liman::containerd::services
