#include "runtime/state.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"
#include "runtime/cgroups/manager.h"

namespace liman::runtime {
using nlohmann::json;

const char* StatusName(Status status) {
  switch (status) {
    case Status::kCreating: return "creating";
    case Status::kCreated: return "created";
    case Status::kRunning: return "running";
    case Status::kPaused: return "paused";
    case Status::kStopped: return "stopped";
  }
  return "unknown";
}

std::string StateStore::ContainerDir(const std::string& id) const { return JoinPath(root_, id); }
std::string StateStore::SeccompCacheDir() const { return JoinPath(root_, "@seccomp"); }
std::string StateStore::ExecFifoPath(const std::string& id) const {
  return JoinPath(ContainerDir(id), "exec.fifo");
}

absl::Status StateStore::ValidateId(const std::string& id) {
  if (id.empty() || id == "." || id == ".." || id.size() > 1024)
    return absl::InvalidArgumentError(fmt::format("invalid container id {}", Quote(id)));
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.' || c == '+';
    if (!ok) return absl::InvalidArgumentError(fmt::format("invalid container id {}: only [A-Za-z0-9_+.-] allowed", Quote(id)));
  }
  return absl::OkStatus();
}

absl::Status StateStore::Reserve(const std::string& id) const {
  LIMAN_RETURN_IF_ERROR(ValidateId(id));
  LIMAN_RETURN_IF_ERROR(MkdirAll(root_, 0711));
  std::string dir = ContainerDir(id);
  if (mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) return absl::AlreadyExistsError(fmt::format("container with id {} already exists", Quote(id)));
    return ErrnoError(fmt::format("mkdir {}", Quote(dir)));
  }
  return absl::OkStatus();
}

absl::Status StateStore::Save(const ContainerState& state) const {
  json document = {
      {"id", state.id},
      {"init_process_pid", state.init_pid},
      {"init_process_start", state.init_start_time},
      {"bundle", state.bundle},
      {"rootfs", state.rootfs},
      {"created", state.created},
      {"owner", state.owner},
      {"config", oci::ToJson(state.config)},
      {"cgroup", state.cgroup},
      {"use_exec_fifo", state.use_exec_fifo},
  };
  // Replaced atomically but not fsync'ed (it cost about 2.5 ms a `run` on ext4): the state describes
  // processes, and no process outlives a crash of the machine that would lose an unsynced file.
  return ReplaceFile(JoinPath(ContainerDir(state.id), "state.json"), document.dump(), 0600);
}

absl::StatusOr<ContainerState> StateStore::Load(const std::string& id) const {
  LIMAN_RETURN_IF_ERROR(ValidateId(id));
  std::string path = JoinPath(ContainerDir(id), "state.json");
  auto text = ReadFile(path);
  if (!text.ok()) {
    if (StatusErrno(text.status()) == ENOENT)
      return absl::NotFoundError(fmt::format("container {} does not exist", Quote(id)));
    return text.status();
  }
  json document = json::parse(*text, nullptr, false);
  if (document.is_discarded() || !document.is_object())
    return absl::DataLossError(fmt::format("parse {}: invalid JSON", Quote(path)));
  ContainerState state;
  try {
    state.id = document.at("id").get<std::string>();
    state.init_pid = document.at("init_process_pid").get<pid_t>();
    state.init_start_time = document.at("init_process_start").get<uint64_t>();
    state.bundle = document.at("bundle").get<std::string>();
    state.rootfs = document.at("rootfs").get<std::string>();
    state.created = document.at("created").get<std::string>();
    state.owner = document.value("owner", "");
    state.cgroup = document.value("cgroup", json());
    state.use_exec_fifo = document.value("use_exec_fifo", true);
  } catch (const json::exception& e) {
    return absl::DataLossError(fmt::format("parse {}: {}", Quote(path), e.what()));
  }
  auto config = oci::SpecFromJson(document["config"]);
  if (!config.ok()) return Annotate(config.status(), Quote(path));
  state.config = std::move(*config);
  return state;
}

absl::Status StateStore::Remove(const std::string& id) const {
  LIMAN_RETURN_IF_ERROR(ValidateId(id));
  return RemoveAll(ContainerDir(id));
}

absl::StatusOr<std::vector<std::string>> StateStore::List() const {
  if (!PathExists(root_)) return std::vector<std::string>{};
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(root_));
  std::vector<std::string> ids;
  for (std::string& name : names)
    if (PathExists(JoinPath(JoinPath(root_, name), "state.json"))) ids.push_back(std::move(name));
  std::sort(ids.begin(), ids.end());
  return ids;
}

absl::StatusOr<uint64_t> ProcessStartTime(pid_t pid) {
  LIMAN_ASSIGN_OR_RETURN(std::string stat, ReadFile(fmt::format("/proc/{}/stat", pid)));
  // The command name (field 2) may hold spaces and parentheses: parse from the last ')'.
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return absl::DataLossError(fmt::format("parse /proc/{}/stat", pid));
  const char* cursor = stat.c_str() + close + 2;  // field 3, the state
  char state = *cursor;
  if (state == 'Z' || state == 'X') return absl::NotFoundError(fmt::format("process {} is a zombie", pid));
  // Field 22 (starttime) is the 20th field after the state.
  for (int field = 3; field < 22 && *cursor; ++field) {
    cursor = strchr(cursor, ' ');
    if (cursor == nullptr) return absl::DataLossError(fmt::format("parse /proc/{}/stat", pid));
    ++cursor;
  }
  return strtoull(cursor, nullptr, 10);
}

bool ProcessAlive(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  auto now = ProcessStartTime(pid);
  return now.ok() && *now == start_time;
}

Status CurrentStatus(const StateStore& store, const ContainerState& state) {
  if (!ProcessAlive(state.init_pid, state.init_start_time)) return Status::kStopped;
  if (state.use_exec_fifo && PathExists(store.ExecFifoPath(state.id))) return Status::kCreated;
  if (!state.cgroup.is_null()) {
    auto manager = cgroups::LoadManager(state.cgroup);
    if (manager.ok()) {
      auto freezer = (*manager)->GetFreezerState();
      if (freezer.ok() && *freezer != cgroups::FreezerState::kThawed) return Status::kPaused;
    }
  }
  return Status::kRunning;
}

json OciState(const ContainerState& state, Status status) {
  json document = {
      {"ociVersion", "1.0.2"},
      {"id", state.id},
      {"status", StatusName(status)},
      {"pid", status == Status::kStopped ? 0 : state.init_pid},
      {"bundle", state.bundle},
      {"rootfs", state.rootfs},
      {"created", state.created},
      {"owner", state.owner},
  };
  document["annotations"] = state.config.annotations.empty() ? json::object() : json(state.config.annotations);
  return document;
}

std::string Rfc3339Now() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc;
  gmtime_r(&ts.tv_sec, &utc);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
  return buf;
}

}  // namespace liman::runtime
