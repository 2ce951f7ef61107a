#include "ctl/liman/attach.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "common/file_util.h"
#include "common/pipe.h"
#include "common/unix_socket.h"
#include "common/status.h"
#include "common/terminal.h"
#include "fmt/format.h"

namespace liman::cli {

namespace {

// SIGWINCH wakes the output loop through a pipe (the handler may only write(2)).
int g_winch_write_fd = -1;
void OnWinch(int) {
  int saved = errno;
  if (g_winch_write_fd >= 0) (void)!write(g_winch_write_fd, "w", 1);
  errno = saved;
}

// What the stdin thread shares with us: once we are done it must not touch the socket.
struct StdinShared {
  std::mutex mu;
  int socket_fd = -1;
};

void CopyStdin(std::shared_ptr<StdinShared> shared) {
  char buffer[32768];
  while (true) {
    ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard lock(shared->mu);
    if (shared->socket_fd < 0) return;
    if (n <= 0) {
      // EOF: half-close, so the daemon closes the container's stdin and output keeps coming.
      ::shutdown(shared->socket_fd, SHUT_WR);
      return;
    }
    if (!WriteFull(shared->socket_fd, std::string_view(buffer, static_cast<size_t>(n)))) return;
  }
}

}  // namespace

bool RefuseTtyWithoutTerminal(bool tty, bool interactive) {
  if (!tty || !interactive || isatty(STDIN_FILENO)) return false;
  fmt::print(stderr, "the input device is not a TTY\n");
  return true;
}

bool WriteFull(int fd, std::string_view data) { return fd <= 2 ? WriteAll(fd, data) : SendAll(fd, data); }

std::function<void(unsigned, unsigned)> ResizeBy(EngineClient& client, const std::string& path) {
  return [&client, path](unsigned width, unsigned height) {
    // A failed resize only leaves the old size: nothing to stop the session for.
    (void)client.Call("POST", fmt::format("{}?h={}&w={}", path, height, width));
  };
}

void StreamDemuxer::Feed(std::string_view data) {
  pending_.append(data);
  size_t at = 0;
  while (pending_.size() - at >= 8) {
    const auto* header = reinterpret_cast<const unsigned char*>(pending_.data() + at);
    uint32_t size = (uint32_t{header[4]} << 24) | (uint32_t{header[5]} << 16) | (uint32_t{header[6]} << 8) | header[7];
    if (pending_.size() - at - 8 < size) break;
    int stream = header[0] == 1 || header[0] == 0 ? 1 : 2;
    sink_(stream, std::string_view(pending_.data() + at + 8, size));
    at += 8 + size;
  }
  pending_.erase(0, at);
}

absl::Status PumpAttached(EngineClient::Hijacked& connection, const AttachOptions& options) {
  std::unique_ptr<RawTerminal> raw;
  if (options.tty && options.send_stdin) {
    LIMAN_ASSIGN_OR_RETURN(raw, RawTerminal::Enter());
  }

  // Terminal size: now, and on every SIGWINCH.
  std::optional<Pipe> winch;
  struct sigaction old_action {};
  if (options.tty && options.resize) {
    LIMAN_ASSIGN_OR_RETURN(Pipe pipe, MakePipe("SIGWINCH wakeup"));
    for (int fd : {pipe.read.get(), pipe.write.get()}) fcntl(fd, F_SETFL, O_NONBLOCK);
    winch.emplace(std::move(pipe));
    g_winch_write_fd = winch->write.get();
    struct sigaction action {};
    action.sa_handler = OnWinch;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGWINCH, &action, &old_action);
    if (auto size = RawTerminal::Size()) options.resize(size->first, size->second);
  }

  auto shared = std::make_shared<StdinShared>();
  shared->socket_fd = connection.fd.get();
  if (options.send_stdin) std::thread(CopyStdin, shared).detach();

  StreamDemuxer demuxer([](int stream, std::string_view data) { WriteFull(stream, data); });
  auto deliver = [&](std::string_view data) {
    if (options.tty) WriteFull(STDOUT_FILENO, data);
    else demuxer.Feed(data);
  };
  deliver(connection.buffered);
  absl::Status result = absl::OkStatus();
  char buffer[65536];
  while (true) {
    struct pollfd fds[2] = {{connection.fd.get(), POLLIN, 0}, {winch ? winch->read.get() : -1, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      result = ErrnoError("poll the attached stream");
      break;
    }
    if (fds[1].revents & POLLIN) {
      while (read(winch->read.get(), buffer, sizeof buffer) > 0) {
      }
      if (auto size = RawTerminal::Size()) options.resize(size->first, size->second);
    }
    if (fds[0].revents == 0) continue;
    ssize_t n = read(connection.fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ECONNRESET) break;
    if (n < 0) {
      result = ErrnoError("read the attached stream");
      break;
    }
    if (n == 0) break;
    deliver(std::string_view(buffer, static_cast<size_t>(n)));
  }
  {
    std::lock_guard lock(shared->mu);
    shared->socket_fd = -1;
  }
  if (winch) {
    sigaction(SIGWINCH, &old_action, nullptr);
    g_winch_write_fd = -1;
  }
  return result;
}

}  // namespace liman::cli
