#include "shim/stdio.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <map>

#include "common/logging.h"
#include "common/pipe.h"
#include "common/status.h"
#include "fmt/format.h"
#include "shim/json_file_log.h"

namespace liman::shim {
namespace {

// Only on our end: the process's end of a pipe stays blocking, as programs expect.
absl::Status SetNonBlocking(int fd, std::string_view what) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
    return ErrnoError(fmt::format("set O_NONBLOCK on {}", what));
  return absl::OkStatus();
}

// O_RDWR: the open succeeds with no peer yet (fifo(7) leaves O_RDWR on a FIFO to Linux, which
// allows it), and since we count as both reader and writer we never get EOF on the stdin FIFO
// nor EPIPE on an output FIFO when the manager's end goes away for a while.
absl::StatusOr<UniqueFd> OpenFifo(const std::string& path, std::string_view stream, bool output) {
  std::string what = fmt::format("{} FIFO {}", stream, Quote(path));
  UniqueFd fd(open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return ErrnoError(fmt::format("open {}", what));
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoError(fmt::format("stat {}", what));
  // Written through an fd, a regular file would be overwritten from its start.
  if (output && S_ISREG(st.st_mode))
    return absl::InvalidArgumentError(
        fmt::format("{} is a regular file, not a FIFO (file://{} appends to it)", what, path));
  return fd;
}

}  // namespace

// Logs and loggers are shared by stdout and stderr when both name the same one.
struct ProcessIo::Setup {
  std::string_view container_id;
  std::string_view namespace_name;
  std::map<std::string, std::shared_ptr<JsonFileLog>> json_logs;  // by path
  std::map<std::string, BinaryLogger*> loggers;                  // by URI
};

absl::StatusOr<std::unique_ptr<ProcessIo>> ProcessIo::Create(EventLoop* loop, const StdioConfig& config,
                                                              std::string_view container_id,
                                                              std::string_view namespace_name) {
  absl::StatusOr<StdioUri> in = ParseStdioUri(config.stdin_uri);
  if (!in.ok()) return Annotate(in.status(), "stdin");
  absl::StatusOr<StdioUri> out = ParseStdioUri(config.stdout_uri);
  if (!out.ok()) return Annotate(out.status(), "stdout");
  absl::StatusOr<StdioUri> err = ParseStdioUri(config.stderr_uri);
  if (!err.ok()) return Annotate(err.status(), "stderr");

  std::unique_ptr<ProcessIo> io(new ProcessIo(loop, config.terminal));
  Setup setup{container_id, namespace_name, {}, {}};
  LIMAN_RETURN_IF_ERROR(io->SetUpStdin(*in));
  if (config.terminal) {
    // containerd's runc shim ignores stderr with a terminal: the pty merges both streams.
    LIMAN_RETURN_IF_ERROR(io->SetUpConsoleOutput(setup, *out));
    LIMAN_ASSIGN_OR_RETURN(io->console_socket_, ConsoleSocket::Create());
  } else {
    LIMAN_RETURN_IF_ERROR(io->SetUpOutput(setup, *out, LogStream::kStdout));
    LIMAN_RETURN_IF_ERROR(io->SetUpOutput(setup, *err, LogStream::kStderr));
  }
  // A logger's pipe no stream took is closed now: the logger sees EOF on it at once.
  for (auto& logger : io->loggers_) {
    logger->TakeStdoutWriter();
    logger->TakeStderrWriter();
  }
  return io;
}

ProcessIo::~ProcessIo() {
  if (grace_timer_) loop_->CancelTimer(*grace_timer_);
  if (drained_timer_) loop_->CancelTimer(*drained_timer_);
  stdin_pump_.reset();
  output_pumps_.clear();
  console_sink_.reset();
  loggers_.clear();
}

absl::Status ProcessIo::SetUpStdin(const StdioUri& uri) {
  if (uri.scheme == StdioScheme::kNone) return absl::OkStatus();
  if (uri.scheme != StdioScheme::kFifo)
    return absl::InvalidArgumentError(
        fmt::format("stdin: {}:// is for output; stdin must be a FIFO path", StdioSchemeName(uri.scheme)));
  LIMAN_ASSIGN_OR_RETURN(UniqueFd fifo, OpenFifo(uri.path, "stdin", /*output=*/false));
  if (terminal_) {
    stdin_fifo_ = std::move(fifo);  // copied into the pty master once it arrives
    return absl::OkStatus();
  }
  LIMAN_ASSIGN_OR_RETURN(Pipe pipe, MakePipe("stdin"));
  LIMAN_RETURN_IF_ERROR(SetNonBlocking(pipe.write.get(), "stdin pipe"));
  child_stdin_ = std::move(pipe.read);
  auto sink = std::make_unique<FdSink>(loop_, std::move(pipe.write), "stdin pipe", FdSink::OnFinish::kClose);
  stdin_pump_ = std::make_unique<Pump>(loop_, std::move(fifo), std::move(sink), fmt::format("stdin FIFO {}", Quote(uri.path)));
  return absl::OkStatus();
}

absl::Status ProcessIo::SetUpOutput(Setup& setup, const StdioUri& uri, LogStream stream) {
  UniqueFd& child_end = stream == LogStream::kStdout ? child_stdout_ : child_stderr_;
  switch (uri.scheme) {
    case StdioScheme::kNone:
      return absl::OkStatus();
    case StdioScheme::kBinary: {
      // The process writes into the logger's pipe itself: nothing for the shim to copy.
      LIMAN_ASSIGN_OR_RETURN(BinaryLogger * logger, Logger(setup, uri));
      child_end = stream == LogStream::kStdout ? logger->TakeStdoutWriter() : logger->TakeStderrWriter();
      return absl::OkStatus();
    }
    default:
      break;
  }
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<Sink> sink, OpenSink(setup, uri, stream));
  LIMAN_ASSIGN_OR_RETURN(Pipe pipe, MakePipe(LogStreamName(stream)));
  LIMAN_RETURN_IF_ERROR(SetNonBlocking(pipe.read.get(), fmt::format("{} pipe", LogStreamName(stream))));
  child_end = std::move(pipe.write);
  AddOutputPump(std::move(pipe.read), std::move(sink), fmt::format("{} pipe", LogStreamName(stream)));
  return absl::OkStatus();
}

absl::Status ProcessIo::SetUpConsoleOutput(Setup& setup, const StdioUri& uri) {
  switch (uri.scheme) {
    case StdioScheme::kNone:
      // Still read: a pty nobody drains blocks the process once its buffer is full.
      console_sink_ = std::make_unique<DiscardSink>();
      return absl::OkStatus();
    case StdioScheme::kBinary: {
      LIMAN_ASSIGN_OR_RETURN(BinaryLogger * logger, Logger(setup, uri));
      UniqueFd writer = logger->TakeStdoutWriter();
      LIMAN_RETURN_IF_ERROR(SetNonBlocking(writer.get(), "logging binary's stdout pipe"));
      console_sink_ = std::make_unique<FdSink>(loop_, std::move(writer), "logging binary's stdout pipe",
                                               FdSink::OnFinish::kClose);
      return absl::OkStatus();
    }
    default: {
      LIMAN_ASSIGN_OR_RETURN(console_sink_, OpenSink(setup, uri, LogStream::kStdout));
      return absl::OkStatus();
    }
  }
}

absl::StatusOr<std::unique_ptr<Sink>> ProcessIo::OpenSink(Setup& setup, const StdioUri& uri, LogStream stream) {
  std::string_view name = LogStreamName(stream);
  switch (uri.scheme) {
    case StdioScheme::kFifo: {
      LIMAN_ASSIGN_OR_RETURN(UniqueFd fifo, OpenFifo(uri.path, name, /*output=*/true));
      return std::make_unique<FdSink>(loop_, std::move(fifo), fmt::format("{} FIFO {}", name, Quote(uri.path)),
                                      FdSink::OnFinish::kCloseWhenRead);
    }
    case StdioScheme::kFile: {
      absl::StatusOr<std::unique_ptr<AppendFileSink>> sink = AppendFileSink::Open(uri.path);
      if (!sink.ok()) return Annotate(sink.status(), name);
      return std::move(*sink);
    }
    case StdioScheme::kJsonFile: {
      std::shared_ptr<JsonFileLog>& log = setup.json_logs[uri.path];
      if (!log) {
        absl::StatusOr<JsonFileLogOptions> options = JsonFileLogOptionsFromUri(uri);
        if (!options.ok()) return Annotate(options.status(), fmt::format("{} json-file log {}", name, Quote(uri.path)));
        absl::StatusOr<std::unique_ptr<JsonFileLog>> opened = JsonFileLog::Open(std::move(*options));
        if (!opened.ok()) return Annotate(opened.status(), name);
        log = std::move(*opened);
      }
      return std::make_unique<JsonLogSink>(log, stream);
    }
    default:
      return absl::InvalidArgumentError(fmt::format("{}: no sink for {}://", name, StdioSchemeName(uri.scheme)));
  }
}

absl::StatusOr<BinaryLogger*> ProcessIo::Logger(Setup& setup, const StdioUri& uri) {
  // Keyed by the parsed form, so that spelling differences in the query do not start two.
  std::string key = uri.path;
  for (const auto& [k, v] : uri.query) key += fmt::format("\n{}={}", k, v);
  BinaryLogger*& logger = setup.loggers[key];
  if (logger == nullptr) {
    LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<BinaryLogger> started,
                           BinaryLogger::Start(loop_, uri, setup.container_id, setup.namespace_name));
    logger = started.get();
    loggers_.push_back(std::move(started));
  }
  return logger;
}

void ProcessIo::AddOutputPump(UniqueFd source, std::unique_ptr<Sink> sink, std::string name) {
  auto pump = std::make_unique<Pump>(loop_, std::move(source), std::move(sink), std::move(name));
  pump->set_on_done([this] { OnOutputDone(); });
  output_pumps_.push_back(std::move(pump));
}

absl::Status ProcessIo::Start() {
  if (started_) return absl::OkStatus();
  if (terminal_ && !console_) {
    absl::StatusOr<UniqueFd> master = console_socket_->ReceiveMaster(kConsoleTimeout);
    if (!master.ok()) return master.status();
    LIMAN_RETURN_IF_ERROR(AttachConsole(std::move(*master)));
  }
  console_socket_.reset();
  started_ = true;
  // The process (and the runtime, if it is still around) hold their own copies; with ours
  // closed, the process's exit is the pipes' EOF.
  child_stdin_.reset();
  child_stdout_.reset();
  child_stderr_.reset();
  StartPumps();
  return absl::OkStatus();
}

absl::Status ProcessIo::AttachConsole(UniqueFd master) {
  if (!terminal_) return absl::FailedPreconditionError("the process has no terminal");
  if (console_) return absl::AlreadyExistsError("the process's console is already attached");
  LIMAN_RETURN_IF_ERROR(SetNonBlocking(master.get(), "pty master"));
  // One descriptor per direction, so each has its own watch on the loop.
  UniqueFd output(fcntl(master.get(), F_DUPFD_CLOEXEC, 0));
  if (!output) return ErrnoError("dup pty master");
  if (stdin_fifo_) {
    UniqueFd input(fcntl(master.get(), F_DUPFD_CLOEXEC, 0));
    if (!input) return ErrnoError("dup pty master");
    auto sink = std::make_unique<FdSink>(loop_, std::move(input), "pty master (stdin)", FdSink::OnFinish::kSendEof);
    stdin_pump_ = std::make_unique<Pump>(loop_, std::move(stdin_fifo_), std::move(sink), "stdin FIFO");
    if (stdin_closed_) stdin_pump_->EndWhenEmpty();
  }
  AddOutputPump(std::move(output), std::move(console_sink_), "pty master");
  console_ = std::move(master);
  if (started_) StartPumps();
  return absl::OkStatus();
}

void ProcessIo::StartPumps() {
  if (stdin_pump_) stdin_pump_->Start();
  for (auto& pump : output_pumps_) pump->Start();
}

absl::Status ProcessIo::Resize(uint32_t width, uint32_t height) {
  if (!console_) return absl::FailedPreconditionError("the process has no console to resize");
  winsize size{};
  size.ws_col = static_cast<unsigned short>(width);
  size.ws_row = static_cast<unsigned short>(height);
  if (ioctl(console_.get(), TIOCSWINSZ, &size) != 0) return ErrnoError("ioctl TIOCSWINSZ on the pty master");
  return absl::OkStatus();
}

absl::Status ProcessIo::CloseStdin() {
  stdin_closed_ = true;
  if (stdin_pump_) stdin_pump_->EndWhenEmpty();
  return absl::OkStatus();
}

bool ProcessIo::drained() const {
  for (const auto& pump : output_pumps_)
    if (!pump->done()) return false;
  return true;
}

void ProcessIo::WhenDrained(absl::Duration grace, std::function<void()> done) {
  drained_callback_ = std::move(done);
  if (grace_timer_) loop_->CancelTimer(*grace_timer_);
  grace_timer_.reset();
  if (drained()) {
    ScheduleDrained();
    return;
  }
  grace_timer_ = loop_->AddTimer(grace, [this, grace] {
    grace_timer_.reset();
    LogWarn("process output still open {} after the process exited; no longer copying it", absl::FormatDuration(grace));
    Drained();
  });
}

void ProcessIo::OnOutputDone() {
  if (drained_callback_ && drained()) ScheduleDrained();
}

void ProcessIo::ScheduleDrained() {
  // Never from inside a pump's callback: `done` may destroy this object and its pumps.
  if (drained_timer_) return;
  drained_timer_ = loop_->AddTimer(absl::ZeroDuration(), [this] {
    drained_timer_.reset();
    Drained();
  });
}

void ProcessIo::Drained() {
  if (grace_timer_) loop_->CancelTimer(*grace_timer_);
  grace_timer_.reset();
  if (drained_timer_) loop_->CancelTimer(*drained_timer_);
  drained_timer_.reset();
  // Taken first: the pumps stopped below report done, which must not schedule this again.
  std::function<void()> done = std::move(drained_callback_);
  drained_callback_ = nullptr;
  if (stdin_pump_) stdin_pump_->Stop();
  for (auto& pump : output_pumps_) pump->Stop();
  if (done) done();  // last: it may destroy this
}

}  // namespace liman::shim
