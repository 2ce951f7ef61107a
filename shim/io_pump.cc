#include "shim/io_pump.h"

#include <unistd.h>

#include <cerrno>

#include "common/logging.h"
#include "common/status.h"

namespace liman::shim {
namespace {

// One buffer for every pump of the thread: a read's bytes go to the sink (which copies what it
// cannot write at once) before the next read, so the shim's pumps cost no memory of their own.
constexpr size_t kReadSize = 64 * 1024;
thread_local char read_buffer[kReadSize];

}  // namespace

Pump::Pump(EventLoop* loop, UniqueFd source, std::unique_ptr<Sink> sink, std::string name)
    : loop_(loop), source_(std::move(source)), sink_(std::move(sink)), name_(std::move(name)) {
  sink_->set_on_ready([this] { OnSinkReady(); });
}

Pump::~Pump() {
  Unwatch();
  // The sink outlives nothing that could call back into this pump.
  sink_->set_on_ready(nullptr);
}

void Pump::Start() {
  if (started_) return;
  started_ = true;
  if (source_ended_ || sink_->busy()) return;  // a busy sink calls OnSinkReady when it is not
  if (end_when_empty_) {
    Read();
  } else {
    Watch();
  }
}

void Pump::EndWhenEmpty() {
  if (end_when_empty_ || source_ended_) return;
  end_when_empty_ = true;
  // An empty source raises no event: look now (or once the sink is ready again).
  if (started_ && !sink_->busy()) Read();
}

void Pump::Stop() {
  if (!source_ended_) EndOfSource();
}

void Pump::OnSourceEvent() {
  // Never read for a busy sink, whatever woke us (EPOLLHUP cannot be masked).
  if (sink_->busy()) {
    Unwatch();
    return;
  }
  Read();
}

void Pump::OnSinkReady() {
  if (source_ended_) {
    CheckDone();
    return;
  }
  if (!started_) return;
  if (end_when_empty_) {
    Read();
  } else {
    Watch();
  }
}

void Pump::Read() {
  while (!source_ended_) {
    ssize_t n = read(source_.get(), read_buffer, kReadSize);
    if (n > 0) {
      sink_->Write(std::string_view(read_buffer, static_cast<size_t>(n)));
      if (sink_->busy()) {
        Unwatch();
        return;
      }
      // Normally one read per wake-up, so one chatty stream cannot starve the others; draining
      // for EndWhenEmpty must go on until the source is empty, which raises no event.
      if (!end_when_empty_) {
        Watch();
        return;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (end_when_empty_) {
        EndOfSource();
      } else {
        Watch();
      }
      return;
    }
    // 0 is EOF; EIO is how a pty master says its slave side is closed (pty(7)).
    if (n < 0 && errno != EIO) LogWarn("read {}: {}", name_, ErrnoText(errno));
    EndOfSource();
  }
}

void Pump::Watch() {
  if (source_ended_ || loop_->Watching(source_.get())) return;
  if (absl::Status status = loop_->Add(source_.get(), EPOLLIN, [this](uint32_t) { OnSourceEvent(); }); !status.ok()) {
    LogWarn("watch {}: {}", name_, status.message());
    EndOfSource();
  }
}

void Pump::Unwatch() {
  if (source_) loop_->Remove(source_.get());
}

void Pump::EndOfSource() {
  Unwatch();
  source_.reset();
  source_ended_ = true;
  sink_->Finish();
  CheckDone();
}

void Pump::CheckDone() {
  if (done_ || !source_ended_ || sink_->busy()) return;
  done_ = true;
  if (on_done_) on_done_();
}

}  // namespace liman::shim
