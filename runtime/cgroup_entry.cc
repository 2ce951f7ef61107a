#include "runtime/cgroup_entry.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace liman::runtime {
namespace {

// struct clone_args of <linux/sched.h> up to CLONE_ARGS_SIZE_VER2 (the cgroup member), spelled
// out because that header's CLONE_* macros clash with glibc's <sched.h>.
struct CloneArgs {
  uint64_t flags = 0;
  uint64_t pidfd = 0;
  uint64_t child_tid = 0;
  uint64_t parent_tid = 0;
  uint64_t exit_signal = 0;
  uint64_t stack = 0;
  uint64_t stack_size = 0;
  uint64_t tls = 0;
  uint64_t set_tid = 0;
  uint64_t set_tid_size = 0;
  uint64_t cgroup = 0;
};
constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;  // CLONE_INTO_CGROUP

bool WriteZero(const cgroups::CgroupFile& file, ChildError* error) {
  ssize_t n;
  do {
    n = write(file.fd.get(), "0", 1);
  } while (n < 0 && errno == EINTR);
  if (n == 1) return true;
  return Fail(error, n < 0 ? errno : EIO, "join the container's cgroup: write \"0\" to \"%s\"", file.path.c_str());
}

}  // namespace

pid_t ForkIntoCgroup(const cgroups::SelfJoin& join, bool* born_inside) {
  *born_inside = false;
  if (join.cgroup2_dir) {
    CloneArgs args;
    args.flags = kCloneIntoCgroup;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(join.cgroup2_dir.get());
    *born_inside = true;  // what the child sees if clone3 succeeds
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid >= 0) return static_cast<pid_t>(pid);
    *born_inside = false;
  }
  return fork();
}

bool EnterCgroup(const cgroups::SelfJoin& join, bool born_inside, ChildError* error) {
  for (const cgroups::CgroupFile& tasks : join.tasks_files)
    if (!WriteZero(tasks, error)) return false;
  if (!born_inside && join.cgroup2_procs.fd) return WriteZero(join.cgroup2_procs, error);
  return true;
}

}  // namespace liman::runtime
