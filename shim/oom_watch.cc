#include "shim/oom_watch.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <charconv>
#include <optional>
#include <string_view>
#include <vector>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/memory_cgroup.h"
#include "common/status.h"
#include "common/text_split.h"
#include "fmt/format.h"

namespace liman::shim {
namespace {

// The counter `key` of a flat-keyed cgroup file ("oom_kill 3\n…").
uint64_t Counter(std::string_view text, std::string_view key) {
  for (std::string_view line : SplitLines(text)) {
    std::vector<std::string_view> kv = SplitView(line, ' ', 2);
    uint64_t value = 0;
    if (kv.size() == 2 && kv[0] == key &&
        std::from_chars(kv[1].data(), kv[1].data() + kv[1].size(), value).ec == std::errc())
      return value;
  }
  return 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<OomWatch>> OomWatch::ForProcess(EventLoop* loop, pid_t pid, Callback on_oom) {
  LIMAN_ASSIGN_OR_RETURN(MemoryCgroup cgroup, FindMemoryCgroup(pid));
  return ForCgroup(loop, cgroup, std::move(on_oom));
}

absl::StatusOr<std::unique_ptr<OomWatch>> OomWatch::ForCgroup(EventLoop* loop, const MemoryCgroup& cgroup,
                                                               Callback on_oom) {
  std::unique_ptr<OomWatch> watch(new OomWatch(loop, cgroup.path, std::move(on_oom)));
  watch->dir_fd_.reset(open(cgroup.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!watch->dir_fd_) return ErrnoError(fmt::format("open {}", Quote(cgroup.path)));
  absl::Status started = cgroup.version == 1   ? watch->StartV1()
                         : cgroup.version == 2 ? watch->StartV2()
                                               : absl::InvalidArgumentError(fmt::format("cgroup version {}", cgroup.version));
  if (!started.ok()) return Annotate(started, fmt::format("watch OOM kills in {}", Quote(cgroup.path)));
  return watch;
}

OomWatch::~OomWatch() { Stop(); }

void OomWatch::Stop() {
  if (notify_fd_) loop_->Remove(notify_fd_.get());
  notify_fd_.reset();
  dir_fd_.reset();
}

void OomWatch::Report() {
  // A copy: the callback may destroy this watch, and with it on_oom_.
  Callback on_oom = on_oom_;
  if (on_oom) on_oom();
}

absl::Status OomWatch::StartV1() {
  UniqueFd event_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!event_fd) return ErrnoError("eventfd");
  UniqueFd control(openat(dir_fd_.get(), "memory.oom_control", O_RDONLY | O_CLOEXEC));
  if (!control) return ErrnoError(fmt::format("open {}", Quote(JoinPath(path_, "memory.oom_control"))));
  // "<event_fd> <fd of memory.oom_control>" registers the eventfd; the kernel keeps its own
  // references, so `control` can be closed right after.
  LIMAN_RETURN_IF_ERROR(WriteFileAt(dir_fd_.get(), "cgroup.event_control",
                                    fmt::format("{} {}", event_fd.get(), control.get())));
  LIMAN_RETURN_IF_ERROR(loop_->Add(event_fd.get(), EPOLLIN, [this](uint32_t) { OnV1Event(); }));
  notify_fd_ = std::move(event_fd);
  return absl::OkStatus();
}

void OomWatch::OnV1Event() {
  uint64_t count = 0;
  if (read(notify_fd_.get(), &count, sizeof count) != static_cast<ssize_t>(sizeof count)) return;  // EAGAIN
  // The group's files disappear with it: looked up through the descriptor of the directory we
  // registered on, a group removed and made again under the same name does not count as alive.
  bool removed = faccessat(dir_fd_.get(), "memory.oom_control", F_OK, 0) != 0;
  if (!removed) return Report();
  // Removal signals once; a count above one means OOMs arrived in the same wake-up, just before
  // the group went (a container killed by the OOM killer is deleted promptly).
  LogDebug("memory cgroup {} removed; OOM watch stops", path_);
  Stop();
  if (count > 1) Report();
}

absl::Status OomWatch::StartV2() {
  UniqueFd inotify(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify) return ErrnoError("inotify_init1");
  std::string events = JoinPath(path_, "memory.events");
  if (inotify_add_watch(inotify.get(), events.c_str(), IN_MODIFY) < 0)
    return ErrnoError(fmt::format("inotify_add_watch {}", Quote(events)));
  // Kills before the watch began are not reported (as with v1, whose eventfd only sees new ones).
  LIMAN_ASSIGN_OR_RETURN(std::string text, ReadFileAt(dir_fd_.get(), "memory.events"));
  oom_kills_ = Counter(text, "oom_kill");
  LIMAN_RETURN_IF_ERROR(loop_->Add(inotify.get(), EPOLLIN, [this](uint32_t) { OnV2Event(); }));
  notify_fd_ = std::move(inotify);
  return absl::OkStatus();
}

void OomWatch::OnV2Event() {
  alignas(inotify_event) char buf[4096];
  bool ignored = false;  // the watch went away with the file (IN_IGNORED)
  for (;;) {
    ssize_t n = read(notify_fd_.get(), buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t offset = 0; offset < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buf + offset);
      if (event->mask & IN_IGNORED) ignored = true;
      offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
  }
  absl::StatusOr<std::string> text = ReadFileAt(dir_fd_.get(), "memory.events");
  bool oom = false;
  if (text.ok()) {
    uint64_t kills = Counter(*text, "oom_kill");
    oom = kills > oom_kills_;
    if (oom) oom_kills_ = kills;
  }
  if (!text.ok() || ignored) {
    LogDebug("memory cgroup {} gone; OOM watch stops", path_);
    Stop();
  }
  if (oom) Report();
}

}  // namespace liman::shim
