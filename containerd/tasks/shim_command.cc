#include "containerd/tasks/shim_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "common/file_util.h"
#include "common/pipe.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "fmt/format.h"
#include "shim/reaper.h"
#include "shim/spawn.h"

extern char** environ;

namespace liman::containerd::tasks {
namespace {

// A shim has no business printing more than this; past it output is dropped (still drained).
constexpr size_t kMaxOutput = 1 << 20;

struct CommandResult {
  int wait_status = 0;
  std::string out;
  std::string err;
};

std::vector<std::string> ShimEnvironment(const ShimInvocation& shim) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view var = *entry;
    if (var.starts_with("TTRPC_ADDRESS=") || var.starts_with("GOMAXPROCS=")) continue;
    env.emplace_back(var);
  }
  env.push_back("GOMAXPROCS=2");
  env.push_back("TTRPC_ADDRESS=" + shim.ttrpc_address);
  return env;
}

// The bytes as a readable descriptor at offset 0 (memfd_create(2)): unlike a pipe, any size
// fits without a writer thread.
absl::StatusOr<UniqueFd> InputFd(std::string_view data) {
  UniqueFd fd(memfd_create("shim-stdin", MFD_CLOEXEC));
  if (!fd) return ErrnoError("memfd_create");
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write memfd");
    }
    done += static_cast<size_t>(n);
  }
  if (lseek(fd.get(), 0, SEEK_SET) != 0) return ErrnoError("lseek memfd");
  return fd;
}

// Reads what is available; false at end of file (or an error).
bool ReadAvailable(int fd, std::string* into) {
  char buffer[8192];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n > 0) {
      if (into->size() < kMaxOutput) into->append(buffer, std::min<size_t>(n, kMaxOutput - into->size()));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;
  }
}

// Runs the program to completion, collecting stdout and stderr. Done when the process has
// exited: a daemon it forked (the shim server) may keep the pipes open for ever, so end of file
// is not waited for; what the process wrote before exiting is already in the pipes.
absl::StatusOr<CommandResult> RunToCompletion(const shim::SpawnOptions& base, std::string_view input,
                                              absl::Duration timeout) {
  const std::string program = Quote(base.path);
  LIMAN_ASSIGN_OR_RETURN(UniqueFd stdin_fd, InputFd(input));
  LIMAN_ASSIGN_OR_RETURN(Pipe out, MakePipe("shim stdout"));
  LIMAN_ASSIGN_OR_RETURN(Pipe err, MakePipe("shim stderr"));
  for (int fd : {out.read.get(), err.read.get()}) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  shim::SpawnOptions options = base;
  options.stdin_fd = stdin_fd.get();
  options.stdout_fd = out.write.get();
  options.stderr_fd = err.write.get();
  LIMAN_ASSIGN_OR_RETURN(pid_t pid, shim::Spawn(options));
  out.write.reset();
  err.write.reset();
  stdin_fd.reset();
  // pidfd_open(2) (Linux 5.3): the exit becomes one more thing to poll, and the pid cannot be
  // recycled under us before we reap it.
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) {
    int saved = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return ErrnoError(saved, fmt::format("pidfd_open {} (pid {})", program, pid));
  }
  CommandResult result;
  absl::Time deadline = absl::Now() + timeout;
  bool out_open = true, err_open = true, exited = false;
  while (!exited) {
    pollfd fds[3] = {{pidfd.get(), POLLIN, 0}, {out_open ? out.read.get() : -1, POLLIN, 0},
                     {err_open ? err.read.get() : -1, POLLIN, 0}};
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      std::string said(absl::StripAsciiWhitespace(result.err.empty() ? result.out : result.err));
      return absl::DeadlineExceededError(fmt::format("{} did not finish within {}{}{}", program,
                                                     absl::FormatDuration(timeout), said.empty() ? "" : ": ", said));
    }
    int ready = poll(fds, 3, static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 60000)));
    if (ready < 0 && errno != EINTR) {
      int saved = errno;
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return ErrnoError(saved, "poll");
    }
    if (out_open && fds[1].revents != 0) out_open = ReadAvailable(out.read.get(), &result.out);
    if (err_open && fds[2].revents != 0) err_open = ReadAvailable(err.read.get(), &result.err);
    exited = fds[0].revents != 0;
  }
  if (out_open) ReadAvailable(out.read.get(), &result.out);
  if (err_open) ReadAvailable(err.read.get(), &result.err);
  while (waitpid(pid, &result.wait_status, 0) < 0) {
    if (errno != EINTR) return ErrnoError(fmt::format("wait for {}", program));
  }
  return result;
}

shim::SpawnOptions SpawnFor(const ShimInvocation& shim, std::vector<std::string> action) {
  shim::SpawnOptions options;
  options.path = shim.binary;
  options.argv = {shim.binary,   "-namespace",     shim.namespace_name, "-address", shim.address,
                  "-publish-binary", shim.publish_binary, "-id", shim.id};
  for (std::string& arg : action) options.argv.push_back(std::move(arg));
  options.env = ShimEnvironment(shim);
  options.cwd = shim.bundle;
  // Its own session, like containerd's Setpgid: a signal to the daemon's process group (a ^C in
  // its terminal) must not reach the shims.
  options.new_session = true;
  return options;
}

absl::Status FailureOf(const ShimInvocation& shim, std::string_view action, const CommandResult& result) {
  std::string said(absl::StripAsciiWhitespace(result.err.empty() ? result.out : result.err));
  std::string how = WIFEXITED(result.wait_status)
                        ? fmt::format("exit status {}", WEXITSTATUS(result.wait_status))
                        : fmt::format("signal: {}", shim::ExitStatusCode(result.wait_status) - 128);
  return absl::InternalError(fmt::format("{} {}: {}{}{}", Quote(shim.binary), action, how,
                                         said.empty() ? "" : ": ", said));
}

}  // namespace

absl::StatusOr<std::string> RunShimStart(const ShimInvocation& shim, std::string_view options, absl::Duration timeout) {
  std::vector<std::string> action;
  if (shim.debug) action.push_back("-debug");
  action.push_back("start");
  LIMAN_ASSIGN_OR_RETURN(CommandResult result, RunToCompletion(SpawnFor(shim, std::move(action)), options, timeout));
  if (result.wait_status != 0) return FailureOf(shim, "start", result);
  std::string address(absl::StripAsciiWhitespace(result.out));
  if (address.empty())
    return absl::InternalError(fmt::format("{} start printed no address{}{}", Quote(shim.binary),
                                           result.err.empty() ? "" : ": ",
                                           std::string(absl::StripAsciiWhitespace(result.err))));
  return address;
}

absl::StatusOr<::containerd::task::v2::DeleteResponse> RunShimDelete(const ShimInvocation& shim,
                                                                      absl::Duration timeout) {
  LIMAN_ASSIGN_OR_RETURN(CommandResult result,
                         RunToCompletion(SpawnFor(shim, {"-bundle", shim.bundle, "delete"}), "", timeout));
  if (result.wait_status != 0) return FailureOf(shim, "delete", result);
  ::containerd::task::v2::DeleteResponse response;
  if (!response.ParseFromString(result.out))
    return absl::InternalError(fmt::format("{} delete: cannot parse its containerd.task.v2.DeleteResponse",
                                           Quote(shim.binary)));
  return response;
}

}  // namespace liman::containerd::tasks
