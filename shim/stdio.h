// The standard streams of one process the shim runs (the container's init or an exec), set up
// from the three strings and the terminal flag containerd sends (see stdio_uri.h), and copied
// on the shim's event loop:
//   - stdin: a FIFO the manager writes. Opened O_RDWR|O_NONBLOCK: the open never waits for a
//     writer, and a client that closes its end is not EOF (CloseStdin is, as containerd's
//     CloseIO). Copied into a pipe whose read end the process gets, or into the pty master.
//   - stdout/stderr: a pipe each whose write end the process gets, copied to a FIFO (also
//     O_RDWR|O_NONBLOCK: a manager that goes away and comes back never causes EPIPE or blocks
//     the shim; if the FIFO fills up, copying pauses and the process waits on its own pipe), a
//     file, or a json-file log; with binary:// the process writes straight into the pipes of a
//     logging binary.
//   - terminal: the runtime opens the pty and sends its master to console_socket_path(); output
//     goes master -> stdout's destination, stdin -> master, and there is no stderr.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/event_loop.h"
#include "common/unique_fd.h"
#include "shim/binary_logger.h"
#include "shim/console_socket.h"
#include "shim/io_pump.h"
#include "shim/stdio_uri.h"

namespace liman::shim {

struct StdioConfig {
  std::string stdin_uri;
  std::string stdout_uri;
  std::string stderr_uri;
  bool terminal = false;
};

class ProcessIo {
 public:
  // How long Start waits for the runtime's pty master on the console socket.
  static constexpr absl::Duration kConsoleTimeout = absl::Seconds(10);

  // Opens the FIFOs and files, creates the pipes, starts and waits for logging binaries, and for
  // a terminal listens on a console socket. Nothing is copied until Start.
  static absl::StatusOr<std::unique_ptr<ProcessIo>> Create(EventLoop* loop, const StdioConfig& config,
                                                           std::string_view container_id,
                                                           std::string_view namespace_name);
  // Stops copying, removes every fd from the loop and closes it; logging binaries get SIGTERM.
  ~ProcessIo();
  ProcessIo(const ProcessIo&) = delete;
  ProcessIo& operator=(const ProcessIo&) = delete;

  bool terminal() const { return terminal_; }

  // What the runtime gives the process as fds 0, 1 and 2 (it dup2()s them; they are
  // close-on-exec here), or -1 for /dev/null. Always -1 with a terminal.
  int child_stdin() const { return child_stdin_.get(); }
  int child_stdout() const { return child_stdout_.get(); }
  int child_stderr() const { return child_stderr_.get(); }
  // The runtime's --console-socket for a terminal; empty otherwise.
  std::string console_socket_path() const { return console_socket_ ? console_socket_->path() : std::string(); }

  // Once the runtime call (create, or exec --detach) returned: closes our copies of the child's
  // ends, so that the process's exit is EOF, and starts copying. With a terminal it first takes
  // the pty master from the console socket, unless AttachConsole was called.
  absl::Status Start();
  // The pty master for a terminal process, for callers that received it themselves.
  absl::Status AttachConsole(UniqueFd master);
  // TIOCSWINSZ on the master (the kernel sends SIGWINCH to the foreground process group).
  // FailedPrecondition without a console.
  absl::Status Resize(uint32_t width, uint32_t height);
  // containerd's CloseIO(stdin): what the client wrote to the stdin FIFO is still delivered,
  // then the process sees end of input (its stdin pipe closed, or VEOF on a terminal).
  absl::Status CloseStdin();

  // Calls `done` once, from the loop, when all output was copied (EOF on every source and every
  // byte handed on), or after `grace` if some source stays open (the process exited but a
  // process it left behind still holds the pipe); then stops copying. `done` may destroy this.
  void WhenDrained(absl::Duration grace, std::function<void()> done);
  bool drained() const;

 private:
  ProcessIo(EventLoop* loop, bool terminal) : loop_(loop), terminal_(terminal) {}

  struct Setup;  // state shared while Create builds the streams
  absl::Status SetUpStdin(const StdioUri& uri);
  absl::Status SetUpOutput(Setup& setup, const StdioUri& uri, LogStream stream);
  absl::Status SetUpConsoleOutput(Setup& setup, const StdioUri& uri);
  absl::StatusOr<std::unique_ptr<Sink>> OpenSink(Setup& setup, const StdioUri& uri, LogStream stream);
  absl::StatusOr<BinaryLogger*> Logger(Setup& setup, const StdioUri& uri);
  void AddOutputPump(UniqueFd source, std::unique_ptr<Sink> sink, std::string name);
  void StartPumps();
  void OnOutputDone();
  void ScheduleDrained();
  void Drained();

  EventLoop* loop_;
  bool terminal_;
  bool started_ = false;
  bool stdin_closed_ = false;
  UniqueFd child_stdin_;
  UniqueFd child_stdout_;
  UniqueFd child_stderr_;
  std::vector<std::unique_ptr<BinaryLogger>> loggers_;
  std::unique_ptr<Pump> stdin_pump_;
  std::vector<std::unique_ptr<Pump>> output_pumps_;
  // Terminal: kept until the master arrives.
  std::unique_ptr<ConsoleSocket> console_socket_;
  UniqueFd stdin_fifo_;
  std::unique_ptr<Sink> console_sink_;
  UniqueFd console_;  // the pty master, for Resize

  std::function<void()> drained_callback_;
  std::optional<EventLoop::TimerId> grace_timer_;
  std::optional<EventLoop::TimerId> drained_timer_;
};

}  // namespace liman::shim
