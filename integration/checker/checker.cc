// liman-checker: a tiny static program that the runtime integration tests copy into a container's
// rootfs (as /bin/checker) to report facts *from inside* the container. Each subcommand prints
// `key=value` lines (raw text for dump-style commands), so bats can assert exact values with grep.
//
// Several subcommands may be given in one invocation (`checker ids caps nnp`); each takes a fixed
// number of arguments. The exit status is 0 when every subcommand succeeded, 1 when one reported an
// error (printed as `<cmd>=<ERRNO NAME>`), 2 on a usage error; `exit N` ends at once with N.
//
// Statically linked on purpose: the rootfs is a bare busybox tree without a libc, and nothing here
// may do NSS look-ups (no getpwnam & co.), so it works in any rootfs and any user namespace.
//
// One subcommand, `console-receiver`, runs on the HOST, not in the container: it is the
// --console-socket peer that receives the pty master from the runtime (SCM_RIGHTS) and copies
// everything the container writes to its terminal into a file.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace {

using Args = std::vector<std::string>;

// Errno as its symbolic name ("EPERM"): tests assert names, not locale-dependent messages.
std::string ErrName(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : "E" + std::to_string(err);
}

// Prints `cmd=ERRNAME` for the current errno and returns the failure status.
int Fail(const std::string& cmd, int err = errno) {
  printf("%s=%s\n", cmd.c_str(), ErrName(err).c_str());
  return 1;
}

bool ReadFile(const std::string& path, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->clear();
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      errno = err;
      return false;
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return true;
}

// Copies a file verbatim to stdout (mountinfo, cgroup, ...).
int Dump(const std::string& cmd, const std::string& path) {
  std::string data;
  if (!ReadFile(path, &data)) return Fail(cmd);
  fwrite(data.data(), 1, data.size(), stdout);
  return 0;
}

// Value of a "Key:\tvalue" line of /proc/self/status ("" when absent).
std::string StatusField(const std::string& key) {
  std::string data;
  if (!ReadFile("/proc/self/status", &data)) return "";
  size_t pos = 0;
  while (pos < data.size()) {
    size_t end = data.find('\n', pos);
    if (end == std::string::npos) end = data.size();
    std::string_view line(data.data() + pos, end - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      std::string_view v = line.substr(key.size() + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      return std::string(v);
    }
    pos = end + 1;
  }
  return "";
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

long long ToNum(const std::string& s) { return strtoll(s.c_str(), nullptr, 0); }

// --- container facts ----------------------------------------------------------------------------

// Namespace inodes: compared with the host's (must differ for a new namespace) or with a joined
// namespace's path (must be equal). "none" when the kernel lacks that namespace type.
int CmdNs(const Args&) {
  for (const char* ns : {"pid", "net", "mnt", "ipc", "uts", "user", "cgroup", "time"}) {
    struct stat st;
    std::string path = std::string("/proc/self/ns/") + ns;
    if (stat(path.c_str(), &st) == 0)
      printf("ns.%s=%llu\n", ns, static_cast<unsigned long long>(st.st_ino));
    else
      printf("ns.%s=none\n", ns);
  }
  return 0;
}

// The container's init must be pid 1 of a fresh pid namespace (ppid 0).
int CmdPid(const Args&) {
  printf("pid=%d\nppid=%d\n", getpid(), getppid());
  return 0;
}

// The five capability sets exactly as the kernel reports them (hex masks).
int CmdCaps(const Args&) {
  for (const char* k : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
    printf("%s=%s\n", k, StatusField(k).c_str());
  return 0;
}

// process.user: uid/gid, supplementary groups (exact list, comma separated) and umask.
int CmdIds(const Args&) {
  printf("uid=%u\neuid=%u\ngid=%u\negid=%u\n", getuid(), geteuid(), getgid(), getegid());
  int n = getgroups(0, nullptr);
  std::vector<gid_t> groups(n > 0 ? n : 0);
  if (n > 0) n = getgroups(n, groups.data());
  std::string list;
  for (int i = 0; i < n; ++i) list += (i ? "," : "") + std::to_string(groups[i]);
  printf("groups=%s\n", list.c_str());
  mode_t old = umask(0);  // umask(2) is the only portable way to read it; restore at once
  umask(old);
  printf("umask=%04o\n", old);
  return 0;
}

// process.rlimits: soft/hard of one resource ("unlimited" for RLIM_INFINITY).
int CmdRlimit(const Args& a) {
  static const std::map<std::string, int> kNames = {
      {"CPU", RLIMIT_CPU},         {"FSIZE", RLIMIT_FSIZE},   {"DATA", RLIMIT_DATA},
      {"STACK", RLIMIT_STACK},     {"CORE", RLIMIT_CORE},     {"RSS", RLIMIT_RSS},
      {"NPROC", RLIMIT_NPROC},     {"NOFILE", RLIMIT_NOFILE}, {"MEMLOCK", RLIMIT_MEMLOCK},
      {"AS", RLIMIT_AS},           {"LOCKS", RLIMIT_LOCKS},   {"SIGPENDING", RLIMIT_SIGPENDING},
      {"MSGQUEUE", RLIMIT_MSGQUEUE}, {"NICE", RLIMIT_NICE},   {"RTPRIO", RLIMIT_RTPRIO},
      {"RTTIME", RLIMIT_RTTIME}};
  std::string name = a[0];
  std::transform(name.begin(), name.end(), name.begin(), ::toupper);
  if (name.rfind("RLIMIT_", 0) == 0) name = name.substr(7);
  auto it = kNames.find(name);
  if (it == kNames.end()) return Fail("rlimit", EINVAL);
  struct rlimit rl;
  if (getrlimit(it->second, &rl) != 0) return Fail("rlimit");
  auto show = [](rlim_t v) {
    return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v);
  };
  printf("soft=%s\nhard=%s\n", show(rl.rlim_cur).c_str(), show(rl.rlim_max).c_str());
  return 0;
}

// process.noNewPrivileges: both the prctl view and the status field.
int CmdNnp(const Args&) {
  printf("NoNewPrivs=%s\n", StatusField("NoNewPrivs").c_str());
  printf("prctl_nnp=%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
  return 0;
}

// linux.seccomp: mode 2 means a filter is installed.
int CmdSeccomp(const Args&) {
  printf("Seccomp=%s\n", StatusField("Seccomp").c_str());
  std::string filters = StatusField("Seccomp_filters");
  if (!filters.empty()) printf("Seccomp_filters=%s\n", filters.c_str());
  return 0;
}

// mkdir(2) through the raw syscall (not mkdirat) so seccomp rules on `mkdir` and its mode
// argument (index 1) are exercised deterministically.
int DoMkdir(const std::string& cmd, const std::string& path, mode_t mode) {
  if (syscall(SYS_mkdir, path.c_str(), mode) != 0) return Fail(cmd);
  printf("%s=ok\n", cmd.c_str());
  return 0;
}
int CmdMkdir(const Args& a) { return DoMkdir("mkdir", a[0], 0755); }
int CmdMkdirMode(const Args& a) {
  return DoMkdir("mkdir", a[0], static_cast<mode_t>(strtoul(a[1].c_str(), nullptr, 8)));
}

// Open descriptors besides stdio: nothing of the runtime's may leak in (CVE-2024-21626 leaked a
// host cgroup directory fd); --preserve-fds ones must be there.
int CmdFds(const Args&) {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return Fail("fds");
  std::vector<int> fds;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd > 2 && fd != dirfd(d)) fds.push_back(fd);
  }
  closedir(d);
  std::sort(fds.begin(), fds.end());
  for (int fd : fds) {
    char target[4096];
    std::string p = "/proc/self/fd/" + std::to_string(fd);
    ssize_t n = readlink(p.c_str(), target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    printf("fd.%d=%s\n", fd, target);
  }
  printf("nfds=%zu\n", fds.size());
  return 0;
}

// process.cwd. The raw getcwd syscall is used because it reports "(unreachable)/..." for a cwd
// outside the container's root (glibc would hide that behind ENOENT) -- the breakout signature.
int CmdCwd(const Args&) {
  char buf[4096];
  long n = syscall(SYS_getcwd, buf, sizeof buf);
  if (n < 0) return Fail("cwd");
  printf("cwd=%s\n", buf);
  return 0;
}

// hostname and domainname (uts namespace).
int CmdHostname(const Args&) {
  struct utsname u;
  if (uname(&u) != 0) return Fail("hostname");
  printf("hostname=%s\ndomainname=%s\n", u.nodename, u.domainname);
  return 0;
}

// Write access: read-only root / readonlyPaths / ro binds must fail with EROFS.
int CmdWrite(const Args& a) {
  int fd = open(a[0].c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Fail("write");
  if (write(fd, a[1].data(), a[1].size()) != static_cast<ssize_t>(a[1].size())) {
    int err = errno;
    close(fd);
    return Fail("write", err);
  }
  if (close(fd) != 0) return Fail("write");
  printf("write=ok\n");
  return 0;
}

// Raw file content (masked files must read empty); `read=ERRNO` on failure.
int CmdRead(const Args& a) { return Dump("read", a[0]); }

const char* FileType(mode_t m) {
  switch (m & S_IFMT) {
    case S_IFREG: return "file";
    case S_IFDIR: return "dir";
    case S_IFLNK: return "symlink";
    case S_IFCHR: return "chr";
    case S_IFBLK: return "blk";
    case S_IFIFO: return "fifo";
    case S_IFSOCK: return "socket";
  }
  return "unknown";
}

// lstat: device nodes (type, major:minor, mode, owner) and symlink targets (/dev/fd, /dev/ptmx).
int CmdStat(const Args& a) {
  struct stat st;
  if (lstat(a[0].c_str(), &st) != 0) return Fail("stat");
  printf("type=%s\n", FileType(st.st_mode));
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
    printf("major=%u\nminor=%u\n", major(st.st_rdev), minor(st.st_rdev));
  printf("mode=%04o\nuid=%u\ngid=%u\nsize=%lld\nino=%llu\n", st.st_mode & 07777, st.st_uid,
         st.st_gid, static_cast<long long>(st.st_size), static_cast<unsigned long long>(st.st_ino));
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlink(a[0].c_str(), target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    printf("target=%s\n", target);
  }
  return 0;
}

// Filesystem type, size and mount flags of a mount point (tmpfs options, ro/nosuid/noexec...).
int CmdStatfs(const Args& a) {
  struct statfs sf;
  struct statvfs sv;
  if (statfs(a[0].c_str(), &sf) != 0 || statvfs(a[0].c_str(), &sv) != 0) return Fail("statfs");
  static const std::map<unsigned long, const char*> kTypes = {
      {0x01021994, "tmpfs"},  {0x9fa0, "proc"},       {0x62656572, "sysfs"},
      {0x1cd1, "devpts"},     {0x19800202, "mqueue"}, {0x27e0eb, "cgroup"},
      {0x63677270, "cgroup2"}, {0xef53, "ext4"},      {0x794c7630, "overlay"},
      {0x9123683e, "btrfs"},  {0x58465342, "xfs"}};
  auto it = kTypes.find(static_cast<unsigned long>(sf.f_type));
  if (it != kTypes.end())
    printf("fstype=%s\n", it->second);
  else
    printf("fstype=0x%lx\n", static_cast<unsigned long>(sf.f_type));
  printf("size=%llu\n", static_cast<unsigned long long>(sv.f_blocks) * sv.f_frsize);
  std::string flags;
  auto add = [&](unsigned long bit, const char* name) {
    if (sv.f_flag & bit) flags += (flags.empty() ? "" : ",") + std::string(name);
  };
  add(ST_RDONLY, "ro");
  add(ST_NOSUID, "nosuid");
  add(ST_NODEV, "nodev");
  add(ST_NOEXEC, "noexec");
  printf("flags=%s\n", flags.c_str());
  return 0;
}

// Directory entries, sorted, one per line (a masked directory must be empty).
int CmdLs(const Args& a) {
  DIR* d = opendir(a[0].c_str());
  if (!d) return Fail("ls");
  std::vector<std::string> names;
  while (struct dirent* e = readdir(d))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) names.push_back(e->d_name);
  closedir(d);
  std::sort(names.begin(), names.end());
  for (auto& n : names) printf("%s\n", n.c_str());
  return 0;
}

// The mount table as the container sees it (mounts, propagation, options).
int CmdMountinfo(const Args&) { return Dump("mountinfo", "/proc/self/mountinfo"); }

// The container's cgroup membership (cgroupsPath, cgroup namespace).
int CmdCgroup(const Args&) { return Dump("cgroup", "/proc/self/cgroup"); }

// Touches N MiB of anonymous memory: beyond a memory limit the cgroup OOM killer must kill us.
int CmdAlloc(const Args& a) {
  long mib = ToNum(a[0]);
  for (long i = 0; i < mib; ++i) {
    void* p = mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return Fail("alloc");
    memset(p, 0x5a, 1 << 20);
  }
  printf("alloc=ok\n");
  return 0;
}

// Tries N forks (children wait), reports how many succeeded: the pids limit must stop them.
int CmdFork(const Args& a) {
  long n = ToNum(a[0]);
  std::vector<pid_t> kids;
  int err = 0;
  for (long i = 0; i < n; ++i) {
    pid_t p = fork();
    if (p == 0) {
      pause();
      _exit(0);
    }
    if (p < 0) {
      err = errno;
      break;
    }
    kids.push_back(p);
  }
  for (pid_t p : kids) kill(p, SIGKILL);
  for (pid_t p : kids) waitpid(p, nullptr, 0);
  printf("forked=%zu\nfork_errno=%s\n", kids.size(), err ? ErrName(err).c_str() : "none");
  return 0;
}

std::string DevIno(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return "?";
  return std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
         std::to_string(static_cast<unsigned long long>(st.st_ino));
}

// CVE-2019-5736: /proc/PID/exe of a runtime process that entered the container must not be the
// host's runtime binary opened for writing. Never writes anything, only reports.
int CmdOpenExeRw(const Args& a) {
  std::string path = "/proc/" + a[0] + "/exe";
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Fail("open-exe-rw");
  printf("open-exe-rw=ok\nexe=%s\n", DevIno(fd).c_str());
  close(fd);
  return 0;
}

// CVE-2019-5736, racing version: for SECONDS, scans every other pid's /proc/PID/exe and keeps an
// O_PATH handle on each distinct executable -- the exploit's first step. At the end, when the
// processes (a runtime's exec helper among them) are gone, it tries the second step: reopening
// each handle through /proc/self/fd for writing (closed at once, nothing is ever written).
// Prints `exe=DEV:INO LINK reopen=ok|ERRNO`, `writable=N` (direct O_WRONLY successes), `scans=N`.
// The test compares DEV:INO with the host runtime binary's.
int CmdExeScan(const Args& a) {
  double secs = strtod(a[0].c_str(), nullptr);
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  struct Seen {
    std::string link;
    int fd;
  };
  std::map<std::string, Seen> seen;  // dev:ino -> handle
  long writable = 0, scans = 0;
  pid_t self = getpid();
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 > secs) break;
    ++scans;
    DIR* d = opendir("/proc");
    if (!d) return Fail("exe-scan");
    while (struct dirent* e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9' || atoi(e->d_name) == self) continue;
      std::string path = std::string("/proc/") + e->d_name + "/exe";
      int pfd = open(path.c_str(), O_PATH | O_CLOEXEC);
      if (pfd < 0) continue;
      std::string id = DevIno(pfd);
      if (seen.count(id)) {
        close(pfd);
      } else {
        char target[4096];
        ssize_t n = readlink(path.c_str(), target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        seen[id] = {target, pfd};
      }
      int wfd = open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NONBLOCK);
      if (wfd >= 0) {
        ++writable;
        close(wfd);
      }
    }
    closedir(d);
  }
  for (auto& [id, s] : seen) {
    std::string via = "/proc/self/fd/" + std::to_string(s.fd);
    int wfd = open(via.c_str(), O_WRONLY | O_CLOEXEC | O_NONBLOCK);
    std::string result = wfd >= 0 ? "ok" : ErrName(errno);
    if (wfd >= 0) close(wfd);
    close(s.fd);
    printf("exe=%s %s reopen=%s\n", id.c_str(), s.link.c_str(), result.c_str());
  }
  printf("writable=%ld\nscans=%ld\n", writable, scans);
  return 0;
}

// linux.sysctl: value of /proc/sys/<name with dots as slashes>.
int CmdSysctl(const Args& a) {
  std::string path = "/proc/sys/" + a[0];
  std::replace(path.begin() + 10, path.end(), '.', '/');
  std::string v;
  if (!ReadFile(path, &v)) return Fail("sysctl");
  printf("%s=%s\n", a[0].c_str(), Trim(v).c_str());
  return 0;
}

// A long-running (or short) process for lifecycle, exec, ps, pause tests.
int CmdSleep(const Args& a) {
  double secs = strtod(a[0].c_str(), nullptr);
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(secs);
  ts.tv_nsec = static_cast<long>((secs - ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  return 0;
}

// process.oomScoreAdj.
int CmdOomScoreAdj(const Args&) {
  std::string v;
  if (!ReadFile("/proc/self/oom_score_adj", &v)) return Fail("oom_score_adj");
  printf("oom_score_adj=%s\n", Trim(v).c_str());
  return 0;
}

// process.env, one variable per line.
int CmdEnv(const Args&) {
  for (char** e = environ; *e; ++e) printf("%s\n", *e);
  return 0;
}

// process.terminal: stdio must be a tty exactly when a terminal was requested.
int CmdTty(const Args&) {
  for (int fd = 0; fd < 3; ++fd) printf("tty%d=%d\n", fd, isatty(fd) ? 1 : 0);
  char name[256];
  if (ttyname_r(0, name, sizeof name) == 0) printf("ttyname=%s\n", name);
  return 0;
}

// linux.timeOffsets: CLOCK_MONOTONIC / CLOCK_BOOTTIME seconds as seen inside (time namespace).
int CmdClocks(const Args&) {
  struct timespec m, b;
  clock_gettime(CLOCK_MONOTONIC, &m);
  clock_gettime(CLOCK_BOOTTIME, &b);
  printf("monotonic=%lld\nboottime=%lld\n", static_cast<long long>(m.tv_sec),
         static_cast<long long>(b.tv_sec));
  return 0;
}

// cpuset: the CPUs this process may run on, as a sorted comma list.
int CmdAffinity(const Args&) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return Fail("affinity");
  std::string list;
  for (int i = 0; i < CPU_SETSIZE; ++i)
    if (CPU_ISSET(i, &set)) list += (list.empty() ? "" : ",") + std::to_string(i);
  printf("cpus=%s\n", list.c_str());
  return 0;
}

volatile sig_atomic_t g_pending[65];
void OnSignal(int sig) { g_pending[sig] = 1; }

// kill: installs handlers (pid 1 of a pid namespace ignores signals it has no handler for), says
// `ready`, prints `signal=N` for each signal received and exits 128+N on SIGTERM/SIGINT.
int CmdSignals(const Args&) {
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  sigprocmask(SIG_BLOCK, &all, nullptr);
  for (int s = 1; s < NSIG && s < 65; ++s) {
    if (s == SIGKILL || s == SIGSTOP || s == SIGCHLD || s == SIGWINCH || s == SIGURG) continue;
    struct sigaction sa = {};
    sa.sa_handler = OnSignal;
    sigaction(s, &sa, nullptr);
  }
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    sigsuspend(&none);
    for (int s = 1; s < 65; ++s) {
      if (!g_pending[s]) continue;
      g_pending[s] = 0;
      printf("signal=%d\n", s);
      fflush(stdout);
      if (s == SIGTERM || s == SIGINT) exit(128 + s);
    }
  }
}

// HOST side of --console-socket: receives the pty master over SCM_RIGHTS and copies the
// container's terminal output to OUT until the pty hangs up.
int CmdConsoleReceiver(const Args& a) {
  int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (a[0].size() >= sizeof addr.sun_path) return Fail("console-receiver", ENAMETOOLONG);
  strcpy(addr.sun_path, a[0].c_str());
  unlink(a[0].c_str());
  if (ls < 0 || bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(ls, 1) != 0)
    return Fail("console-receiver");
  int out = open(a[1].c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) return Fail("console-receiver");
  struct pollfd p = {ls, POLLIN, 0};
  if (poll(&p, 1, 120000) != 1) return Fail("console-receiver", ETIMEDOUT);
  int conn = accept4(ls, nullptr, nullptr, SOCK_CLOEXEC);
  if (conn < 0) return Fail("console-receiver");
  char name[4096];
  struct iovec iov = {name, sizeof name};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) < 0) return Fail("console-receiver");
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
    return Fail("console-receiver", EBADMSG);
  int master;
  memcpy(&master, CMSG_DATA(c), sizeof master);
  close(conn);
  close(ls);
  unlink(a[0].c_str());
  char buf[4096];
  for (;;) {
    ssize_t n = read(master, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EIO: every slave fd is closed (the container exited)
    if (write(out, buf, static_cast<size_t>(n)) != n) break;
  }
  close(out);
  return 0;
}

struct Command {
  const char* name;
  size_t nargs;
  int (*fn)(const Args&);
  const char* usage;
};

const Command kCommands[] = {
    {"ns", 0, CmdNs, "inodes of /proc/self/ns/*"},
    {"pid", 0, CmdPid, "pid and ppid"},
    {"caps", 0, CmdCaps, "capability sets (hex)"},
    {"ids", 0, CmdIds, "uid, gid, groups, umask"},
    {"rlimit", 1, CmdRlimit, "NAME: soft/hard limit"},
    {"nnp", 0, CmdNnp, "no_new_privs"},
    {"seccomp", 0, CmdSeccomp, "seccomp mode"},
    {"mkdir", 1, CmdMkdir, "PATH: mkdir(2) mode 0755"},
    {"mkdir-mode", 2, CmdMkdirMode, "PATH MODE(octal): mkdir(2)"},
    {"fds", 0, CmdFds, "open fds besides 0,1,2"},
    {"cwd", 0, CmdCwd, "working directory"},
    {"hostname", 0, CmdHostname, "hostname and domainname"},
    {"write", 2, CmdWrite, "PATH DATA: create/truncate and write"},
    {"read", 1, CmdRead, "PATH: file content"},
    {"stat", 1, CmdStat, "PATH: lstat"},
    {"statfs", 1, CmdStatfs, "PATH: fs type, size, mount flags"},
    {"ls", 1, CmdLs, "DIR: entries"},
    {"mountinfo", 0, CmdMountinfo, "/proc/self/mountinfo"},
    {"cgroup", 0, CmdCgroup, "/proc/self/cgroup"},
    {"alloc", 1, CmdAlloc, "MiB: touch memory"},
    {"fork", 1, CmdFork, "N: count successful forks"},
    {"open-exe-rw", 1, CmdOpenExeRw, "PID: open /proc/PID/exe for writing"},
    {"exe-scan", 1, CmdExeScan, "SECONDS: watch every /proc/*/exe"},
    {"sysctl", 1, CmdSysctl, "NAME: /proc/sys value"},
    {"sleep", 1, CmdSleep, "SECONDS"},
    {"oom-score-adj", 0, CmdOomScoreAdj, "oom_score_adj"},
    {"env", 0, CmdEnv, "environment"},
    {"tty", 0, CmdTty, "isatty of 0, 1, 2"},
    {"clocks", 0, CmdClocks, "monotonic and boottime seconds"},
    {"affinity", 0, CmdAffinity, "allowed CPUs"},
    {"signals", 0, CmdSignals, "report received signals"},
    {"console-receiver", 2, CmdConsoleReceiver, "SOCKET OUT: (host) pty master receiver"},
};

int Usage() {
  fprintf(stderr, "usage: checker CMD [ARGS]... [CMD [ARGS]...]...\n");
  fprintf(stderr, "  %-18s %s\n", "exit", "N: exit at once with status N");
  for (const auto& c : kCommands) fprintf(stderr, "  %-18s %s\n", c.name, c.usage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);  // output may be a file polled by the test
  if (argc < 2) return Usage();
  int status = 0;
  for (int i = 1; i < argc;) {
    std::string name = argv[i++];
    if (name == "exit") {
      if (i >= argc) return Usage();
      fflush(stdout);
      return atoi(argv[i]);
    }
    const Command* cmd = nullptr;
    for (const auto& c : kCommands)
      if (name == c.name) cmd = &c;
    if (!cmd || i + static_cast<int>(cmd->nargs) > argc) return Usage();
    Args args(argv + i, argv + i + cmd->nargs);
    i += static_cast<int>(cmd->nargs);
    if (cmd->fn(args) != 0) status = 1;
  }
  fflush(stdout);
  return status;
}
