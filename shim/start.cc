#include "shim/start.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/unix_socket.h"
#include "shim/serve.h"

namespace liman::shim {
namespace {

constexpr int kListenerFd = 3;

// A socket file left by a shim that is gone refuses connections; a live shim accepts them.
bool ShimAlreadyServing(const std::string& socket_path) { return ConnectUnix(socket_path).ok(); }

absl::Status PrepareSocketDir(const std::string& dir) {
  LIMAN_RETURN_IF_ERROR(MkdirAll(dir, 0700));
  // The sockets are 0600 already; the directory keeps other users from even naming them.
  if (chmod(dir.c_str(), 0700) != 0) return ErrnoError(fmt::format("chmod {}", Quote(dir)));
  return absl::OkStatus();
}

// The server's stdio: nothing to read, and stderr into the bundle's `log` FIFO when the manager
// made one (containerd 1.6 copies it into its own log), else /dev/null. Opened non-blocking: a
// manager that stopped reading must never stall the shim on a log line.
void RedirectServerStdio(const std::string& bundle) {
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  int log_fd = open(JoinPath(bundle, "log").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  int out = log_fd >= 0 ? log_fd : null_fd;
  if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
  if (out >= 0) {
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
  }
  if (log_fd >= 0) close(log_fd);
  if (null_fd >= 0) close(null_fd);
}

}  // namespace

int RunStart(const ShimFlags& flags) {
  std::string socket_path = ShimSocketPath(flags);
  std::string address = "unix://" + socket_path;
  if (ShimAlreadyServing(socket_path)) {
    std::printf("%s", address.c_str());
    return 0;
  }
  if (absl::Status status = PrepareSocketDir(flags.socket_dir); !status.ok()) {
    std::fprintf(stderr, "liman-shim start: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  absl::StatusOr<UniqueFd> listener = ListenUnix(socket_path, 0600);
  if (!listener.ok()) {
    std::fprintf(stderr, "liman-shim start: %s\n", std::string(listener.status().message()).c_str());
    return 1;
  }
  // Anything buffered would otherwise be flushed twice, by parent and child.
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    std::fprintf(stderr, "liman-shim start: fork: %s\n", ErrnoText(errno).c_str());
    unlink(socket_path.c_str());
    return 1;
  }
  if (pid == 0) {
    // The server: its own session (no signal from the manager's terminal or process group
    // reaches it), stdio away from the manager's pipes, and no descriptor inherited from the
    // manager but the listener.
    setsid();
    RedirectServerStdio(flags.bundle);
    if (listener->get() != kListenerFd) {
      dup2(listener->get(), kListenerFd);
      listener->reset();
      listener->reset(kListenerFd);
    }
    fcntl(kListenerFd, F_SETFD, FD_CLOEXEC);
    close_range(kListenerFd + 1, ~0U, 0);
    _exit(Serve(flags, std::move(*listener)));
  }
  listener->reset();
  // The manager finds this shim again after a restart through these (containerd reads
  // `address`; `shim.pid` is the process `delete` may have to kill).
  for (const auto& [name, content] : {std::pair<const char*, std::string>{"address", address},
                                      {"shim.pid", std::to_string(pid)}}) {
    if (absl::Status status = ReplaceFile(JoinPath(flags.bundle, name), content); !status.ok())
      LogWarn("{}", status);
  }
  std::printf("%s", address.c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace liman::shim
