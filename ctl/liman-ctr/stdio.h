// A process's stdio as liman-ctr attaches to it: FIFOs in a private directory that the shim
// opens (like containerd's cio.NewFIFOSetInDir), our terminal in raw mode for -t, and the
// copying between our stdin/stdout/stderr and the FIFOs.
#pragma once


#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/terminal.h"
#include "common/unique_fd.h"

namespace liman::ctr {

// Where FIFO directories go unless --fifo-dir says otherwise.
inline constexpr char kDefaultFifoDir[] = "/run/liman/fifo";

// <parent>/<random>/ (mode 0700: only we and root, i.e. the shim, reach the FIFOs) holding
// <id>-stdin, <id>-stdout and, without a terminal, <id>-stderr. Removed on destruction.
class FifoSet {
 public:
  static absl::StatusOr<std::unique_ptr<FifoSet>> Create(const std::string& parent, const std::string& id,
                                                         bool terminal);
  ~FifoSet();
  FifoSet(const FifoSet&) = delete;
  FifoSet& operator=(const FifoSet&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& stdin_path() const { return stdin_; }
  const std::string& stdout_path() const { return stdout_; }
  const std::string& stderr_path() const { return stderr_; }  // empty with a terminal

 private:
  FifoSet() = default;
  std::string dir_, stdin_, stdout_, stderr_;
};

// The manager's ends of the FIFOs. The output ends are opened before the task is created
// (O_RDONLY|O_NONBLOCK needs no writer, and a shim blocking on its write end finds us there);
// the stdin end after, when the shim holds its read end.
class AttachedIo {
 public:
  static absl::StatusOr<std::unique_ptr<AttachedIo>> OpenOutputs(const FifoSet& fifos);
  ~AttachedIo();

  // Copies our stdin into the stdin FIFO on a thread of its own (a process that does not read
  // stdin must not stop its output from being copied); at EOF closes the FIFO and calls
  // `on_eof` (CloseIO), unless Detach() came first.
  absl::Status StartStdin(const FifoSet& fifos, std::function<void()> on_eof);
  // Stops the stdin thread from touching anything of ours (it may stay blocked in read(0)).
  void DetachStdin();

  int stdout_fd() const { return stdout_.get(); }
  int stderr_fd() const { return stderr_.get(); }
  // Copies what is readable on `fd` to `out`; false at EOF (the writers are gone) or on error.
  static bool Pump(int fd, int out);
  void CloseStdout() { stdout_.reset(); }
  void CloseStderr() { stderr_.reset(); }

 private:
  struct StdinState {
    std::mutex mu;
    bool detached = false;
    std::function<void()> on_eof;
  };
  UniqueFd stdout_, stderr_;
  std::shared_ptr<StdinState> stdin_state_;
};

}  // namespace liman::ctr
