#include "runtime/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "common/logging.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "fmt/format.h"

namespace liman::runtime {
namespace {

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

absl::Status RunHook(const oci::Hook& hook, const std::string& state_json) {
  if (hook.timeout && *hook.timeout <= 0)
    return absl::InvalidArgumentError(fmt::format("timeout {} is not positive", *hook.timeout));
  std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  std::vector<std::string> env = hook.env;
  std::vector<char*> argv = CStrings(args);
  std::vector<char*> envp = CStrings(env);
  int stdin_pipe[2];
  if (pipe2(stdin_pipe, O_CLOEXEC) != 0) return ErrnoError("pipe2");
  UniqueFd read_end(stdin_pipe[0]), write_end(stdin_pipe[1]);
  pid_t pid = fork();
  if (pid < 0) return ErrnoError("fork");
  if (pid == 0) {
    dup2(read_end.get(), STDIN_FILENO);
    execve(hook.path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  read_end.reset();
  // The hook may exit without reading its stdin: a broken pipe is not its failure.
  signal(SIGPIPE, SIG_IGN);
  size_t done = 0;
  while (done < state_json.size()) {
    ssize_t n = write(write_end.get(), state_json.data() + done, state_json.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  write_end.reset();

  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (hook.timeout && pidfd) {
    pollfd pfd{pidfd.get(), POLLIN, 0};
    int rc;
    do {
      rc = poll(&pfd, 1, *hook.timeout * 1000);
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return absl::DeadlineExceededError(fmt::format("hook ran past its timeout of {} s", *hook.timeout));
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoError("waitpid");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && access(hook.path.c_str(), X_OK) != 0)
    return ErrnoError(fmt::format("exec {}", Quote(hook.path)));
  if (WIFSIGNALED(status)) return absl::AbortedError(fmt::format("killed by signal {}", WTERMSIG(status)));
  return absl::AbortedError(fmt::format("exit status {}", WEXITSTATUS(status)));
}

}  // namespace

absl::Status RunHooks(const char* phase, const std::vector<oci::Hook>& hooks, const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    absl::Status status = RunHook(hooks[i], state_json);
    if (!status.ok()) return Annotate(status, fmt::format("{} hook #{} {}", phase, i, Quote(hooks[i].path)));
  }
  return absl::OkStatus();
}

void RunHooksWarningOnFailure(const char* phase, const std::vector<oci::Hook>& hooks, const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    absl::Status status = RunHook(hooks[i], state_json);
    if (!status.ok()) LogWarn("{} hook #{} {}: {}", phase, i, Quote(hooks[i].path), status.message());
  }
}

}  // namespace liman::runtime
