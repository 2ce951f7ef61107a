// Notices OOM kills in a container's memory cgroup and reports them on the event loop (the task
// service publishes /tasks/oom). Two kernel interfaces:
//  - cgroup v1: an eventfd registered for memory.oom_control through cgroup.event_control
//    (kernel docs, admin-guide/cgroup-v1/memory.rst "OOM Control"). It is signalled on each
//    OOM in the group, and once more when the group is removed, which is not an OOM.
//  - cgroup v2: memory.events, whose "oom_kill" counter grows on each kill; the kernel reports
//    every change of the file as an inotify IN_MODIFY (cgroup-v2.rst "memory.events").
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/event_loop.h"
#include "common/memory_cgroup.h"
#include "common/unique_fd.h"

namespace liman::shim {

class OomWatch {
 public:
  using Callback = std::function<void()>;

  // Watches the memory cgroup of `pid` (the container's init, once it is in its cgroup).
  static absl::StatusOr<std::unique_ptr<OomWatch>> ForProcess(EventLoop* loop, pid_t pid, Callback on_oom);
  // Watches a cgroup directory of the given kind.
  static absl::StatusOr<std::unique_ptr<OomWatch>> ForCgroup(EventLoop* loop, const MemoryCgroup& cgroup,
                                                            Callback on_oom);

  ~OomWatch();
  OomWatch(const OomWatch&) = delete;
  OomWatch& operator=(const OomWatch&) = delete;

  // False once the cgroup is known to be gone (nothing more can be reported).
  bool active() const { return notify_fd_.valid(); }
  const std::string& path() const { return path_; }

 private:
  OomWatch(EventLoop* loop, std::string path, Callback on_oom)
      : loop_(loop), path_(std::move(path)), on_oom_(std::move(on_oom)) {}
  absl::Status StartV1();
  absl::Status StartV2();
  void OnV1Event();
  void OnV2Event();
  // Stops watching and closes everything (the cgroup is gone).
  void Stop();
  // Runs on_oom_ as the very last thing a handler does: it may destroy this watch.
  void Report();

  EventLoop* loop_;
  std::string path_;
  Callback on_oom_;
  UniqueFd dir_fd_;     // the cgroup directory as it was when watching began
  UniqueFd notify_fd_;  // v1: the eventfd; v2: the inotify instance
  uint64_t oom_kills_ = 0;  // v2: the last "oom_kill" count seen
};

}  // namespace liman::shim
