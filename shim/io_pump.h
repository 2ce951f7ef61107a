// Copies one stream on the event loop: reads a non-blocking source (the process's stdout pipe, a
// pty master, the stdin FIFO) and hands the bytes to a Sink. While the sink is busy the source is
// taken off the loop altogether — not just masked: epoll reports EPOLLHUP and EPOLLERR whatever
// the mask (epoll_ctl(2)), and a read then would have nowhere to put its bytes — and the
// process blocks on its own full pipe until the sink has caught up.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/event_loop.h"
#include "common/unique_fd.h"
#include "shim/io_sink.h"

namespace liman::shim {

class Pump {
 public:
  // `name` is for messages ("stdout of exec \"e1\"").
  Pump(EventLoop* loop, UniqueFd source, std::unique_ptr<Sink> sink, std::string name);
  ~Pump();
  Pump(const Pump&) = delete;
  Pump& operator=(const Pump&) = delete;

  // Runs (from the loop) once the source hit EOF and the sink has written everything.
  void set_on_done(std::function<void()> on_done) { on_done_ = std::move(on_done); }

  // Starts reading. Nothing is read before.
  void Start();
  // What the source holds now is the last of it: the first read that would block counts as EOF.
  // For the stdin FIFO after CloseIO, which the client sends once it has written everything;
  // we hold the FIFO open for writing too, so it never reaches EOF by itself.
  void EndWhenEmpty();
  // Stops reading and closes the source; the sink still writes what it holds and is finished.
  void Stop();

  bool done() const { return done_; }
  bool source_ended() const { return source_ended_; }

 private:
  void OnSourceEvent();
  void OnSinkReady();
  // Reads once (or, after EndWhenEmpty, until the source is empty) into the sink.
  void Read();
  void Watch();
  void Unwatch();
  void EndOfSource();
  void CheckDone();

  EventLoop* loop_;
  UniqueFd source_;
  std::unique_ptr<Sink> sink_;
  std::string name_;
  std::function<void()> on_done_;
  bool started_ = false;
  bool end_when_empty_ = false;
  bool source_ended_ = false;
  bool done_ = false;
};

}  // namespace liman::shim
