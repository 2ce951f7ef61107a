#include "engine/daemon/seccomp_profile.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "common/status.h"
#include "fmt/format.h"

namespace liman::engine {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

// Syscalls every container may make: what programs need to run (files, memory, processes,
// signals, sockets, timers, IPC), none that reaches beyond the container's own namespaces.
constexpr const char* kAllowed[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset", "chdir",
    "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64",
    "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
    "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
    "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
    "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
    "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
    "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr",
    "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
    "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd",
    "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
    "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
    "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list",
    "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid",
    "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel",
    "ioctl", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set",
    "io_setup", "io_submit", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
    "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr",
    "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise",
    "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod",
    "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
    "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
    "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at",
    "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2", "pause", "pidfd_open",
    "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll",
    "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
    "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv",
    "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename",
    "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
    "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
    "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
    "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid",
    "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority",
    "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32",
    "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid",
    "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
    "signalfd4", "sigprocmask", "sigreturn", "socket", "socketcall", "socketpair", "splice", "stat", "stat64",
    "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee",
    "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
    "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
    "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask",
    "uname", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice",
    "wait4", "waitid", "waitpid", "write", "writev",
    // Since Linux 4.8 ptrace cannot be used to bypass seccomp (seccomp(2), "ptrace"), so tracing
    // one's own processes is allowed, as in Docker's profile.
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
};

// What a capability (when the container has it) adds.
struct CapabilityGroup {
  const char* capability;
  std::vector<const char*> syscalls;
};
const CapabilityGroup kCapabilityGroups[] = {
    {"CAP_SYS_ADMIN",
     {"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie", "mount",
      "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setdomainname",
      "sethostname", "setns", "syslog", "umount", "umount2", "unshare"}},
    {"CAP_SYS_BOOT", {"reboot"}},
    {"CAP_SYS_CHROOT", {"chroot"}},
    {"CAP_SYS_MODULE", {"delete_module", "init_module", "finit_module"}},
    {"CAP_SYS_PACCT", {"acct"}},
    {"CAP_SYS_PTRACE", {"process_madvise"}},
    {"CAP_SYS_RAWIO", {"iopl", "ioperm"}},
    {"CAP_SYS_TIME", {"settimeofday", "stime", "clock_settime", "clock_settime64"}},
    {"CAP_SYS_TTY_CONFIG", {"vhangup"}},
    {"CAP_SYS_NICE", {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
    {"CAP_SYSLOG", {"syslog"}},
    {"CAP_BPF", {"bpf"}},
    {"CAP_PERFMON", {"perf_event_open"}},
};

// clone(2) flags that create namespaces (CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|
// NEWNET): without CAP_SYS_ADMIN a clone may not have any of them.
constexpr uint64_t kCloneNamespaceFlags = 0x7E020000;

json BuildDefaultProfile() {
  json syscalls = json::array();
  syscalls.push_back({{"names", std::vector<std::string>(std::begin(kAllowed), std::end(kAllowed))}, {"action", "SCMP_ACT_ALLOW"}});
  // personality(2): only the Linux domain, with or without the 32-bit and uname26 quirks, and queries.
  for (uint64_t persona : {0x0ULL, 0x8ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL})
    syscalls.push_back({{"names", {"personality"}},
                        {"action", "SCMP_ACT_ALLOW"},
                        {"args", {{{"index", 0}, {"value", persona}, {"op", "SCMP_CMP_EQ"}}}}});
  syscalls.push_back({{"names", {"arch_prctl", "modify_ldt"}},
                      {"action", "SCMP_ACT_ALLOW"},
                      {"includes", {{"arches", {"amd64", "x32", "x86"}}}}});
  syscalls.push_back({{"names", {"clone"}},
                      {"action", "SCMP_ACT_ALLOW"},
                      {"args", {{{"index", 0}, {"value", kCloneNamespaceFlags}, {"valueTwo", 0}, {"op", "SCMP_CMP_MASKED_EQ"}}}},
                      {"excludes", {{"caps", {"CAP_SYS_ADMIN"}}}}});
  // clone3 passes its flags in memory, out of seccomp's reach: ENOSYS makes libc fall back to clone.
  syscalls.push_back({{"names", {"clone3"}},
                      {"action", "SCMP_ACT_ERRNO"},
                      {"errnoRet", 38},
                      {"excludes", {{"caps", {"CAP_SYS_ADMIN"}}}}});
  for (const CapabilityGroup& group : kCapabilityGroups)
    syscalls.push_back({{"names", std::vector<std::string>(group.syscalls.begin(), group.syscalls.end())},
                        {"action", "SCMP_ACT_ALLOW"},
                        {"includes", {{"caps", {group.capability}}}}});
  return {{"defaultAction", "SCMP_ACT_ERRNO"},
          {"defaultErrnoRet", 1},
          {"archMap",
           {{{"architecture", "SCMP_ARCH_X86_64"}, {"subArchitectures", {"SCMP_ARCH_X86", "SCMP_ARCH_X32"}}},
            {{"architecture", "SCMP_ARCH_AARCH64"}, {"subArchitectures", {"SCMP_ARCH_ARM"}}}}},
          {"syscalls", syscalls}};
}

// Docker's arch names (in includes/excludes) for this machine.
std::vector<std::string> NativeArches() {
#if defined(__x86_64__)
  return {"amd64", "x86_64"};
#elif defined(__aarch64__)
  return {"arm64", "aarch64"};
#else
  return {};
#endif
}

std::string NativeSeccompArch() {
#if defined(__x86_64__)
  return "SCMP_ARCH_X86_64";
#elif defined(__aarch64__)
  return "SCMP_ARCH_AARCH64";
#else
  return "";
#endif
}

// "6.1.0-18-amd64" >= "4.8"
bool KernelAtLeast(const std::string& release, const std::string& minimum) {
  int have_major = 0, have_minor = 0, want_major = 0, want_minor = 0;
  if (std::sscanf(release.c_str(), "%d.%d", &have_major, &have_minor) < 1) return true;
  if (std::sscanf(minimum.c_str(), "%d.%d", &want_major, &want_minor) < 1) return true;
  return have_major != want_major ? have_major > want_major : have_minor >= want_minor;
}

std::vector<std::string> Strings(const json& object, const char* key) {
  std::vector<std::string> out;
  if (object.is_object() && object.contains(key) && object[key].is_array())
    for (const json& item : object[key])
      if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

bool Intersects(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::any_of(a.begin(), a.end(), [&](const std::string& x) { return std::find(b.begin(), b.end(), x) != b.end(); });
}

bool Contains(const std::vector<std::string>& all, const std::vector<std::string>& wanted) {
  return std::all_of(wanted.begin(), wanted.end(), [&](const std::string& x) { return std::find(all.begin(), all.end(), x) != all.end(); });
}

// Docker's rule filter: every `includes` condition holds and no `excludes` one does.
bool RuleApplies(const json& rule, const std::vector<std::string>& caps, const std::string& kernel) {
  std::vector<std::string> arches = NativeArches();
  if (rule.contains("includes") && rule["includes"].is_object()) {
    const json& includes = rule["includes"];
    std::vector<std::string> want_arches = Strings(includes, "arches");
    if (!want_arches.empty() && !Intersects(want_arches, arches)) return false;
    if (!Contains(caps, Strings(includes, "caps"))) return false;
    if (includes.contains("minKernel") && includes["minKernel"].is_string() &&
        !KernelAtLeast(kernel, includes["minKernel"].get<std::string>()))
      return false;
  }
  if (rule.contains("excludes") && rule["excludes"].is_object()) {
    const json& excludes = rule["excludes"];
    if (Intersects(Strings(excludes, "arches"), arches)) return false;
    if (Intersects(Strings(excludes, "caps"), caps)) return false;
    if (excludes.contains("minKernel") && excludes["minKernel"].is_string() &&
        KernelAtLeast(kernel, excludes["minKernel"].get<std::string>()))
      return false;
  }
  return true;
}

}  // namespace

const json& DefaultSeccompProfile() {
  static const json profile = BuildDefaultProfile();
  return profile;
}

absl::StatusOr<ordered_json> SeccompForContainer(const json& profile, const std::vector<std::string>& caps,
                                                 const std::string& kernel_release) {
  if (!profile.is_object()) return absl::InvalidArgumentError("seccomp profile: not a JSON object");
  ordered_json out;
  out["defaultAction"] = profile.value("defaultAction", "");
  if (!out["defaultAction"].is_string() || out["defaultAction"].get<std::string>().empty())
    return absl::InvalidArgumentError("seccomp profile: defaultAction is missing");
  if (profile.contains("defaultErrnoRet")) out["defaultErrnoRet"] = profile["defaultErrnoRet"];
  // Architectures: the listed ones, or from the archMap the entry of this machine's architecture
  // with its sub-architectures (32-bit programs on a 64-bit kernel).
  std::vector<std::string> architectures = Strings(profile, "architectures");
  if (architectures.empty() && profile.contains("archMap") && profile["archMap"].is_array())
    for (const json& entry : profile["archMap"]) {
      if (!entry.is_object() || entry.value("architecture", "") != NativeSeccompArch()) continue;
      architectures.push_back(entry.value("architecture", ""));
      for (const std::string& sub : Strings(entry, "subArchitectures")) architectures.push_back(sub);
    }
  out["architectures"] = architectures;
  if (profile.contains("flags")) out["flags"] = profile["flags"];
  ordered_json syscalls = ordered_json::array();
  // A syscall that several matching groups allow (syslog: CAP_SYS_ADMIN and CAP_SYSLOG) is
  // listed once: libseccomp takes each rule once.
  std::set<std::string> allowed_outright;
  if (profile.contains("syscalls") && !profile["syscalls"].is_array())
    return absl::InvalidArgumentError("seccomp profile: syscalls is not a list");
  for (const json& rule : profile.value("syscalls", json::array())) {
    if (!rule.is_object()) return absl::InvalidArgumentError("seccomp profile: a syscalls entry is not an object");
    if (!RuleApplies(rule, caps, kernel_release)) continue;
    std::vector<std::string> names = Strings(rule, "names");
    if (rule.contains("name") && rule["name"].is_string()) names.push_back(rule["name"].get<std::string>());
    if (names.empty()) return absl::InvalidArgumentError("seccomp profile: a syscalls entry names no syscall");
    if (!rule.contains("action") || !rule["action"].is_string())
      return absl::InvalidArgumentError(fmt::format("seccomp profile: the rule for {} has no action", Quote(names[0])));
    bool outright = rule["action"] == "SCMP_ACT_ALLOW" && !(rule.contains("args") && rule["args"].is_array() && !rule["args"].empty());
    if (outright) {
      std::erase_if(names, [&](const std::string& name) { return !allowed_outright.insert(name).second; });
      if (names.empty()) continue;
    }
    ordered_json entry{{"names", names}, {"action", rule["action"]}};
    if (rule.contains("errnoRet")) entry["errnoRet"] = rule["errnoRet"];
    if (rule.contains("args") && rule["args"].is_array() && !rule["args"].empty()) entry["args"] = rule["args"];
    syscalls.push_back(std::move(entry));
  }
  out["syscalls"] = std::move(syscalls);
  return out;
}

}  // namespace liman::engine
