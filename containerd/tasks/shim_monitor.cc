#include "containerd/tasks/shim_monitor.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/unix_socket.h"
#include "fmt/format.h"

namespace liman::containerd::tasks {
namespace {

// A log line longer than this is cut: a shim must not grow the daemon's memory without bound.
constexpr size_t kMaxLogLine = 16 * 1024;

std::string SocketPath(std::string_view address) {
  if (address.starts_with("unix://")) address.remove_prefix(7);
  return std::string(address);
}

}  // namespace

absl::StatusOr<UniqueFd> OpenShimLog(const std::string& bundle) {
  std::string path = JoinPath(bundle, "log");
  if (mkfifo(path.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError(fmt::format("mkfifo {}", Quote(path)));
  // O_RDWR on a FIFO is undefined by POSIX but defined on Linux (fifo(7)): it opens without
  // waiting for a writer.
  UniqueFd fd(open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return ErrnoError(fmt::format("open {}", Quote(path)));
  struct stat st;
  if (fstat(fd.get(), &st) != 0 || !S_ISFIFO(st.st_mode))
    return absl::FailedPreconditionError(fmt::format("open {}: not a FIFO", Quote(path)));
  return fd;
}

struct ShimMonitor::Watched {
  UniqueFd connection;
  UniqueFd log;
  std::string label;
  std::string partial_line;
  std::function<void()> on_death;
};

ShimMonitor::ShimMonitor(std::unique_ptr<events::LoopThread> thread) : thread_(std::move(thread)) {}

absl::StatusOr<std::unique_ptr<ShimMonitor>> ShimMonitor::Start() {
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<events::LoopThread> thread, events::LoopThread::Create("shim-monitor"));
  thread->Start();
  return std::unique_ptr<ShimMonitor>(new ShimMonitor(std::move(thread)));
}

ShimMonitor::~ShimMonitor() {
  // Watches go with the loop: remove them on its thread, then stop it.
  thread_->RunSync([this] {
    while (!watched_.empty()) Forget(watched_.begin()->first);
  });
  thread_.reset();
}

absl::StatusOr<ShimMonitor::WatchId> ShimMonitor::Watch(const std::string& address, UniqueFd log, std::string label,
                                                        std::function<void()> on_death) {
  absl::StatusOr<UniqueFd> connection = ConnectUnix(SocketPath(address));
  if (!connection.ok())
    return absl::UnavailableError(fmt::format("watch shim {}: {}", label, connection.status().message()));
  auto watched = std::make_unique<Watched>();
  watched->connection = std::move(*connection);
  watched->log = std::move(log);
  watched->label = std::move(label);
  watched->on_death = std::move(on_death);
  absl::StatusOr<WatchId> result = absl::InternalError("shim monitor stopped");
  thread_->RunSync([&] {
    WatchId id = next_id_++;
    Watched* raw = watched.get();
    EventLoop* loop = thread_->loop();
    absl::Status added = loop->Add(raw->connection.get(), EPOLLIN | EPOLLRDHUP, [this, id, raw](uint32_t) {
      // The shim never writes on this connection: anything readable is its end.
      char byte;
      ssize_t n = recv(raw->connection.get(), &byte, 1, MSG_DONTWAIT | MSG_PEEK);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      if (n > 0) {
        // Unexpected data: drain it and keep watching.
        char sink[4096];
        while (recv(raw->connection.get(), sink, sizeof sink, MSG_DONTWAIT) > 0) {
        }
        return;
      }
      if (raw->log) CopyLog(*raw);  // the shim's last words first
      std::function<void()> on_death = std::move(raw->on_death);
      Forget(id);
      if (on_death) on_death();
    });
    if (!added.ok()) {
      result = added;
      return;
    }
    if (raw->log) {
      added = loop->Add(raw->log.get(), EPOLLIN, [this, raw](uint32_t) { CopyLog(*raw); });
      if (!added.ok()) {
        loop->Remove(raw->connection.get());
        result = added;
        return;
      }
    }
    watched_.emplace(id, std::move(watched));
    result = id;
  });
  return result;
}

void ShimMonitor::Unwatch(WatchId id) {
  thread_->RunSync([this, id] { Forget(id); });
}

void ShimMonitor::Forget(WatchId id) {
  auto it = watched_.find(id);
  if (it == watched_.end()) return;
  Watched& watched = *it->second;
  EventLoop* loop = thread_->loop();
  loop->Remove(watched.connection.get());
  if (watched.log) {
    CopyLog(watched);
    if (!watched.partial_line.empty()) LogInfo("shim {}: {}", watched.label, watched.partial_line);
    loop->Remove(watched.log.get());
  }
  watched_.erase(it);
}

void ShimMonitor::CopyLog(Watched& watched) {
  char buffer[8192];
  while (true) {
    ssize_t n = read(watched.log.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    std::string_view chunk(buffer, static_cast<size_t>(n));
    while (!chunk.empty()) {
      size_t newline = chunk.find('\n');
      std::string_view piece = chunk.substr(0, newline);
      if (watched.partial_line.size() < kMaxLogLine)
        watched.partial_line.append(piece.substr(0, kMaxLogLine - watched.partial_line.size()));
      if (newline == std::string_view::npos) break;
      if (!watched.partial_line.empty()) LogInfo("shim {}: {}", watched.label, watched.partial_line);
      watched.partial_line.clear();
      chunk.remove_prefix(newline + 1);
    }
  }
}

}  // namespace liman::containerd::tasks
