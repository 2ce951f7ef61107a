#include "ctl/liman-ctr/stdio.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "common/file_util.h"
#include "common/status.h"
#include "ctl/liman-ctr/command.h"
#include "fmt/format.h"

namespace liman::ctr {
namespace {

absl::Status MakeFifo(const std::string& path) {
  if (mkfifo(path.c_str(), 0600) != 0) return ErrnoError(fmt::format("mkfifo {}", Quote(path)));
  return absl::OkStatus();
}

}  // namespace

void WriteOut(std::string_view text) {
  if (!WriteAll(STDOUT_FILENO, text)) _exit(1);  // stdout gone (a closed pipe): nothing left to tell anyone
}

absl::StatusOr<std::unique_ptr<FifoSet>> FifoSet::Create(const std::string& parent, const std::string& id,
                                                         bool terminal) {
  LIMAN_RETURN_IF_ERROR(MkdirAll(parent, 0700));
  std::string templ = JoinPath(parent, "XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) return ErrnoError(fmt::format("mkdtemp in {}", Quote(parent)));
  std::unique_ptr<FifoSet> set(new FifoSet());
  set->dir_ = templ;  // mkdtemp(3) makes it 0700
  set->stdin_ = JoinPath(templ, id + "-stdin");
  set->stdout_ = JoinPath(templ, id + "-stdout");
  LIMAN_RETURN_IF_ERROR(MakeFifo(set->stdin_));
  LIMAN_RETURN_IF_ERROR(MakeFifo(set->stdout_));
  if (!terminal) {
    set->stderr_ = JoinPath(templ, id + "-stderr");
    LIMAN_RETURN_IF_ERROR(MakeFifo(set->stderr_));
  }
  return set;
}

FifoSet::~FifoSet() {
  if (!dir_.empty()) (void)RemoveAll(dir_);
}

absl::StatusOr<std::unique_ptr<AttachedIo>> AttachedIo::OpenOutputs(const FifoSet& fifos) {
  std::unique_ptr<AttachedIo> io(new AttachedIo());
  io->stdout_.reset(open(fifos.stdout_path().c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!io->stdout_) return ErrnoError(fmt::format("open {}", Quote(fifos.stdout_path())));
  if (!fifos.stderr_path().empty()) {
    io->stderr_.reset(open(fifos.stderr_path().c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!io->stderr_) return ErrnoError(fmt::format("open {}", Quote(fifos.stderr_path())));
  }
  return io;
}

AttachedIo::~AttachedIo() { DetachStdin(); }

absl::Status AttachedIo::StartStdin(const FifoSet& fifos, std::function<void()> on_eof) {
  // O_NONBLOCK only for the open: it fails with ENXIO rather than hang if the shim holds no
  // read end (fifo(7)); then there is nobody to give stdin to.
  UniqueFd fifo(open(fifos.stdin_path().c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo) {
    if (errno == ENXIO) return absl::OkStatus();
    return ErrnoError(fmt::format("open {}", Quote(fifos.stdin_path())));
  }
  int flags = fcntl(fifo.get(), F_GETFL);
  if (flags < 0 || fcntl(fifo.get(), F_SETFL, flags & ~O_NONBLOCK) != 0)
    return ErrnoError(fmt::format("clear O_NONBLOCK on {}", Quote(fifos.stdin_path())));
  stdin_state_ = std::make_shared<StdinState>();
  stdin_state_->on_eof = std::move(on_eof);
  std::thread([state = stdin_state_, fd = fifo.release()] {
    UniqueFd fifo(fd);
    char buffer[32 * 1024];
    for (;;) {
      ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      {
        std::lock_guard<std::mutex> lock(state->mu);
        if (state->detached) return;
      }
      if (!WriteAll(fifo.get(), std::string_view(buffer, static_cast<size_t>(n)))) break;  // EPIPE: the process is gone
    }
    fifo.reset();
    std::lock_guard<std::mutex> lock(state->mu);
    if (!state->detached && state->on_eof) state->on_eof();
  }).detach();
  return absl::OkStatus();
}

void AttachedIo::DetachStdin() {
  if (!stdin_state_) return;
  std::lock_guard<std::mutex> lock(stdin_state_->mu);
  stdin_state_->detached = true;
}

bool AttachedIo::Pump(int fd, int out) {
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    if (n <= 0) return false;
    if (!WriteAll(out, std::string_view(buffer, static_cast<size_t>(n)))) return false;
    if (static_cast<size_t>(n) < sizeof buffer) return true;
  }
}

}  // namespace liman::ctr
