// containerd's logging-binary protocol (binary:///path/to/logger?key=value, pkg/process/io.go
// NewBinaryIO and NewBinaryCmd): the shim starts the logger with
//   argv  path key value … (the query's pairs in order, first value of each key),
//   env   exactly CONTAINER_ID=<id> and CONTAINER_NAMESPACE=<namespace>,
//   fd 3  read end of the process's stdout pipe, fd 4 of its stderr pipe,
//   fd 5  write end of a "ready" pipe, which the logger closes (or writes to) once it is set up;
// and starts the container's process only after that. When the process is deleted the logger
// gets SIGTERM to flush and exit, and SIGKILL if it is still there 12 s later, as in containerd.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/event_loop.h"
#include "common/unique_fd.h"
#include "shim/stdio_uri.h"

namespace liman::shim {

class BinaryLogger {
 public:
  static constexpr absl::Duration kDefaultReadyTimeout = absl::Seconds(10);
  static constexpr absl::Duration kStopTimeout = absl::Seconds(12);

  // Starts the logger and waits (blocking, at most `ready_timeout`) until it is ready. A logger
  // that is not ready in time is killed and DeadlineExceeded returned. The logger is a child of
  // the shim: the shim's reaper collects it when it exits.
  static absl::StatusOr<std::unique_ptr<BinaryLogger>> Start(EventLoop* loop, const StdioUri& uri,
                                                              std::string_view container_id,
                                                              std::string_view namespace_name,
                                                              absl::Duration ready_timeout = kDefaultReadyTimeout);
  // SIGTERM now, SIGKILL after kStopTimeout (a timer on the loop) unless it exited.
  ~BinaryLogger();
  BinaryLogger(const BinaryLogger&) = delete;
  BinaryLogger& operator=(const BinaryLogger&) = delete;

  // Write ends of the pipes the logger reads as fd 3 (stdout) and fd 4 (stderr), close-on-exec.
  // Whoever takes one hands it to the process; closing it is the stream's EOF for the logger.
  UniqueFd TakeStdoutWriter() { return std::move(stdout_writer_); }
  UniqueFd TakeStderrWriter() { return std::move(stderr_writer_); }

  pid_t pid() const { return pid_; }

 private:
  BinaryLogger(EventLoop* loop, pid_t pid, std::shared_ptr<UniqueFd> pidfd, UniqueFd stdout_writer,
               UniqueFd stderr_writer)
      : loop_(loop), pid_(pid), pidfd_(std::move(pidfd)), stdout_writer_(std::move(stdout_writer)),
        stderr_writer_(std::move(stderr_writer)) {}

  EventLoop* loop_;
  pid_t pid_;
  // Signals go through a pidfd (pidfd_open(2)): the reaper may have collected the logger and
  // its pid been reused by the time we stop it.
  std::shared_ptr<UniqueFd> pidfd_;
  UniqueFd stdout_writer_;
  UniqueFd stderr_writer_;
};

}  // namespace liman::shim
