#include "containerd/events/loop_thread.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <future>

#include "common/logging.h"
#include "common/status.h"

namespace liman::containerd::events {

absl::StatusOr<std::unique_ptr<LoopThread>> LoopThread::Create(std::string name) {
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<EventLoop> loop, EventLoop::Create());
  UniqueFd wakeup(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wakeup) return ErrnoError(fmt::format("eventfd ({})", name));
  std::unique_ptr<LoopThread> thread(new LoopThread(std::move(name), std::move(loop), std::move(wakeup)));
  LoopThread* self = thread.get();
  LIMAN_RETURN_IF_ERROR(self->loop_->Add(self->wakeup_.get(), EPOLLIN, [self](uint32_t) {
    uint64_t count;
    while (read(self->wakeup_.get(), &count, sizeof count) > 0) {
    }
    self->RunPosted();
  }));
  return thread;
}

LoopThread::LoopThread(std::string name, std::unique_ptr<EventLoop> loop, UniqueFd wakeup)
    : name_(std::move(name)), loop_(std::move(loop)), wakeup_(std::move(wakeup)) {}

LoopThread::~LoopThread() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) {
    uint64_t one = 1;
    // The loop's own Stop() is not thread-safe: the stop request travels like any closure.
    {
      std::lock_guard lock(mu_);
      posted_.push_back([this] { loop_->Stop(); });
    }
    if (write(wakeup_.get(), &one, sizeof one) < 0) LogError("{}: wake loop: {}", name_, ErrnoText(errno));
    thread_.join();
  }
  loop_->Remove(wakeup_.get());
}

void LoopThread::Start() {
  thread_ = std::thread([this] {
    // The name shows in top/ps -T (at most 15 characters).
    pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
    if (absl::Status status = loop_->Run(); !status.ok()) LogError("{}: event loop: {}", name_, status);
  });
}

void LoopThread::Post(std::function<void()> closure) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    posted_.push_back(std::move(closure));
  }
  uint64_t one = 1;
  if (write(wakeup_.get(), &one, sizeof one) < 0) LogError("{}: wake loop: {}", name_, ErrnoText(errno));
}

bool LoopThread::RunSync(std::function<void()> closure) {
  if (OnLoopThread()) {
    closure();
    return true;
  }
  // Shared with the closure: if the loop stops before running it, the closure is destroyed
  // unrun and the future reports the broken promise.
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  {
    std::lock_guard lock(mu_);
    if (stopping_ || !thread_.joinable()) return false;
    posted_.push_back([closure = std::move(closure), done] {
      closure();
      done->set_value();
    });
  }
  uint64_t one = 1;
  if (write(wakeup_.get(), &one, sizeof one) < 0) LogError("{}: wake loop: {}", name_, ErrnoText(errno));
  try {
    finished.get();
    return true;
  } catch (const std::future_error&) {
    return false;
  }
}

void LoopThread::RunPosted() {
  std::deque<std::function<void()>> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(posted_);
  }
  for (std::function<void()>& closure : batch) closure();
}

}  // namespace liman::containerd::events
