#include "engine/daemon/process_root.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/status.h"
#include "fmt/format.h"

namespace liman::engine {

absl::StatusOr<UniqueFd> OpenProcessRoot(pid_t pid) {
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) return ErrnoError(fmt::format("pidfd_open {}", pid));
  std::string path = fmt::format("/proc/{}/root", pid);
  UniqueFd root(open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return ErrnoError(fmt::format("open {}", Quote(path)));
  if (syscall(SYS_pidfd_send_signal, pidfd.get(), 0, nullptr, 0) != 0) return ErrnoError(fmt::format("process {}", pid));
  return root;
}

}  // namespace liman::engine
