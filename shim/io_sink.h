// Where the shim puts the bytes it copies for a process: a FIFO or pipe, a pty master, a file, a
// json-file log. Write never blocks the (single) loop thread: a destination that cannot take
// everything now keeps the rest and reports busy() until it is written, and the pump feeding it
// stops reading meanwhile, so backpressure reaches the process through its own pipe and nothing
// is dropped or overwritten.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/event_loop.h"
#include "common/unique_fd.h"
#include "shim/json_file_log.h"

namespace liman::shim {

class Sink {
 public:
  virtual ~Sink() = default;
  // Takes all of `data`, which is only valid during the call.
  virtual void Write(std::string_view data) = 0;
  // No more data will come: flush what is held back and let the destination know it ended.
  virtual void Finish() = 0;
  // Some accepted bytes are not written to the destination yet.
  virtual bool busy() const { return false; }
  // Runs (from the loop) each time busy() turns false.
  void set_on_ready(std::function<void()> on_ready) { on_ready_ = std::move(on_ready); }

 protected:
  void NotifyReady() {
    if (on_ready_) on_ready_();
  }

 private:
  std::function<void()> on_ready_;
};

// A non-blocking pipe, FIFO or pty master. What write(2) does not take now waits for EPOLLOUT.
// A reader that went away (EPIPE, or EIO from a pty) turns the sink into a discard: the data
// has nowhere to go, and the source must not block on it.
class FdSink : public Sink {
 public:
  enum class OnFinish {
    // A pipe into the process or a logger: closing our end is its EOF.
    kClose,
    // A FIFO the manager reads: closed once the reader has taken everything (FIONREAD is 0), so
    // it sees EOF; closing it while bytes are still unread would discard them (pipe(7): the
    // buffer goes with the last descriptor), so while they wait for a late reader it stays open.
    kCloseWhenRead,
    // A pty master: the slave's reader sees end of input when the line discipline gets VEOF
    // (termios(3)); the master itself stays open for the process's output.
    kSendEof,
  };

  // `fd` must be non-blocking. `name` is for messages: `stdout FIFO "/run/x"`.
  FdSink(EventLoop* loop, UniqueFd fd, std::string name, OnFinish on_finish);
  ~FdSink() override;

  void Write(std::string_view data) override;
  void Finish() override;
  bool busy() const override { return !pending_.empty(); }
  bool closed() const { return !fd_.valid(); }

 private:
  // Writes as much of `data` as the fd takes now; returns how much. Marks the sink broken on a
  // hard error.
  size_t WriteSome(std::string_view data);
  void OnWritable();
  void Complete();
  void CloseWhenRead();
  void Close();

  EventLoop* loop_;
  UniqueFd fd_;
  std::string name_;
  OnFinish on_finish_;
  std::string pending_;
  bool broken_ = false;
  bool finishing_ = false;
  bool line_open_ = false;  // the last byte sent was not a newline (kSendEof needs to know)
  std::optional<EventLoop::TimerId> linger_timer_;
  absl::Duration linger_delay_;
};

// file:// — the raw bytes appended to a file (created 0640, parents made). Writes to a regular
// file do not wait for a reader, so this sink is never busy; a failing write (ENOSPC) drops the
// data and is logged once until writes succeed again.
class AppendFileSink : public Sink {
 public:
  static absl::StatusOr<std::unique_ptr<AppendFileSink>> Open(const std::string& path);
  void Write(std::string_view data) override;
  void Finish() override { fd_.reset(); }

 private:
  AppendFileSink(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
  bool failing_ = false;
};

// One stream of a json-file log; stdout and stderr of a process share the JsonFileLog.
class JsonLogSink : public Sink {
 public:
  JsonLogSink(std::shared_ptr<JsonFileLog> log, LogStream stream) : log_(std::move(log)), stream_(stream) {}
  void Write(std::string_view data) override;
  void Finish() override;

 private:
  void Report(const absl::Status& status);
  std::shared_ptr<JsonFileLog> log_;
  LogStream stream_;
  bool failing_ = false;
};

// Output nobody asked for (a terminal with no stdout): read so the process never blocks on it.
class DiscardSink : public Sink {
 public:
  void Write(std::string_view) override {}
  void Finish() override {}
};

}  // namespace liman::shim
