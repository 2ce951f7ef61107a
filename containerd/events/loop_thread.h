// An EventLoop (common/event_loop.h) running on a thread of its own inside the multi-threaded
// daemon, and the one safe way in from other threads: Post() hands it a closure through an
// eventfd(2) it watches. Everything that touches the loop (watches, timers, a ttrpc::Server on
// it) is done inside posted closures or before Start().
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/event_loop.h"
#include "common/unique_fd.h"

namespace liman::containerd::events {

class LoopThread {
 public:
  // A loop that is not yet running: set it up through loop(), then Start().
  static absl::StatusOr<std::unique_ptr<LoopThread>> Create(std::string name);
  // Stops the loop and joins the thread; closures posted and not yet run are dropped.
  ~LoopThread();
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  // Before Start() (or from a posted closure): direct access.
  EventLoop* loop() { return loop_.get(); }
  void Start();

  // Runs `closure` on the loop's thread, soon; never blocks. Ignored once the loop stopped.
  void Post(std::function<void()> closure);
  // Runs `closure` on the loop's thread and waits for it (runs it inline when called from that
  // thread). Returns false when the loop is gone and the closure did not run.
  bool RunSync(std::function<void()> closure);

  bool OnLoopThread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  LoopThread(std::string name, std::unique_ptr<EventLoop> loop, UniqueFd wakeup);
  void RunPosted();

  std::string name_;
  std::unique_ptr<EventLoop> loop_;
  UniqueFd wakeup_;  // eventfd
  std::mutex mu_;
  std::deque<std::function<void()>> posted_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace liman::containerd::events
