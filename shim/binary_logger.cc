#include "shim/binary_logger.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <string>
#include <vector>

#include "common/logging.h"
#include "common/pipe.h"
#include "common/status.h"
#include "fmt/format.h"
#include "shim/spawn.h"

namespace liman::shim {
namespace {

int SendSignal(int pidfd, int signal) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0));
}

// A pidfd is readable once its process has terminated (pidfd_open(2)).
bool Exited(int pidfd) {
  pollfd pfd{pidfd, POLLIN, 0};
  return poll(&pfd, 1, 0) == 1;
}

// Waits for the logger to close or write to its end of the ready pipe. EOF counts as ready, as in
// containerd: closing fd 5 is the protocol's signal.
absl::Status WaitReady(int ready_fd, absl::Duration timeout, const std::string& path) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration())
      return absl::DeadlineExceededError(
          fmt::format("logging binary {} not ready after {}", Quote(path), absl::FormatDuration(timeout)));
    pollfd pfd{ready_fd, POLLIN, 0};
    int rc = poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)))));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return ErrnoError("poll (logging binary ready pipe)");
    if (rc == 0) continue;
    char byte;
    ssize_t n = read(ready_fd, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(fmt::format("read from logging binary {}", Quote(path)));
    return absl::OkStatus();
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<BinaryLogger>> BinaryLogger::Start(EventLoop* loop, const StdioUri& uri,
                                                                   std::string_view container_id,
                                                                   std::string_view namespace_name,
                                                                   absl::Duration ready_timeout) {
  if (uri.scheme != StdioScheme::kBinary || uri.path.empty())
    return absl::InvalidArgumentError(fmt::format("not a binary:// logger URI (path {})", Quote(uri.path)));
  LIMAN_ASSIGN_OR_RETURN(Pipe out, MakePipe("logger stdout"));
  LIMAN_ASSIGN_OR_RETURN(Pipe err, MakePipe("logger stderr"));
  LIMAN_ASSIGN_OR_RETURN(Pipe ready, MakePipe("logger ready"));

  SpawnOptions spawn;
  spawn.path = uri.path;
  spawn.argv.push_back(uri.path);
  // url.Values is a map of key -> values; containerd passes each key once with its first value
  // (an empty one included).
  std::set<std::string> seen;
  for (const auto& [key, value] : uri.query) {
    if (!seen.insert(key).second) continue;
    spawn.argv.push_back(key);
    spawn.argv.push_back(value);
  }
  spawn.env = {fmt::format("CONTAINER_ID={}", container_id), fmt::format("CONTAINER_NAMESPACE={}", namespace_name)};
  spawn.extra_fds = {{out.read.get(), 3}, {err.read.get(), 4}, {ready.write.get(), 5}};
  LIMAN_ASSIGN_OR_RETURN(pid_t pid, Spawn(spawn));

  // Opened before anything can reap the child (the shim has one thread, and we are on it).
  auto pidfd = std::make_shared<UniqueFd>(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!*pidfd) {
    absl::Status status = ErrnoError(fmt::format("pidfd_open logging binary {}", Quote(uri.path)));
    kill(pid, SIGKILL);
    return status;
  }
  // Ours go now: the logger must see EOF on fd 5 when it closes its copy.
  ready.write.reset();
  out.read.reset();
  err.read.reset();
  if (absl::Status status = WaitReady(ready.read.get(), ready_timeout, uri.path); !status.ok()) {
    SendSignal(pidfd->get(), SIGKILL);
    return status;
  }
  LogDebug("logging binary {} (pid {}) ready", Quote(uri.path), pid);
  return std::unique_ptr<BinaryLogger>(
      new BinaryLogger(loop, pid, std::move(pidfd), std::move(out.write), std::move(err.write)));
}

BinaryLogger::~BinaryLogger() {
  stdout_writer_.reset();
  stderr_writer_.reset();
  if (Exited(pidfd_->get())) return;
  if (SendSignal(pidfd_->get(), SIGTERM) != 0) return;  // ESRCH: gone meanwhile
  // The timer owns the pidfd from now on; it goes with the timer, fired or not.
  loop_->AddTimer(kStopTimeout, [pidfd = pidfd_, pid = pid_] {
    if (Exited(pidfd->get())) return;
    LogWarn("logging binary (pid {}) still running {} after SIGTERM; killing it", pid,
            absl::FormatDuration(kStopTimeout));
    SendSignal(pidfd->get(), SIGKILL);
  });
}

}  // namespace liman::shim
