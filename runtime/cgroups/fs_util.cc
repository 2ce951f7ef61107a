#include "runtime/cgroups/fs_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <set>
#include <thread>

#include "absl/strings/cord.h"
#include "common/file_util.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "fmt/format.h"

namespace liman::cgroups {
namespace {

KnobWriteObserver& Observer() {
  static KnobWriteObserver observer;
  return observer;
}

}  // namespace

absl::Status WriteKnob(const std::string& dir, std::string_view file, std::string_view value) {
  std::string path = JoinPath(dir, file);
  if (Observer()) Observer()(path, value);
  auto fail = [&](int err) { return ErrnoError(err, fmt::format("write {} to {}", Quote(value), Quote(path))); };
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd) return fail(errno);
  ssize_t n;
  do {
    n = write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail(errno);
  if (static_cast<size_t>(n) != value.size())
    return absl::DataLossError(fmt::format("write {} to {}: short write", Quote(value), Quote(path)));
  return absl::OkStatus();
}

absl::StatusOr<CgroupFile> OpenKnobForWrite(const std::string& dir, std::string_view file) {
  CgroupFile opened{JoinPath(dir, file), UniqueFd()};
  opened.fd.reset(open(opened.path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!opened.fd) return ErrnoError(fmt::format("open {} for writing", Quote(opened.path)));
  return opened;
}

absl::StatusOr<UniqueFd> OpenCgroupDir(const std::string& dir) {
  UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return ErrnoError(fmt::format("open {}", Quote(dir)));
  return fd;
}

absl::Status WriteKnobV2(const std::string& dir, std::string_view file, std::string_view value) {
  absl::Status status = WriteKnob(dir, file, value);
  if (status.ok() || !IsErrno(status, ENOENT)) return status;
  std::string_view controller = file.substr(0, file.find('.'));
  if (controller == "cgroup") return status;
  auto controllers = ReadKnob(dir, "cgroup.controllers");
  if (!controllers.ok()) return status;
  for (std::string_view available : SplitFields(*controllers))
    if (available == controller) return status;  // enabled: the knob itself is what is missing
  absl::Status explained(
      status.code(), fmt::format("{} (the {} controller is not enabled for {}; its cgroup.controllers is {})",
                                 std::string(status.message()), Quote(controller), Quote(dir), Quote(*controllers)));
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) { explained.SetPayload(url, payload); });
  return explained;
}

absl::StatusOr<std::string> ReadKnob(const std::string& dir, std::string_view file) {
  LIMAN_ASSIGN_OR_RETURN(std::string text, ReadFile(JoinPath(dir, file)));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

absl::StatusOr<uint64_t> ReadKnobUint(const std::string& dir, std::string_view file) {
  LIMAN_ASSIGN_OR_RETURN(std::string text, ReadKnob(dir, file));
  return ParseUint(text, JoinPath(dir, file));
}

bool KnobExists(const std::string& dir, std::string_view file) {
  struct stat st;
  return stat(JoinPath(dir, file).c_str(), &st) == 0;
}

absl::StatusOr<uint64_t> ParseUint(std::string_view text, std::string_view where) {
  if (text == "max") return kUnlimited;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) return kUnlimited;  // saturate like runc's parser
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    return absl::InvalidArgumentError(fmt::format("parse {}: invalid number {}", Quote(where), Quote(text)));
  return value;
}

absl::StatusOr<std::map<std::string, uint64_t>> ParseKeyValues(std::string_view text, std::string_view where) {
  std::map<std::string, uint64_t> values;
  for (std::string_view line : SplitLines(text)) {
    std::vector<std::string_view> fields = SplitFields(line);
    if (fields.size() != 2)
      return absl::InvalidArgumentError(fmt::format("parse {}: malformed line {}", Quote(where), Quote(line)));
    LIMAN_ASSIGN_OR_RETURN(uint64_t value, ParseUint(fields[1], where));
    values[std::string(fields[0])] = value;
  }
  return values;
}

absl::StatusOr<std::map<std::string, uint64_t>> ReadKeyValues(const std::string& dir, std::string_view file) {
  std::string path = JoinPath(dir, file);
  LIMAN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseKeyValues(text, path);
}

absl::StatusOr<std::vector<pid_t>> ParseProcs(std::string_view text, std::string_view where) {
  std::vector<pid_t> pids;
  for (std::string_view line : SplitLines(text)) {
    pid_t pid = 0;
    auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), pid);
    if (ec != std::errc() || end != line.data() + line.size() || pid <= 0)
      return absl::InvalidArgumentError(fmt::format("parse {}: invalid pid {}", Quote(where), Quote(line)));
    pids.push_back(pid);
  }
  return pids;
}

namespace {
absl::Status CollectProcs(const std::string& dir, std::set<pid_t>& out) {
  std::string path = JoinPath(dir, "cgroup.procs");
  auto text = ReadFile(path);
  // A child cgroup removed while we walk is not an error: its processes are gone or moved.
  if (!text.ok()) return IsErrno(text.status(), ENOENT) ? absl::OkStatus() : text.status();
  LIMAN_ASSIGN_OR_RETURN(std::vector<pid_t> pids, ParseProcs(*text, path));
  out.insert(pids.begin(), pids.end());
  auto children = ListSubdirectories(dir);
  if (!children.ok()) return IsErrno(children.status(), ENOENT) ? absl::OkStatus() : children.status();
  for (const std::string& name : *children) LIMAN_RETURN_IF_ERROR(CollectProcs(JoinPath(dir, name), out));
  return absl::OkStatus();
}
}  // namespace

absl::StatusOr<std::vector<pid_t>> ReadProcsRecursive(const std::string& dir) {
  std::set<pid_t> pids;
  // The top directory must exist: a missing container cgroup is an error, not an empty set.
  if (!KnobExists(dir, "cgroup.procs"))
    return ErrnoError(ENOENT, fmt::format("open {}", Quote(JoinPath(dir, "cgroup.procs"))));
  LIMAN_RETURN_IF_ERROR(CollectProcs(dir, pids));
  return std::vector<pid_t>(pids.begin(), pids.end());
}

absl::StatusOr<std::vector<std::string>> MakeCgroupDir(const std::string& mountpoint, const std::string& dir) {
  if (dir.size() <= mountpoint.size() || dir.compare(0, mountpoint.size(), mountpoint) != 0 ||
      dir[mountpoint.size()] != '/')
    return absl::InvalidArgumentError(fmt::format("cgroup {} is not below {}", Quote(dir), Quote(mountpoint)));
  std::vector<std::string> created;
  for (size_t pos = mountpoint.size() + 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string current = dir.substr(0, pos);
    if (mkdir(current.c_str(), 0755) == 0) {
      created.push_back(current);
    } else if (errno != EEXIST) {
      return ErrnoError(fmt::format("mkdir {}", Quote(current)));
    }
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return ErrnoError(fmt::format("stat {}", Quote(dir)));
  if (!S_ISDIR(st.st_mode)) return ErrnoError(ENOTDIR, fmt::format("mkdir {}", Quote(dir)));
  return created;
}

namespace {
absl::Status RmdirRetrying(const std::string& dir) {
  for (int waited = 0;; waited += 10) {
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
    if (errno != EBUSY || waited >= 1000) return ErrnoError(fmt::format("rmdir {}", Quote(dir)));
    SleepMillis(10);
  }
}

// A cgroup's knob files go with its directory; only child cgroups (EBUSY) need a walk.
absl::Status RemoveTree(const std::string& dir) {
  if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
  if (errno != EBUSY && errno != ENOTEMPTY) return ErrnoError(fmt::format("rmdir {}", Quote(dir)));
  auto children = ListSubdirectories(dir);
  if (!children.ok()) return IsErrno(children.status(), ENOENT) ? absl::OkStatus() : children.status();
  for (const std::string& name : *children) LIMAN_RETURN_IF_ERROR(RemoveTree(JoinPath(dir, name)));
  return RmdirRetrying(dir);
}
}  // namespace

absl::Status RemoveCgroupDir(const std::string& dir, const std::vector<std::string>& created) {
  LIMAN_RETURN_IF_ERROR(RemoveTree(dir));
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    // Only proper ancestors of `dir`: the leaf is gone already, anything else is not ours.
    if (it->size() >= dir.size() || dir.compare(0, it->size(), *it) != 0 || dir[it->size()] != '/') continue;
    if (rmdir(it->c_str()) == 0 || errno == ENOENT) continue;
    if (errno == EBUSY || errno == ENOTEMPTY || errno == EEXIST) break;  // shared with another cgroup
    return ErrnoError(fmt::format("rmdir {}", Quote(*it)));
  }
  return absl::OkStatus();
}

bool IsErrno(const absl::Status& status, int err) {
  std::optional<int> e = StatusErrno(status);
  return e && *e == err;
}

void SleepMillis(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

void SetKnobWriteObserverForTesting(KnobWriteObserver observer) { Observer() = std::move(observer); }

}  // namespace liman::cgroups
