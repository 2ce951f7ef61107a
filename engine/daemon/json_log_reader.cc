#include "engine/daemon/json_log_reader.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <vector>

#include "absl/strings/numbers.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace liman::engine {

namespace {

std::optional<LogEntry> ParseEntry(std::string_view line) {
  nlohmann::json parsed = nlohmann::json::parse(line, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
  LogEntry entry;
  entry.stderr_stream = parsed.value("stream", "") == "stderr";
  entry.log = parsed.value("log", "");
  std::string time = parsed.value("time", "");
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, time, &entry.time, &error)) entry.time = absl::UnixEpoch();
  return entry;
}

// Reads whole lines from one open log file, keeping a partial last line for later.
class LineReader {
 public:
  explicit LineReader(UniqueFd fd) : fd_(std::move(fd)) {}
  int fd() const { return fd_.get(); }
  // Calls `line` for every complete line readable now; false when `line` asked to stop.
  absl::StatusOr<bool> Drain(const std::function<bool(std::string_view)>& line) {
    char buffer[65536];
    while (true) {
      ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("read container log");
      if (n == 0) return true;
      pending_.append(buffer, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t newline; (newline = pending_.find('\n', start)) != std::string::npos; start = newline + 1)
        if (!line(std::string_view(pending_).substr(start, newline - start))) return false;
      pending_.erase(0, start);
    }
  }

 private:
  UniqueFd fd_;
  std::string pending_;
};

}  // namespace

absl::Status ReadJsonLog(const std::string& path, const LogReadOptions& options,
                         const std::function<bool(const LogEntry&)>& emit, const std::function<bool()>& finished) {
  bool stopped = false;
  auto wanted = [&](const LogEntry& entry) {
    if (entry.stderr_stream ? !options.stderr_stream : !options.stdout_stream) return false;
    if (options.since && entry.time < *options.since) return false;
    if (options.until && entry.time > *options.until) return false;
    return true;
  };
  // The tail is kept here while the existing files are read, then emitted.
  std::deque<LogEntry> tail;
  auto take = [&](std::string_view line) {
    std::optional<LogEntry> entry = ParseEntry(line);
    if (!entry || !wanted(*entry)) return true;
    if (options.tail >= 0) {
      tail.push_back(std::move(*entry));
      if (static_cast<int64_t>(tail.size()) > options.tail) tail.pop_front();
      return true;
    }
    if (!emit(*entry)) stopped = true;
    return !stopped;
  };

  // Rotated files, oldest first.
  if (!options.from_end) {
    for (int index = options.max_files - 1; index >= 1 && !stopped; --index) {
      std::string rotated = fmt::format("{}.{}", path, index);
      int fd = ::open(rotated.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      LineReader reader{UniqueFd(fd)};
      LIMAN_RETURN_IF_ERROR(reader.Drain(take).status());
    }
  }

  UniqueFd inotify(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (options.follow && !inotify.valid()) return ErrnoError("inotify_init1");
  std::optional<LineReader> live;
  auto open_live = [&]() -> absl::Status {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return absl::OkStatus();  // not started yet: the shim creates it
      return ErrnoError(fmt::format("open {}", Quote(path)));
    }
    live.emplace(UniqueFd(fd));
    if (options.follow)
      ::inotify_add_watch(inotify.get(), path.c_str(), IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF | IN_ATTRIB);
    return absl::OkStatus();
  };
  LIMAN_RETURN_IF_ERROR(open_live());
  if (live && options.from_end) ::lseek(live->fd(), 0, SEEK_END);
  if (live && !stopped) LIMAN_RETURN_IF_ERROR(live->Drain(take).status());
  for (LogEntry& entry : tail) {
    if (stopped) break;
    if (!emit(entry)) stopped = true;
  }
  tail.clear();
  if (!options.follow || stopped) return absl::OkStatus();

  // Follow: tail no longer applies to what comes next.
  auto take_new = [&](std::string_view line) {
    std::optional<LogEntry> entry = ParseEntry(line);
    if (!entry || !wanted(*entry)) return true;
    if (options.until && entry->time > *options.until) return true;
    if (!emit(*entry)) stopped = true;
    return !stopped;
  };
  while (!stopped) {
    bool last_round = finished();
    if (!live) LIMAN_RETURN_IF_ERROR(open_live());
    if (live) {
      LIMAN_ASSIGN_OR_RETURN(bool more, live->Drain(take_new));
      if (!more) break;
      // Rotated away (or replaced): finish the old file, continue with the new one.
      struct stat by_path, by_fd;
      if (::fstat(live->fd(), &by_fd) == 0 &&
          (::stat(path.c_str(), &by_path) != 0 || by_path.st_ino != by_fd.st_ino)) {
        live.reset();
        continue;
      }
    }
    if (last_round) break;
    struct pollfd wait{inotify.get(), POLLIN, 0};
    // The timeout bounds how late `finished` is noticed (and a file that appears later).
    if (::poll(&wait, 1, 100) > 0) {
      char events[4096];
      while (::read(inotify.get(), events, sizeof events) > 0) {
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> ParseLogTime(const std::string& text, absl::Time now) {
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds)) return absl::FromUnixNanos(static_cast<int64_t>(seconds * 1e9));
  absl::Time time;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &time, &error)) return time;
  absl::Duration ago;
  if (absl::ParseDuration(text, &ago)) return now - ago;
  return absl::InvalidArgumentError(fmt::format("invalid value for \"since\"/\"until\": {}", Quote(text)));
}

std::string FormatLogTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E9SZ", time, absl::UTCTimeZone());
}

}  // namespace liman::engine
