#include "runtime/init.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

#include "common/unique_fd.h"
#include "common/unix_socket.h"
#include "runtime/cgroup_entry.h"
#include "runtime/hooks.h"
#include "runtime/rootfs.h"
#include "runtime/sync_protocol.h"

namespace liman::runtime {
namespace {

// sched_setattr(2)'s argument; glibc 2.36 has no declaration of it.
struct sched_attr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

[[noreturn]] void Die(int sync_fd, const ChildError& error) {
  SendChildError(sync_fd, error);
  _exit(1);
}

// Writes `value` into a file below the host procfs opened at the start, refusing to leave procfs
// on the way (RESOLVE_NO_XDEV), so a container mount cannot redirect the write (CVE-2025-52881).
bool WriteProc(int proc_fd, const char* path, const char* value, ChildError* error) {
  open_how how{};
  how.flags = O_WRONLY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH;
  UniqueFd fd(static_cast<int>(syscall(SYS_openat2, proc_fd, path, &how, sizeof how)));
  if (!fd) return Fail(error, errno, "open \"/proc/%s\"", path);
  struct statfs fs;
  if (fstatfs(fd.get(), &fs) != 0 || fs.f_type != PROC_SUPER_MAGIC)
    return Fail(error, EPERM, "\"/proc/%s\" is not on procfs", path);
  size_t length = strlen(value);
  if (write(fd.get(), value, length) != static_cast<ssize_t>(length))
    return Fail(error, errno, "write \"%s\" to \"/proc/%s\"", value, path);
  return true;
}

// "self" in the host's procfs resolves to this process's host pid, which the child does not know.
std::string SelfPath(const char* rest) { return std::string("self/") + rest; }

bool SetHostAndDomain(const ContainerPlan& plan, ChildError* error) {
  if (plan.set_hostname && sethostname(plan.hostname.c_str(), plan.hostname.size()) != 0)
    return Fail(error, errno, "sethostname \"%s\"", plan.hostname.c_str());
  if (plan.set_domainname && setdomainname(plan.domainname.c_str(), plan.domainname.size()) != 0)
    return Fail(error, errno, "setdomainname \"%s\"", plan.domainname.c_str());
  return true;
}

bool ApplySysctls(const ContainerPlan& plan, int proc_fd, ChildError* error) {
  for (const auto& [path, value] : plan.sysctl) {
    std::string full = "sys/" + path;
    if (!WriteProc(proc_fd, full.c_str(), value.c_str(), error)) return false;
  }
  return true;
}

bool ApplySchedulerAndLimits(const ProcessPlan& plan, int proc_fd, ChildError* error) {
  if (plan.has_oom_score_adj) {
    char value[16];
    snprintf(value, sizeof value, "%d", plan.oom_score_adj);
    if (!WriteProc(proc_fd, SelfPath("oom_score_adj").c_str(), value, error)) return false;
  }
  for (const RlimitPlan& limit : plan.rlimits)
    if (setrlimit(static_cast<__rlimit_resource>(limit.resource), &limit.limit) != 0)
      return Fail(error, errno, "setrlimit(%d, soft %llu, hard %llu)", limit.resource,
                  static_cast<unsigned long long>(limit.limit.rlim_cur), static_cast<unsigned long long>(limit.limit.rlim_max));
  if (plan.has_personality && personality(plan.personality) < 0)
    return Fail(error, errno, "personality(%lu)", plan.personality);
  if (plan.has_io_priority && syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, plan.io_priority) != 0)
    return Fail(error, errno, "ioprio_set(%d)", plan.io_priority);
  if (plan.has_scheduler) {
    const oci::Scheduler& s = plan.scheduler;
    sched_attr attr{};
    attr.size = sizeof attr;
    static constexpr std::pair<const char*, int> kPolicies[] = {
        {"SCHED_OTHER", SCHED_OTHER}, {"SCHED_FIFO", SCHED_FIFO}, {"SCHED_RR", SCHED_RR},
        {"SCHED_BATCH", SCHED_BATCH}, {"SCHED_IDLE", SCHED_IDLE}, {"SCHED_DEADLINE", 6}};
    int policy = -1;
    for (const auto& [name, value] : kPolicies)
      if (s.policy == name) policy = value;
    if (policy < 0) return Fail(error, EINVAL, "scheduler: unknown policy \"%s\"", s.policy.c_str());
    attr.sched_policy = static_cast<uint32_t>(policy);
    attr.sched_nice = s.nice.value_or(0);
    attr.sched_priority = static_cast<uint32_t>(s.priority.value_or(0));
    attr.sched_runtime = s.runtime.value_or(0);
    attr.sched_deadline = s.deadline.value_or(0);
    attr.sched_period = s.period.value_or(0);
    for (const std::string& flag : s.flags) {
      if (flag == "SCHED_FLAG_RESET_ON_FORK") attr.sched_flags |= 0x01;
      else if (flag == "SCHED_FLAG_RECLAIM") attr.sched_flags |= 0x02;
      else if (flag == "SCHED_FLAG_DL_OVERRUN") attr.sched_flags |= 0x04;
      else if (flag == "SCHED_FLAG_KEEP_POLICY") attr.sched_flags |= 0x08;
      else if (flag == "SCHED_FLAG_KEEP_PARAMS") attr.sched_flags |= 0x10;
      else if (flag == "SCHED_FLAG_UTIL_CLAMP_MIN") attr.sched_flags |= 0x20;
      else if (flag == "SCHED_FLAG_UTIL_CLAMP_MAX") attr.sched_flags |= 0x40;
      else return Fail(error, EINVAL, "scheduler: unknown flag \"%s\"", flag.c_str());
    }
    if (syscall(SYS_sched_setattr, 0, &attr, 0) != 0) return Fail(error, errno, "sched_setattr(%s)", s.policy.c_str());
  }
  return true;
}

bool ApplySecurityLabels(const ProcessPlan& plan, int proc_fd, ChildError* error) {
  if (!plan.apparmor_profile.empty()) {
    std::string value = "exec " + plan.apparmor_profile;
    if (!WriteProc(proc_fd, SelfPath("attr/apparmor/exec").c_str(), value.c_str(), error) &&
        !WriteProc(proc_fd, SelfPath("attr/exec").c_str(), value.c_str(), error))
      return false;
  }
  if (!plan.selinux_label.empty() && !WriteProc(proc_fd, SelfPath("attr/exec").c_str(), plan.selinux_label.c_str(), error))
    return false;
  return true;
}

bool InstallSeccompNow(const ProcessPlan& plan, int sync_fd, ChildError* error) {
  int listener = -1;
  if (int err = InstallSeccomp(plan.seccomp, &listener); err != 0) return Fail(error, err, "install seccomp filter");
  if (plan.seccomp.uses_notify) {
    if (!SendSync(sync_fd, SyncType::kSeccompListener)) return Fail(error, errno, "report seccomp listener");
    if (!SendFd(sync_fd, listener, "seccomp").ok()) return Fail(error, errno, "send seccomp listener fd");
    close(listener);
  }
  return true;
}

// Order matters (capabilities(7)): the bounding set is dropped while we are still root, ids are
// changed with PR_SET_KEEPCAPS so permitted capabilities survive, then the sets are written.
bool SwitchUser(const ProcessPlan& plan, ChildError* error) {
  if (int err = DropBoundingSet(plan.capabilities); err != 0) return Fail(error, err, "drop capabilities from the bounding set");
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return Fail(error, errno, "prctl(PR_SET_KEEPCAPS)");
  if (setgroups(plan.additional_gids.size(), plan.additional_gids.data()) != 0 && !(errno == EPERM && plan.additional_gids.empty()))
    return Fail(error, errno, "setgroups (%zu groups)", plan.additional_gids.size());
  if (setresgid(plan.gid, plan.gid, plan.gid) != 0) return Fail(error, errno, "setresgid(%u)", plan.gid);
  if (setresuid(plan.uid, plan.uid, plan.uid) != 0) return Fail(error, errno, "setresuid(%u)", plan.uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return Fail(error, errno, "prctl(PR_SET_KEEPCAPS)");
  if (int err = ApplyCapabilitySets(plan.capabilities); err != 0) return Fail(error, err, "apply capabilities");
  return true;
}

// The working directory must be inside the container's root: getcwd(3) reports a directory
// outside it as "(unreachable)…" (CVE-2024-21626).
bool EnterWorkingDirectory(const ProcessPlan& plan, ChildError* error) {
  if (chdir(plan.cwd.c_str()) != 0) return Fail(error, errno, "chdir to cwd \"%s\" set in config.json", plan.cwd.c_str());
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == nullptr || cwd[0] != '/')
    return Fail(error, EPERM, "current working directory \"%s\" is outside of the container's root", plan.cwd.c_str());
  return true;
}

std::string FindPath(const std::vector<std::string>& env) {
  for (const std::string& entry : env)
    if (entry.starts_with("PATH=")) return entry.substr(5);
  return kDefaultPath;
}

// As Go's exec.LookPath with the container's PATH, which is what runc reports errors for.
bool LookupExecutable(const ProcessPlan& plan, std::string* path, ChildError* error) {
  const std::string& name = plan.args[0];
  auto executable = [](const std::string& candidate) {
    struct stat st;
    return stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) {
    if (executable(name)) {
      *path = name;
      return true;
    }
    return Fail(error, errno ? errno : EACCES, "exec: \"%s\"", name.c_str());
  }
  std::string search = FindPath(plan.env);
  size_t pos = 0;
  while (pos <= search.size()) {
    size_t colon = search.find(':', pos);
    std::string dir = search.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    pos = colon == std::string::npos ? search.size() + 1 : colon + 1;
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (executable(candidate)) {
      *path = candidate;
      return true;
    }
  }
  return Fail(error, 0, "exec: \"%s\": executable file not found in $PATH", name.c_str());
}

// Waits until `liman-runtime start` writes to the exec fifo. Opened O_RDONLY|O_NONBLOCK before
// fork by the parent, so no path lookup or permission check is needed here; poll(2) on a FIFO whose writer never came
// reports nothing, so this blocks until start (see pipe(7), fifo(7)).
bool WaitForStart(int fifo_fd, ChildError* error) {
  pollfd pfd{fifo_fd, POLLIN, 0};
  for (;;) {
    int rc = poll(&pfd, 1, -1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return Fail(error, errno, "wait on the exec fifo");
    char byte;
    ssize_t n = read(fifo_fd, &byte, 1);
    if (n == 1) return true;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    return Fail(error, n == 0 ? EPIPE : errno, "read the exec fifo");
  }
}

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (const std::string& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

[[noreturn]] void RunStage2(const ContainerPlan& plan, int sync_fd) {
  ChildError error;
  const ProcessPlan& process = plan.process;
  // Other processes of the container must not reach our memory or /proc/self/exe (the
  // liman-runtime binary) through /proc/<pid> while we set up (CVE-2019-5736).
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (process.setsid && setsid() < 0 && !plan.is_exec) Die(sync_fd, (Fail(&error, errno, "setsid"), error));

  // A session keyring of the container's own, so keys of the host's session are not visible
  // (keyctl(2) KEYCTL_JOIN_SESSION_KEYRING; kernels without keys just lack the call).
  if (!plan.keyring_name.empty() && syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, plan.keyring_name.c_str()) < 0 &&
      errno != ENOSYS)
    Die(sync_fd, (Fail(&error, errno, "join session keyring \"%s\"", plan.keyring_name.c_str()), error));

  UniqueFd proc(open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
  struct statfs proc_fs;
  if (!proc || fstatfs(proc.get(), &proc_fs) != 0 || proc_fs.f_type != PROC_SUPER_MAGIC)
    Die(sync_fd, (Fail(&error, proc ? EPERM : errno, "open the host's \"/proc\""), error));

  UniqueFd fifo;
  std::string state_json, start_state_json;
  if (!plan.is_exec) {
    fifo.reset(plan.exec_fifo_fd);
    // --- Phase: root filesystem, still seeing the host's mounts -------------------------------
    bool mounts = plan.rootfs.mount_namespace;
    UniqueFd root(mounts ? PrepareRoot(plan.rootfs, &error) : open(plan.rootfs.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) Die(sync_fd, mounts ? error : (Fail(&error, errno, "open rootfs \"%s\"", plan.rootfs.rootfs.c_str()), error));
    if (mounts && !MountAll(plan.rootfs, root.get(), &error)) Die(sync_fd, error);
    // --- Phase: prestart/createRuntime hooks run in the parent, then createContainer here -----
    if (!SendSync(sync_fd, SyncType::kMountsReady)) _exit(1);
    // Left uninitialised: only the pages recvmsg(2) fills are touched, and so charged to the
    // container's memory cgroup (a container may start under a limit of a few hundred KiB).
    constexpr size_t kCapacity = 1 << 20;
    std::unique_ptr<char[]> buffer(new char[kCapacity]);
    SyncHeader header{};
    size_t length = 0;
    if (ReceiveSync(sync_fd, &header, buffer.get(), kCapacity, &length) != static_cast<int>(SyncType::kContinue)) _exit(1);
    state_json.assign(buffer.get(), strnlen(buffer.get(), length));
    if (state_json.size() + 1 < length) start_state_json.assign(buffer.get() + state_json.size() + 1, length - state_json.size() - 1);
    buffer.reset();
    if (absl::Status hooks = RunHooks("createContainer", plan.create_container_hooks, state_json); !hooks.ok())
      Die(sync_fd, (Fail(&error, 0, "%s", std::string(hooks.message()).c_str()), error));
    // --- Phase: switch to the container's root ------------------------------------------------
    if (mounts && !EnterRoot(plan.rootfs, root.get(), &error)) Die(sync_fd, error);
    if (!mounts && (fchdir(root.get()) != 0 || chroot(".") != 0 || chdir("/") != 0))
      Die(sync_fd, (Fail(&error, errno, "chroot to rootfs \"%s\"", plan.rootfs.rootfs.c_str()), error));
    root.reset();
    if (process.terminal && !SetupConsole(process, mounts, &error)) Die(sync_fd, error);
    if (mounts && !FinishRootfs(plan.rootfs, &error)) Die(sync_fd, error);
    if (!ApplySysctls(plan, proc.get(), &error)) Die(sync_fd, error);
    if (!SetHostAndDomain(plan, &error)) Die(sync_fd, error);
  } else if (process.terminal && !SetupConsole(process, false, &error)) {
    Die(sync_fd, error);
  }

  // --- Phase: the process's attributes while still privileged --------------------------------
  if (!ApplySchedulerAndLimits(process, proc.get(), &error)) Die(sync_fd, error);
  if (!ApplySecurityLabels(process, proc.get(), &error)) Die(sync_fd, error);
  if (process.has_umask) umask(process.umask);
  // The working directory and the program are checked before seccomp, whose profile may forbid
  // getcwd(2) or stat(2) (runc fails there; crun does not).
  if (!EnterWorkingDirectory(process, &error)) Die(sync_fd, error);
  std::string executable;
  if (!LookupExecutable(process, &executable, &error)) Die(sync_fd, error);

  // No descriptor of ours may reach the container (CVE-2024-21626): everything past the
  // preserved ones is closed on exec; the preserved ones stay open. Done before seccomp, whose
  // profile may not allow close_range(2).
  unsigned first_closed = 3 + static_cast<unsigned>(process.preserve_fds);
  for (unsigned fd = 3; fd < first_closed; ++fd) fcntl(static_cast<int>(fd), F_SETFD, 0);
  if (syscall(SYS_close_range, first_closed, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    // Kernels before 5.11 lack CLOSE_RANGE_CLOEXEC: mark each possible descriptor instead.
    rlimit files{};
    getrlimit(RLIMIT_NOFILE, &files);
    for (unsigned fd = first_closed; fd < files.rlim_cur && fd < 65536; ++fd) fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
  }

  // Without no_new_privs a filter needs CAP_SYS_ADMIN (seccomp(2)), so it goes in before the
  // capabilities are dropped; with it, as late as possible so the filter sees only the workload.
  bool seccomp_early = process.has_seccomp && (!process.no_new_privileges || process.seccomp.uses_notify);
  if (seccomp_early && process.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    Die(sync_fd, (Fail(&error, errno, "prctl(PR_SET_NO_NEW_PRIVS)"), error));
  if (seccomp_early && !InstallSeccompNow(process, sync_fd, &error)) Die(sync_fd, error);

  // --- Phase: become the configured user ------------------------------------------------------
  if (!SwitchUser(process, &error)) Die(sync_fd, error);
  // Again as the user, for its permission check; the path was verified above.
  if (process.uid != 0 && chdir(process.cwd.c_str()) != 0)
    Die(sync_fd, (Fail(&error, errno, "chdir to cwd \"%s\" as uid %u", process.cwd.c_str(), process.uid), error));
  if (process.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    Die(sync_fd, (Fail(&error, errno, "prctl(PR_SET_NO_NEW_PRIVS)"), error));

  std::vector<char*> argv = CStrings(process.args);
  std::vector<char*> envp = CStrings(process.env);
  if (!SendSync(sync_fd, SyncType::kReady)) _exit(1);
  if (!plan.is_exec) {
    // --- Phase: created; wait for start --------------------------------------------------------
    if (!WaitForStart(fifo.get(), &error)) _exit(1);
    fifo.reset();
    if (absl::Status hooks = RunHooks("startContainer", plan.start_container_hooks, start_state_json); !hooks.ok()) {
      dprintf(STDERR_FILENO, "liman-runtime: %s\n", std::string(hooks.message()).c_str());
      _exit(1);
    }
  }
  if (process.has_seccomp && !seccomp_early && !InstallSeccompNow(process, sync_fd, &error)) {
    if (plan.is_exec) Die(sync_fd, error);
    dprintf(STDERR_FILENO, "liman-runtime: %s: %s\n", error.message, strerror(error.err));
    _exit(1);
  }
  execve(executable.c_str(), argv.data(), envp.data());
  int err = errno;
  if (plan.is_exec) Die(sync_fd, (Fail(&error, err, "exec \"%s\"", executable.c_str()), error));
  dprintf(STDERR_FILENO, "liman-runtime: exec \"%s\": %s\n", executable.c_str(), strerror(err));
  _exit(127);
}

}  // namespace

[[noreturn]] void RunStage1(const ContainerPlan& plan, int sync_fd, bool born_in_cgroup2) {
  ChildError error;
  const NamespacePlan& ns = plan.namespaces;
  // --- Phase: the container's cgroup, if ours to enter: a cgroup namespace made or joined below
  // must be rooted there.
  if (plan.join_cgroup_first && !EnterCgroup(plan.cgroup_join, born_in_cgroup2, &error)) Die(sync_fd, error);
  SyncHeader header{};
  for (const NamespaceJoin& join : ns.joins) {
    if (setns(join.fd.get(), join.clone_flag) != 0)
      Die(sync_fd, (Fail(&error, errno, "setns to %s", join.path.c_str()), error));
  }
  if (ns.new_user) {
    if (unshare(CLONE_NEWUSER) != 0) Die(sync_fd, (Fail(&error, errno, "unshare(CLONE_NEWUSER)"), error));
    if (!SendSync(sync_fd, SyncType::kUserNamespaceReady)) _exit(1);
    if (ReceiveSync(sync_fd, &header, nullptr, 0, nullptr) != static_cast<int>(SyncType::kIdMapsWritten)) _exit(1);
  }
  // Become root of the (new or joined) user namespace if root is mapped there; if not, the ids
  // are set to the configured user later with the namespace's capabilities.
  if (ns.new_user || ns.has_flag(CLONE_NEWUSER)) {
    setresgid(0, 0, 0);
    setresuid(0, 0, 0);
  }
  if (ns.unshare_flags && unshare(ns.unshare_flags) != 0)
    Die(sync_fd, (Fail(&error, errno, "unshare(0x%x)", ns.unshare_flags), error));
  if (!ns.timens_offsets.empty()) {
    // Offsets of a new time namespace are writable until its first process enters it, which is
    // stage 2 (time_namespaces(7)).
    UniqueFd offsets(open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC));
    if (!offsets || write(offsets.get(), ns.timens_offsets.data(), ns.timens_offsets.size()) < 0)
      Die(sync_fd, (Fail(&error, errno, "write \"/proc/self/timens_offsets\""), error));
  }
  // Stage 2 must not report anything before stage 1 has reported its pid: it waits on a pipe.
  int reported[2];
  if (pipe2(reported, O_CLOEXEC) != 0) Die(sync_fd, (Fail(&error, errno, "pipe2"), error));
  pid_t child = fork();
  if (child < 0) Die(sync_fd, (Fail(&error, errno, "fork stage 2"), error));
  if (child == 0) {
    close(reported[1]);
    char byte;
    if (read(reported[0], &byte, 1) != 1) _exit(1);
    close(reported[0]);
    if (!plan.join_cgroup_first && !EnterCgroup(plan.cgroup_join, born_in_cgroup2, &error)) Die(sync_fd, error);
    RunStage2(plan, sync_fd);
  }
  SendSync(sync_fd, SyncType::kInitPid, child);
  if (write(reported[1], "", 1) != 1) _exit(1);
  _exit(0);
}

}  // namespace liman::runtime
