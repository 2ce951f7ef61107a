#include "shim/io_sink.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::shim {
namespace {

constexpr absl::Duration kFirstLingerCheck = absl::Milliseconds(10);
constexpr absl::Duration kMaxLingerCheck = absl::Seconds(1);

}  // namespace

FdSink::FdSink(EventLoop* loop, UniqueFd fd, std::string name, OnFinish on_finish)
    : loop_(loop), fd_(std::move(fd)), name_(std::move(name)), on_finish_(on_finish), linger_delay_(kFirstLingerCheck) {}

FdSink::~FdSink() { Close(); }

void FdSink::Write(std::string_view data) {
  if (data.empty()) return;
  line_open_ = data.back() != '\n';
  if (!fd_ || broken_) return;
  if (!pending_.empty()) {
    pending_.append(data);
    return;
  }
  size_t written = WriteSome(data);
  if (broken_ || written == data.size()) return;
  pending_.assign(data.substr(written));
  if (absl::Status status = loop_->Add(fd_.get(), EPOLLOUT, [this](uint32_t) { OnWritable(); }); !status.ok()) {
    LogWarn("{}: {}; dropping its output", name_, status.message());
    broken_ = true;
    pending_.clear();
  }
}

size_t FdSink::WriteSome(std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd_.get(), data.data() + done, data.size() - done);
    if (n >= 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) break;
    // EPIPE: the process closed its stdin or exited (the shim ignores SIGPIPE); EIO: the pty's
    // slave side is gone.
    LogDebug("{}: {}; discarding further data", name_, ErrnoText(errno));
    broken_ = true;
    break;
  }
  return done;
}

void FdSink::OnWritable() {
  size_t written = WriteSome(pending_);
  if (broken_) {
    pending_.clear();
  } else {
    pending_.erase(0, written);
  }
  if (!pending_.empty()) return;
  loop_->Remove(fd_.get());
  if (finishing_) Complete();
  NotifyReady();
}

void FdSink::Finish() {
  if (finishing_) return;
  finishing_ = true;
  if (on_finish_ == OnFinish::kSendEof && fd_ && !broken_) {
    // In canonical mode VEOF ends the input only at the start of a line; after a partial line
    // it just hands that line to the reader, so a second one is needed (termios(3), VEOF).
    // tcgetattr on the master reads the slave's settings (the pty pair shares one termios).
    termios tio{};
    if (tcgetattr(fd_.get(), &tio) == 0 && tio.c_cc[VEOF] != _POSIX_VDISABLE) {
      std::string eof(line_open_ ? 2 : 1, static_cast<char>(tio.c_cc[VEOF]));
      Write(eof);
      line_open_ = false;
    }
  }
  if (pending_.empty()) Complete();
}

void FdSink::Complete() {
  switch (on_finish_) {
    case OnFinish::kClose:
      Close();
      break;
    case OnFinish::kCloseWhenRead:
      CloseWhenRead();
      break;
    case OnFinish::kSendEof:
      break;
  }
}

void FdSink::CloseWhenRead() {
  linger_timer_.reset();
  if (!fd_) return;
  int unread = 0;
  // Not a pipe (a character device given as a path): nothing can be waiting in it.
  if (broken_ || ioctl(fd_.get(), FIONREAD, &unread) != 0 || unread == 0) {
    Close();
    return;
  }
  // No event says "the reader emptied the FIFO" (a pipe wakes writers only when it was full),
  // so look again, less often the longer nobody reads.
  linger_timer_ = loop_->AddTimer(linger_delay_, [this] { CloseWhenRead(); });
  linger_delay_ = std::min(linger_delay_ * 2, kMaxLingerCheck);
}

void FdSink::Close() {
  if (linger_timer_) loop_->CancelTimer(*linger_timer_);
  linger_timer_.reset();
  if (!fd_) return;
  loop_->Remove(fd_.get());
  fd_.reset();
}

absl::StatusOr<std::unique_ptr<AppendFileSink>> AppendFileSink::Open(const std::string& path) {
  LIMAN_RETURN_IF_ERROR(MkdirAll(ParentDirectory(path), 0755));
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd) return ErrnoError(fmt::format("open {}", Quote(path)));
  return std::unique_ptr<AppendFileSink>(new AppendFileSink(std::move(fd), path));
}

void AppendFileSink::Write(std::string_view data) {
  while (fd_ && !data.empty()) {
    ssize_t n = write(fd_.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (!failing_) LogWarn("write {}: {}; output is lost until writes succeed again", Quote(path_), ErrnoText(errno));
      failing_ = true;
      return;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  failing_ = false;
}

void JsonLogSink::Write(std::string_view data) { Report(log_->Write(stream_, data)); }

void JsonLogSink::Finish() { Report(log_->Flush(stream_)); }

void JsonLogSink::Report(const absl::Status& status) {
  if (status.ok()) {
    failing_ = false;
  } else if (!failing_) {
    LogWarn("json-file log {} ({}): {}", Quote(log_->path()), LogStreamName(stream_), status.message());
    failing_ = true;
  }
}

}  // namespace liman::shim
