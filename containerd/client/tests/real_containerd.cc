#include "containerd/client/tests/real_containerd.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include <grpcpp/create_channel.h>

#include "absl/time/clock.h"
#include "common/file_util.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "containerd/client/call_scope.h"
#include "containerd/server/grpc_status.h"
#include "containerd/services/leases/v1/leases.grpc.pb.h"
#include "containerd/snapshots/testsuite.h"
#include "fmt/format.h"

namespace liman::containerd::client::testing {

namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(30);
constexpr absl::Duration kStopTimeout = absl::Seconds(20);

std::string Socket(const std::string& dir) { return JoinPath(dir, "containerd.sock"); }
std::string LogPath(const std::string& dir) { return JoinPath(dir, "containerd.log"); }

// Everything in the temporary directory; the CRI plugin (which wants CNI, a stream server and
// much else) is disabled, the snapshotter the suite uses is the default overlayfs.
std::string Config(const std::string& dir) {
  return fmt::format(R"(version = 2
root = "{0}/root"
state = "{0}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{1}"
[ttrpc]
  address = "{1}.ttrpc"
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{0}/opt"
)",
                     dir, Socket(dir));
}

// Mount points under `dir` (from /proc/self/mountinfo, whose fifth field is the mount point with
// blanks, tabs, newlines and backslashes octal-escaped: proc(5)).
std::vector<std::string> MountsUnder(const std::string& dir) {
  std::vector<std::string> found;
  absl::StatusOr<std::string> mountinfo = ReadFile("/proc/self/mountinfo");
  if (!mountinfo.ok()) return found;
  size_t pos = 0;
  while (pos < mountinfo->size()) {
    size_t end = mountinfo->find('\n', pos);
    if (end == std::string::npos) end = mountinfo->size();
    std::string_view line(mountinfo->data() + pos, end - pos);
    pos = end + 1;
    size_t field_start = 0;
    for (int i = 0; i < 4 && field_start != std::string_view::npos; ++i) {
      field_start = line.find(' ', field_start);
      if (field_start != std::string_view::npos) ++field_start;
    }
    if (field_start == std::string_view::npos) continue;
    std::string_view escaped = line.substr(field_start, line.find(' ', field_start) - field_start);
    std::string point;
    for (size_t i = 0; i < escaped.size(); ++i) {
      if (escaped[i] == '\\' && i + 3 < escaped.size()) {
        point += static_cast<char>((escaped[i + 1] - '0') * 64 + (escaped[i + 2] - '0') * 8 + (escaped[i + 3] - '0'));
        i += 3;
      } else {
        point += escaped[i];
      }
    }
    if (point.starts_with(dir + "/")) found.push_back(point);
  }
  return found;
}

}  // namespace

std::string RealContainerd::SkipReason() {
  if (access(kContainerdBinary, X_OK) != 0)
    return fmt::format("{} is not installed (Debian package containerd)", kContainerdBinary);
  if (geteuid() != 0) return "containerd needs root (its overlayfs snapshotter mounts)";
  return "";
}

absl::StatusOr<std::unique_ptr<RealContainerd>> RealContainerd::Start() {
  // Overlay upper directories need a filesystem that is neither overlayfs nor tmpfs.
  std::string tmpl = JoinPath(snapshots::testsuite::TestTempBase(), "liman-ctrd-client-XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) return ErrnoError(errno, fmt::format("mkdtemp {}", Quote(tmpl)));
  std::unique_ptr<RealContainerd> daemon(new RealContainerd(tmpl));
  // From here the destructor cleans up whatever a failure leaves.
  LIMAN_RETURN_IF_ERROR(WriteFileAtomic(JoinPath(daemon->dir_, "config.toml"), Config(daemon->dir_)));
  LIMAN_RETURN_IF_ERROR(daemon->Launch());
  LIMAN_RETURN_IF_ERROR(daemon->WaitServing());
  return daemon;
}

absl::Status RealContainerd::Launch() {
  // Everything the child needs is made before fork: between fork and exec a child of a
  // multi-threaded process may only make async-signal-safe calls (signal-safety(7)).
  const std::string config = JoinPath(dir_, "config.toml");
  const std::string tmp = "TMPDIR=" + JoinPath(dir_, "tmp");
  LIMAN_RETURN_IF_ERROR(MkdirAll(JoinPath(dir_, "tmp"), 0700));
  UniqueFd log(open(LogPath(dir_).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log) return ErrnoError(errno, fmt::format("open {}", Quote(LogPath(dir_))));
  UniqueFd null(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null) return ErrnoError(errno, "open /dev/null");
  std::vector<std::string> env_strings = {tmp, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  std::vector<char*> env;
  for (std::string& s : env_strings) env.push_back(s.data());
  env.push_back(nullptr);
  const char* argv[] = {"containerd", "--config", config.c_str(), nullptr};
  const pid_t parent = getpid();

  pid_t pid = fork();
  if (pid < 0) return ErrnoError(errno, "fork");
  if (pid == 0) {
    // containerd must not outlive a test binary that dies without stopping it (prctl(2)).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    if (dup2(null.get(), 0) < 0 || dup2(log.get(), 1) < 0 || dup2(log.get(), 2) < 0) _exit(127);
    syscall(SYS_close_range, 3U, ~0U, 0U);
    execve(kContainerdBinary, const_cast<char* const*>(argv), env.data());
    _exit(127);
  }
  pid_ = pid;
  return absl::OkStatus();
}

absl::Status RealContainerd::WaitServing() {
  channel_ = grpc::CreateChannel("unix://" + Socket(dir_), grpc::InsecureChannelCredentials());
  const absl::Time deadline = absl::Now() + kStartTimeout;
  // gRPC reconnects with backoff until the socket is there; checking in short slices notices a
  // containerd that exited instead of waiting out the whole timeout.
  while (absl::Now() < deadline) {
    int wstatus;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(fmt::format("containerd exited during start-up (status {:#x}); its log:\n{}",
                                             wstatus, LogTail()));
    }
    if (channel_->WaitForConnected(std::chrono::system_clock::now() + std::chrono::milliseconds(250)))
      return absl::OkStatus();
  }
  return absl::DeadlineExceededError(
      fmt::format("containerd did not serve {} within {}; its log:\n{}", Socket(dir_), absl::FormatDuration(kStartTimeout), LogTail()));
}

std::string RealContainerd::LogTail() const {
  absl::StatusOr<std::string> log = ReadFile(LogPath(dir_));
  if (!log.ok()) return log.status().ToString();
  constexpr size_t kTail = 4000;
  return log->size() > kTail ? log->substr(log->size() - kTail) : *log;
}

absl::Status RealContainerd::CreateLease(const std::string& ns, const std::string& id) {
  auto stub = ::containerd::services::leases::v1::Leases::NewStub(channel_);
  ::containerd::services::leases::v1::CreateRequest request;
  request.set_id(id);
  ::containerd::services::leases::v1::CreateResponse response;
  auto context = NewCallContext(CallScope{.ns = ns, .lease = "", .timeout = absl::Minutes(1)});
  grpc::Status status = stub->Create(context.get(), request, &response);
  if (!status.ok()) return Annotate(server::FromGrpcStatus(status), fmt::format("create lease {} in {}", id, ns));
  return absl::OkStatus();
}

void RealContainerd::Stop() {
  channel_.reset();
  if (pid_ > 0) {
    // A pidfd becomes readable when the process exits (pidfd_open(2)): a wait with a timeout.
    UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid_, 0)));
    kill(pid_, SIGTERM);
    pollfd exited = {.fd = pidfd.get(), .events = POLLIN, .revents = 0};
    if (!pidfd || poll(&exited, 1, static_cast<int>(absl::ToInt64Milliseconds(kStopTimeout))) != 1) {
      fmt::print(stderr, "containerd ({}) still there {} after SIGTERM: killing it\n", pid_,
                 absl::FormatDuration(kStopTimeout));
      kill(pid_, SIGKILL);
    }
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  // Deepest first; stacked mounts come back on the next round.
  for (int round = 0; round < 16; ++round) {
    std::vector<std::string> mounts = MountsUnder(dir_);
    if (mounts.empty()) break;
    std::sort(mounts.begin(), mounts.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const std::string& mount : mounts) {
      if (umount2(mount.c_str(), MNT_DETACH) != 0)
        fmt::print(stderr, "umount {}: {}\n", mount, ErrnoText(errno));
    }
  }
}

RealContainerd::~RealContainerd() {
  Stop();
  if (absl::Status status = RemoveAll(dir_); !status.ok()) fmt::print(stderr, "remove {}: {}\n", dir_, status);
}

}  // namespace liman::containerd::client::testing
