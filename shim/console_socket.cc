#include "shim/console_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/unix_socket.h"
#include "fmt/format.h"

namespace liman::shim {
namespace {

// Waits until `fd` is readable or `deadline` passes.
absl::Status WaitReadable(int fd, absl::Time deadline, std::string_view what) {
  while (true) {
    absl::Duration left = deadline - absl::Now();
    if (left < absl::ZeroDuration()) left = absl::ZeroDuration();
    pollfd pfd{fd, POLLIN, 0};
    int rc = poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)))));
    if (rc > 0) return absl::OkStatus();
    if (rc < 0 && errno != EINTR) return ErrnoError(fmt::format("poll {}", what));
    if (rc == 0) return absl::DeadlineExceededError(fmt::format("{}: timed out", what));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<ConsoleSocket>> ConsoleSocket::Create(const std::string& parent) {
  std::string base = parent;
  if (base.empty()) {
    const char* tmpdir = getenv("TMPDIR");
    base = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
  }
  std::string dir_template = JoinPath(base, "ptyXXXXXX");
  // mkdtemp(3) makes it 0700.
  if (mkdtemp(dir_template.data()) == nullptr) return ErrnoError(fmt::format("mkdtemp {}", Quote(dir_template)));
  std::string path = JoinPath(dir_template, "pty.sock");
  absl::StatusOr<UniqueFd> listener = ListenUnix(path, 0600);
  if (!listener.ok()) {
    rmdir(dir_template.c_str());
    return listener.status();
  }
  return std::unique_ptr<ConsoleSocket>(new ConsoleSocket(dir_template, path, std::move(*listener)));
}

ConsoleSocket::~ConsoleSocket() {
  listener_.reset();
  if (unlink(path_.c_str()) != 0 && errno != ENOENT) LogWarn("remove {}: {}", Quote(path_), ErrnoText(errno));
  if (rmdir(dir_.c_str()) != 0 && errno != ENOENT) LogWarn("remove {}: {}", Quote(dir_), ErrnoText(errno));
}

absl::StatusOr<UniqueFd> ConsoleSocket::ReceiveMaster(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  std::string what = fmt::format("console socket {}", Quote(path_));
  LIMAN_RETURN_IF_ERROR(WaitReadable(listener_.get(), deadline, fmt::format("accept on {}", what)));
  UniqueFd connection;
  do {
    connection.reset(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  } while (!connection && errno == EINTR);
  if (!connection) return ErrnoError(fmt::format("accept on {}", what));
  LIMAN_RETURN_IF_ERROR(WaitReadable(connection.get(), deadline, fmt::format("receive pty master on {}", what)));
  absl::StatusOr<UniqueFd> master = ReceiveFd(connection.get());
  if (!master.ok()) return Annotate(master.status(), fmt::format("receive pty master on {}", what));
  if (!isatty(master->get()))
    return absl::InvalidArgumentError(fmt::format("{}: the descriptor received is not a terminal", what));
  return std::move(*master);
}

}  // namespace liman::shim
