#include "shim/runtime_cli.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "common/ascii.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/pipe.h"
#include "common/read_only_view.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "shim/reaper.h"
#include "shim/spawn.h"

namespace liman::shim {
namespace {

using json = nlohmann::json;

absl::StatusOr<Pipe> MakeCapturePipe(std::string_view what) {
  LIMAN_ASSIGN_OR_RETURN(Pipe pipe, MakePipe(fmt::format("runtime {}", what)));
  // Only our end is non-blocking: the runtime writes to a normal blocking pipe.
  if (fcntl(pipe.read.get(), F_SETFL, O_NONBLOCK) != 0) return ErrnoError(fmt::format("fcntl pipe for runtime {}", what));
  return pipe;
}

// The runtime's stdin with `data` in it: a memfd holds any amount without a writer that must
// keep pace with the reader (memfd_create(2)).
absl::StatusOr<UniqueFd> StdinWith(std::string_view data) {
  UniqueFd fd(memfd_create("liman-runtime-stdin", MFD_CLOEXEC));
  if (!fd) return ErrnoError("memfd_create");
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("write runtime stdin");
    done += static_cast<size_t>(n);
  }
  if (lseek(fd.get(), 0, SEEK_SET) != 0) return ErrnoError("lseek runtime stdin");
  return fd;
}

// Reads whatever is in the pipe now. False once it reached end-of-file.
bool DrainInto(int fd, std::string& out) {
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0;  // EAGAIN: open but empty for now; 0: end of file
  }
}

struct Output {
  std::string out;
  std::string err;
};

// Collects the runtime's stdout and stderr until it exits. End-of-file alone is not enough: a
// hook or a process the runtime started may inherit the pipes and keep them open long after the
// runtime is gone, so a pidfd tells when the runtime itself has exited (pidfd_open(2)), and the
// pipes are then drained of what it wrote. Without pidfds (Linux < 5.3) only end-of-file ends it.
Output Collect(pid_t pid, UniqueFd out_fd, UniqueFd err_fd) {
  Output output;
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  std::array<pollfd, 3> fds = {pollfd{out_fd.get(), POLLIN, 0}, pollfd{err_fd.get(), POLLIN, 0},
                               pollfd{pidfd.get(), POLLIN, 0}};
  std::array<std::string*, 2> sinks = {&output.out, &output.err};
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    int n = poll(fds.data(), fds.size(), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    bool exited = fds[2].fd >= 0 && fds[2].revents != 0;
    for (size_t i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents == 0 && !exited)) continue;
      if (!DrainInto(fds[i].fd, *sinks[i])) fds[i].fd = -1;
    }
    if (exited) break;
  }
  return output;
}

std::string Trim(std::string_view text) {
  auto not_space = [](char c) { return !std::isspace(static_cast<unsigned char>(c)); };
  auto begin = std::find_if(text.begin(), text.end(), not_space);
  auto end = std::find_if(text.rbegin(), text.rend(), not_space).base();
  return begin < end ? std::string(begin, end) : std::string();
}

// Go's os/exec wording for how the process ended: "exit status 1", "signal: killed".
std::string ExitDescription(int wait_status) {
  if (WIFSIGNALED(wait_status)) {
    std::string name = strsignal(WTERMSIG(wait_status));
    if (!name.empty()) name[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[0])));
    return fmt::format("signal: {}", name);
  }
  return fmt::format("exit status {}", WEXITSTATUS(wait_status));
}

off_t LogSize(const std::string& path) {
  struct stat st;
  if (path.empty() || stat(path.c_str(), &st) != 0) return 0;
  return st.st_size;
}

// The last error the runtime logged after `offset`: runc logs one JSON object per line
// ({"level":"error","msg":…,"time":…}); the file is shared by every call on this bundle and only
// grows, so lines from earlier calls must not explain this one.
std::string LastLoggedError(const std::string& path, off_t offset) {
  if (path.empty()) return "";
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st;
  if (!fd || fstat(fd.get(), &st) != 0) return "";
  if (st.st_size < offset) offset = 0;  // truncated or replaced meanwhile: all of it is new
  std::string text;
  char buf[16384];
  for (;;) {
    ssize_t n = pread(fd.get(), buf, sizeof buf, offset + static_cast<off_t>(text.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  std::string last;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    json entry = json::parse(text.begin() + static_cast<std::ptrdiff_t>(start),
                             text.begin() + static_cast<std::ptrdiff_t>(end), nullptr, /*allow_exceptions=*/false);
    start = end + 1;
    if (!entry.is_object()) continue;
    auto level = entry.find("level");
    auto msg = entry.find("msg");
    if (level == entry.end() || msg == entry.end() || !level->is_string() || !msg->is_string()) continue;
    // logrus.Fatal (runc's own exit path in some versions) logs at "fatal".
    if (*level == "error" || *level == "fatal") last = msg->get<std::string>();
  }
  return last;
}

// containerd turns a few of runc's messages into error codes (pkg/process: "does not exist"
// means the container is gone); the same wording comes from crun and liman-runtime.
absl::StatusCode CodeFor(std::string_view command, const std::string& message) {
  std::string lower = AsciiLower(message);
  if (lower.find("does not exist") != std::string::npos) return absl::StatusCode::kNotFound;
  // For create and exec "not found" is about the program to run (`executable file not found in
  // $PATH`), not about the container.
  if (command != "create" && command != "exec" && lower.find("not found") != std::string::npos)
    return absl::StatusCode::kNotFound;
  if (lower.find("already exists") != std::string::npos) return absl::StatusCode::kAlreadyExists;
  return absl::StatusCode::kUnknown;
}

absl::Status RuntimeFailure(std::string_view command, int wait_status, const std::string& log_path, off_t log_offset,
                            const std::string& stderr_text) {
  std::string message = LastLoggedError(log_path, log_offset);
  if (message.empty()) message = Trim(stderr_text);
  std::string how = ExitDescription(wait_status);
  std::string text = message.empty() ? fmt::format("runtime {} failed: {}", command, how)
                                     : fmt::format("runtime {} failed: {}: {}", command, message, how);
  return absl::Status(CodeFor(command, message), text);
}

// The same file, unchanged since `a` was taken.
bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

}  // namespace

std::vector<std::string> RuntimeCli::GlobalArgs() const {
  std::vector<std::string> args;
  if (!config_.root.empty()) args.insert(args.end(), {"--root", config_.root});
  if (!config_.log_path.empty()) args.insert(args.end(), {"--log", config_.log_path, "--log-format", "json"});
  if (config_.systemd_cgroup) args.push_back("--systemd-cgroup");
  return args;
}

int RuntimeCli::SealedRuntimeView() const {
  // Only liman-runtime is known to take the view for its sealed copy; runc and crun make theirs.
  if (std::string_view(config_.binary).substr(config_.binary.find_last_of('/') + 1) != "liman-runtime") return -1;
  absl::StatusOr<std::string> path = FindProgram(config_.binary);
  struct stat source;
  if (!path.ok() || stat(path->c_str(), &source) != 0) return -1;
  if (sealed_view_ && SameFile(sealed_view_->source, source)) return sealed_view_->fd.get();
  sealed_view_.reset();
  // The overlay's second layer is the runtime's state root, as when the runtime seals itself.
  if (config_.root.empty() || !MkdirAll(config_.root, 0711).ok()) return -1;
  absl::StatusOr<UniqueFd> view = OpenReadOnlyOverlayView(*path, config_.root);
  if (!view.ok()) {
    LogDebug("liman-runtime will seal itself: {}", view.status().message());
    return -1;
  }
  sealed_view_ = SealedView{std::move(*view), source};
  return sealed_view_->fd.get();
}

absl::StatusOr<std::string> RuntimeCli::Run(const Call& call) const {
  const off_t log_offset = LogSize(config_.log_path);

  SpawnOptions spawn;
  spawn.path = config_.binary;
  if (call.command == "create" || call.command == "exec") spawn.exec_fd = SealedRuntimeView();
  spawn.argv.push_back(config_.binary);
  for (std::string& arg : GlobalArgs()) spawn.argv.push_back(std::move(arg));
  spawn.argv.push_back(call.command);
  spawn.argv.insert(spawn.argv.end(), call.args.begin(), call.args.end());

  UniqueFd stdin_file;
  if (!call.stdin_data.empty()) {
    LIMAN_ASSIGN_OR_RETURN(stdin_file, StdinWith(call.stdin_data));
    spawn.stdin_fd = stdin_file.get();
  }
  Pipe out, err;
  if (call.stdio != nullptr) {
    if (!stdin_file) spawn.stdin_fd = call.stdio->stdin_fd;
    spawn.stdout_fd = call.stdio->stdout_fd;
    spawn.stderr_fd = call.stdio->stderr_fd;
  } else {
    LIMAN_ASSIGN_OR_RETURN(out, MakeCapturePipe(call.command));
    LIMAN_ASSIGN_OR_RETURN(err, MakeCapturePipe(call.command));
    spawn.stdout_fd = out.write.get();
    spawn.stderr_fd = err.write.get();
  }

  absl::StatusOr<pid_t> pid = Spawn(spawn);
  if (!pid.ok()) return Annotate(pid.status(), fmt::format("runtime {}", call.command));
  // Our copies of the write ends must go, or the pipes never reach end-of-file.
  out.write.reset();
  err.write.reset();
  stdin_file.reset();

  Output output;
  if (call.stdio == nullptr) output = Collect(*pid, std::move(out.read), std::move(err.read));
  LIMAN_ASSIGN_OR_RETURN(int wait_status, WaitForChild(*pid));
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) return std::move(output.out);
  return RuntimeFailure(call.command, wait_status, config_.log_path, log_offset, output.err);
}

absl::Status RuntimeCli::Create(const std::string& id, const RuntimeCreateOptions& options) {
  Call call{"create", {"--bundle", options.bundle, "--pid-file", options.pid_file}, &options.stdio, {}};
  if (!options.console_socket.empty()) call.args.insert(call.args.end(), {"--console-socket", options.console_socket});
  if (options.no_pivot) call.args.push_back("--no-pivot");
  if (options.no_new_keyring) call.args.push_back("--no-new-keyring");
  call.args.push_back(id);
  return Run(call).status();
}

absl::Status RuntimeCli::Start(const std::string& id) { return Run({"start", {id}, nullptr, {}}).status(); }

absl::Status RuntimeCli::Kill(const std::string& id, int signal, bool all) {
  Call call{"kill", {}, nullptr, {}};
  if (all) call.args.push_back("--all");
  call.args.insert(call.args.end(), {id, std::to_string(signal)});
  absl::Status status = Run(call).status();
  if (status.ok() || status.code() == absl::StatusCode::kNotFound) return status;
  // containerd's checkKillError: signalling a process that already exited is NotFound.
  std::string lower = AsciiLower(std::string(status.message()));
  for (std::string_view gone : {"container not running", "no such process", "process already finished"}) {
    if (lower.find(gone) != std::string::npos)
      return absl::NotFoundError(fmt::format("process already finished: {}", status.message()));
  }
  return status;
}

absl::Status RuntimeCli::Delete(const std::string& id, bool force) {
  Call call{"delete", {}, nullptr, {}};
  if (force) call.args.push_back("--force");
  call.args.push_back(id);
  return Run(call).status();
}

absl::Status RuntimeCli::Pause(const std::string& id) { return Run({"pause", {id}, nullptr, {}}).status(); }

absl::Status RuntimeCli::Resume(const std::string& id) { return Run({"resume", {id}, nullptr, {}}).status(); }

absl::Status RuntimeCli::Update(const std::string& id, std::string_view resources_json) {
  if (resources_json.empty()) return absl::InvalidArgumentError("runtime update: empty resources");
  return Run({"update", {"--resources", "-", id}, nullptr, resources_json}).status();
}

absl::Status RuntimeCli::UpdateFromFile(const std::string& id, const std::string& resources_file) {
  return Run({"update", {"-r", resources_file, id}, nullptr, {}}).status();
}

absl::Status RuntimeCli::Exec(const std::string& id, const RuntimeExecOptions& options) {
  Call call{"exec", {"--process", options.process_file, "--pid-file", options.pid_file, "--detach"}, &options.stdio, {}};
  if (!options.console_socket.empty()) call.args.insert(call.args.end(), {"--console-socket", options.console_socket});
  call.args.push_back(id);
  return Run(call).status();
}

absl::StatusOr<std::vector<pid_t>> RuntimeCli::Ps(const std::string& id) {
  LIMAN_ASSIGN_OR_RETURN(std::string out, Run({"ps", {"--format", "json", id}, nullptr, {}}));
  json pids = json::parse(out, nullptr, /*allow_exceptions=*/false);
  std::vector<pid_t> result;
  if (pids.is_null() && !pids.is_discarded()) return result;  // Go encodes an empty slice as null
  if (!pids.is_array()) return absl::InternalError(fmt::format("runtime ps: not a JSON array: {}", Quote(Trim(out))));
  for (const json& pid : pids) {
    if (!pid.is_number_integer() || pid.get<int64_t>() <= 0)
      return absl::InternalError(fmt::format("runtime ps: not a pid: {}", pid.dump()));
    result.push_back(pid.get<pid_t>());
  }
  return result;
}

absl::StatusOr<std::string> RuntimeCli::Stats(const std::string& id) {
  LIMAN_ASSIGN_OR_RETURN(std::string out, Run({"events", {"--stats", id}, nullptr, {}}));
  std::string line = Trim(out.substr(0, out.find('\n')));
  if (line.empty()) return absl::InternalError("runtime events --stats: no output");
  return line;
}

absl::StatusOr<std::string> RuntimeCli::State(const std::string& id) {
  LIMAN_ASSIGN_OR_RETURN(std::string out, Run({"state", {id}, nullptr, {}}));
  return Trim(out);
}

}  // namespace liman::shim
