#include "shim/spawn.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <set>

#include "common/status.h"
#include "common/unique_fd.h"
#include "fmt/format.h"

extern char** environ;

namespace liman::shim {
namespace {

// Why posix_spawn(3) is not used: glibc's child sets its two internal signals (32 and 33, NPTL's
// cancellation and setxid) to SIG_IGN so that no handler of the parent runs on the shared memory,
// and that disposition survives execve(2). The runtime would start with them ignored and pass
// that on to the container, where runc's containers have them at their default. The child below
// does what glibc does, but resets every signal.

constexpr size_t kChildStackSize = 64 * 1024;
constexpr int kHighestSignal = 64;  // _NSIG - 1 on Linux

enum class Step { kNone, kSetsid, kChdir, kDup2, kExec };

// Everything the child needs, prepared by the parent: the child shares the parent's memory
// (CLONE_VM) and must not allocate, so it only reads this and writes back the failure.
struct ChildPlan {
  const char* path;
  int exec_fd;  // -1: exec `path`
  char* const* argv;
  char* const* envp;
  const char* cwd;  // nullptr: keep
  bool new_session;
  const int* sources;  // rehomed above the highest target
  const int* targets;
  size_t mapping_count;
  int close_from;
  // Written by the child when a step fails; read by the parent once the child has exec'd or
  // exited (CLONE_VFORK suspends the parent until then).
  Step failed_step = Step::kNone;
  int failed_errno = 0;
  int failed_index = 0;
};

// Raw system calls for the signal state: glibc's sigaction and sigprocmask refuse (or silently
// skip) its internal signals. A zeroed kernel sigaction is SIG_DFL with no flags and no mask,
// whatever the architecture's layout.
void ResetAllSignalsToDefault() {
  alignas(8) unsigned char default_action[64] = {};
  for (int sig = 1; sig <= kHighestSignal; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    syscall(SYS_rt_sigaction, sig, default_action, nullptr, sizeof(uint64_t));
  }
}

int SetRawSignalMask(uint64_t mask, uint64_t* old_mask) {
  return static_cast<int>(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask, old_mask, sizeof mask));
}

int Fail(ChildPlan* plan, Step step, int index = 0) {
  plan->failed_step = step;
  plan->failed_errno = errno;
  plan->failed_index = index;
  _exit(127);
}

int ChildMain(void* arg) {
  auto* plan = static_cast<ChildPlan*>(arg);
  // All signals are blocked (the parent did that before cloning): nothing can run a handler of
  // the shim here. Handlers must go before the mask is lifted, just before exec.
  ResetAllSignalsToDefault();
  if (plan->new_session && setsid() < 0) return Fail(plan, Step::kSetsid);
  if (plan->cwd != nullptr && chdir(plan->cwd) != 0) return Fail(plan, Step::kChdir);
  for (size_t i = 0; i < plan->mapping_count; ++i) {
    // The new descriptor is not close-on-exec (dup2(2)); the rehomed source is and goes at exec.
    if (dup2(plan->sources[i], plan->targets[i]) < 0) return Fail(plan, Step::kDup2, static_cast<int>(i));
  }
  // Everything above the mapped range goes, even a descriptor some library opened without
  // O_CLOEXEC: the container must not inherit the shim's sockets (close_range(2), Linux 5.9;
  // older kernels still close the shim's own close-on-exec descriptors at exec).
  // The program's own descriptor (above every target) stays until the exec closes it.
  if (plan->exec_fd < 0) {
    syscall(SYS_close_range, plan->close_from, ~0U, 0);
  } else {
    if (plan->exec_fd > plan->close_from) syscall(SYS_close_range, plan->close_from, plan->exec_fd - 1, 0);
    syscall(SYS_close_range, plan->exec_fd + 1, ~0U, 0);
  }
  SetRawSignalMask(0, nullptr);
  if (plan->exec_fd < 0) {
    execve(plan->path, plan->argv, plan->envp);
  } else {
    syscall(SYS_execveat, plan->exec_fd, "", plan->argv, plan->envp, AT_EMPTY_PATH);
  }
  return Fail(plan, Step::kExec);
}

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

// Done in the parent: the child has no memory of its own to build paths in.
absl::StatusOr<std::string> FindProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path_env = getenv("PATH");
  std::string_view dirs = path_env != nullptr ? path_env : "/bin:/usr/bin";
  int last_error = ENOENT;
  while (true) {
    size_t colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    std::string candidate = fmt::format("{}/{}", dir.empty() ? "." : dir, name);
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
      last_error = EACCES;
    }
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return ErrnoError(last_error, fmt::format("exec {}", Quote(name)));
}

absl::StatusOr<pid_t> Spawn(const SpawnOptions& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("spawn: empty program path");
  const std::string program = Quote(options.path);

  std::vector<int> sources = {options.stdin_fd, options.stdout_fd, options.stderr_fd};
  std::vector<int> targets = {0, 1, 2};
  std::set<int> used = {0, 1, 2};
  for (const auto& [source, target] : options.extra_fds) {
    if (target < 3 || !used.insert(target).second)
      return absl::InvalidArgumentError(
          fmt::format("spawn {}: fd {} cannot be mapped to {} (targets must be distinct and >= 3)", program, source, target));
    sources.push_back(source);
    targets.push_back(target);
  }
  const int max_target = *used.rbegin();

  std::string path = options.path;
  if (options.exec_fd < 0) {
    LIMAN_ASSIGN_OR_RETURN(path, FindProgram(path));
  }

  UniqueFd dev_null;
  if (options.stdin_fd < 0 || options.stdout_fd < 0 || options.stderr_fd < 0) {
    dev_null.reset(open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!dev_null) return ErrnoError("open \"/dev/null\"");
  }
  // The child's dup2 calls run in order, so a source that is also another mapping's target (the
  // shim's own fd 1 handed over as the child's fd 3, say) would be overwritten before it is
  // copied. Copying every source above the highest target first makes the order irrelevant; the
  // copies are close-on-exec.
  std::vector<UniqueFd> rehomed;
  std::vector<int> rehomed_numbers;
  for (size_t i = 0; i < sources.size(); ++i) {
    int from = sources[i] < 0 ? dev_null.get() : sources[i];
    UniqueFd copy(fcntl(from, F_DUPFD_CLOEXEC, max_target + 1));
    if (!copy) return ErrnoError(fmt::format("spawn {}: dup fd {} for fd {}", program, from, targets[i]));
    rehomed_numbers.push_back(copy.get());
    rehomed.push_back(std::move(copy));
  }
  // Above every target too, so that no dup2 in the child lands on it.
  UniqueFd exec_file;
  if (options.exec_fd >= 0) {
    exec_file.reset(fcntl(options.exec_fd, F_DUPFD_CLOEXEC, max_target + 1));
    if (!exec_file) return ErrnoError(fmt::format("spawn {}: dup its fd {}", program, options.exec_fd));
  }

  std::vector<std::string> argv_strings = options.argv.empty() ? std::vector<std::string>{options.path} : options.argv;
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp;
  if (!options.env.empty()) envp = CStrings(options.env);

  ChildPlan plan{path.c_str(),
                 exec_file ? exec_file.get() : -1,
                 argv.data(),
                 options.env.empty() ? environ : envp.data(),
                 options.cwd.empty() ? nullptr : options.cwd.c_str(),
                 options.new_session,
                 rehomed_numbers.data(),
                 targets.data(),
                 targets.size(),
                 max_target + 1};

  void* stack = mmap(nullptr, kChildStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return ErrnoError(fmt::format("spawn {}: mmap stack", program));
  uint64_t old_mask = 0;
  SetRawSignalMask(~uint64_t{0}, &old_mask);
  // CLONE_VM|CLONE_VFORK: the child borrows our memory and we sleep until it has exec'd or died,
  // so starting it copies no page tables (clone(2)); SIGCHLD makes it an ordinary child to wait for.
  pid_t pid = clone(ChildMain, static_cast<char*>(stack) + kChildStackSize, CLONE_VM | CLONE_VFORK | SIGCHLD, &plan);
  int clone_errno = errno;
  SetRawSignalMask(old_mask, nullptr);
  munmap(stack, kChildStackSize);
  if (pid < 0) return ErrnoError(clone_errno, fmt::format("spawn {}: clone", program));

  if (plan.failed_step == Step::kNone) return pid;
  // The child has exited (127); reap it here, it is nobody else's business.
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  switch (plan.failed_step) {
    case Step::kSetsid:
      return ErrnoError(plan.failed_errno, fmt::format("spawn {}: setsid", program));
    case Step::kChdir:
      return ErrnoError(plan.failed_errno, fmt::format("chdir {}", Quote(options.cwd)));
    case Step::kDup2:
      return ErrnoError(plan.failed_errno, fmt::format("spawn {}: dup2 to fd {}", program, targets[plan.failed_index]));
    default:
      return ErrnoError(plan.failed_errno, fmt::format("exec {}", program));
  }
}

}  // namespace liman::shim
