#include "shim/oom_watch.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "common/event_loop.h"
#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"
#include "shim/tests/test_util.h"

using namespace liman;
using namespace liman::shim;
using namespace liman::shim::testing;

namespace {

void Write(const std::string& path, const std::string& text) {
  REQUIRE(MkdirAll(path.substr(0, path.rfind('/'))).ok());
  // A plain open+write: the v2 watch follows the inode, which a rename would replace.
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  close(fd);
}

// Why a root-only test cannot run here, or empty when it can.
std::string CannotUseV1Memory() {
  if (geteuid() != 0) return "not root";
  if (!PathExists("/sys/fs/cgroup/memory/cgroup.event_control")) return "no cgroup v1 memory hierarchy";
  return "";
}

// A fresh v1 memory cgroup for one test, removed (after its processes) at the end.
struct V1Cgroup {
  std::string path;
  explicit V1Cgroup(uint64_t limit) {
    path = fmt::format("/sys/fs/cgroup/memory/liman-oom-test-{}", getpid());
    rmdir(path.c_str());
    REQUIRE(mkdir(path.c_str(), 0755) == 0);
    REQUIRE(WriteFile(JoinPath(path, "memory.limit_in_bytes"), std::to_string(limit)).ok());
    // With swap a tiny limit only pushes pages out; memsw caps memory plus swap.
    if (PathExists(JoinPath(path, "memory.memsw.limit_in_bytes")))
      REQUIRE(WriteFile(JoinPath(path, "memory.memsw.limit_in_bytes"), std::to_string(limit)).ok());
  }
  ~V1Cgroup() { rmdir(path.c_str()); }
};

// A child that waits for a byte on `go`, then either allocates until the OOM killer takes it or
// exits normally.
pid_t ForkWorker(int go, bool allocate) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    char byte;
    if (read(go, &byte, 1) != 1) _exit(2);
    if (!allocate) _exit(0);
    for (int i = 0; i < 64; ++i) {  // up to 256 MiB, touched page by page
      void* block = mmap(nullptr, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (block == MAP_FAILED) _exit(3);
      memset(block, 1, 4 << 20);
    }
    _exit(4);  // not killed: the limit did not hold
  }
  return pid;
}

}  // namespace

TEST_CASE("FindMemoryCgroup reads the process's cgroups and the cgroup mounts") {
  TempDir temp("liman-oom-test");
  std::string proc = temp.path();
  // A hybrid host: v1 controllers plus cgroup2 at unified/; mount points with a space (\040).
  Write(JoinPath(proc, "self/mountinfo"),
        "22 1 0:21 / / rw - ext4 /dev/sda1 rw\n"
        "30 22 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs ro,mode=755\n"
        "31 30 0:27 / /sys/fs/cgroup/unified rw shared:5 - cgroup2 cgroup2 rw,nsdelegate\n"
        "35 30 0:31 / /sys/fs/cgroup/cpu,cpuacct rw shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
        "36 30 0:32 / /sys/fs/cgroup/my\\040memory rw shared:10 - cgroup cgroup rw,memory\n");
  Write(JoinPath(proc, "42/cgroup"),
        "12:cpu,cpuacct:/liman/c1\n"
        "9:memory:/liman/c1\n"
        "1:name=systemd:/liman/c1\n"
        "0::/liman/c1\n");
  auto found = FindMemoryCgroup(42, proc);
  REQUIRE(found.ok());
  CHECK(found->version == 1);
  CHECK(found->path == "/sys/fs/cgroup/my memory/liman/c1");

  // A unified host: the memory controller's files are in the process's cgroup2 directory.
  std::string cgroup2 = JoinPath(proc, "cgroup2");
  Write(JoinPath(proc, "self/mountinfo"), fmt::format("31 30 0:27 / {} rw - cgroup2 cgroup2 rw\n", cgroup2));
  Write(JoinPath(proc, "43/cgroup"), "0::/system.slice/c2:with:colons\n");
  Write(JoinPath(cgroup2, "system.slice/c2:with:colons/memory.events"), "oom 0\noom_kill 0\n");
  found = FindMemoryCgroup(43, proc);
  REQUIRE(found.ok());
  CHECK(found->version == 2);
  CHECK(found->path == JoinPath(cgroup2, "system.slice/c2:with:colons"));

  // A mount of a sub-tree (as inside a cgroup namespace): the mount root is cut off the path.
  Write(JoinPath(proc, "self/mountinfo"), "36 30 0:32 /liman /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
  found = FindMemoryCgroup(42, proc);
  REQUIRE(found.ok());
  CHECK(found->path == "/sys/fs/cgroup/memory/c1");

  // No memory controller anywhere.
  Write(JoinPath(proc, "self/mountinfo"), "35 30 0:31 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n");
  CHECK(FindMemoryCgroup(42, proc).status().code() == absl::StatusCode::kNotFound);
  REQUIRE(RemoveAll(proc).ok());
}

TEST_CASE("The v2 watch reports growth of memory.events' oom_kill and stops with the file") {
  TempDir temp("liman-oom-test");
  std::string dir = temp.path();
  std::string events = JoinPath(dir, "memory.events");
  Write(events, "low 0\nhigh 0\nmax 0\noom 0\noom_kill 2\n");  // kills before the watch are old news
  auto loop = EventLoop::Create();
  REQUIRE(loop.ok());
  int ooms = 0;
  auto watch = OomWatch::ForCgroup(loop->get(), {2, dir}, [&] { ++ooms; });
  REQUIRE(watch.ok());
  CHECK((*watch)->active());

  Write(events, "low 0\nhigh 0\nmax 5\noom 0\noom_kill 2\n");  // another counter moved
  RunUntil(**loop, [&] { return ooms > 0; }, absl::Milliseconds(200));
  CHECK(ooms == 0);
  Write(events, "low 0\nhigh 0\nmax 6\noom 1\noom_kill 3\n");
  RunUntil(**loop, [&] { return ooms > 0; }, absl::Seconds(2));
  CHECK(ooms == 1);

  REQUIRE(unlink(events.c_str()) == 0);  // the cgroup went away
  RunUntil(**loop, [&] { return !(*watch)->active(); }, absl::Seconds(2));
  CHECK(!(*watch)->active());
  CHECK(ooms == 1);
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("A watch may be destroyed from its own callback") {
  TempDir temp("liman-oom-test");
  std::string dir = temp.path();
  std::string events = JoinPath(dir, "memory.events");
  Write(events, "oom_kill 0\n");
  auto loop = EventLoop::Create();
  REQUIRE(loop.ok());
  std::unique_ptr<OomWatch> watch;
  int ooms = 0;
  auto created = OomWatch::ForCgroup(loop->get(), {2, dir}, [&] {
    ++ooms;
    watch.reset();
  });
  REQUIRE(created.ok());
  watch = std::move(*created);
  Write(events, "oom_kill 1\n");
  RunUntil(**loop, [&] { return watch == nullptr; }, absl::Seconds(2));
  CHECK(ooms == 1);
  CHECK(watch == nullptr);
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("The v1 watch reports a real OOM kill, and a removed cgroup is not an OOM") {
  if (std::string why = CannotUseV1Memory(); !why.empty()) {
    WARN("SKIPPED: the cgroup v1 OOM test needs root and /sys/fs/cgroup/memory: " << why);
    return;
  }
  auto loop = EventLoop::Create();
  REQUIRE(loop.ok());

  SECTION("an allocation past the limit") {
    V1Cgroup cgroup(16 << 20);
    int go[2];
    REQUIRE(pipe(go) == 0);
    pid_t child = ForkWorker(go[0], /*allocate=*/true);
    close(go[0]);
    REQUIRE(WriteFile(JoinPath(cgroup.path, "cgroup.procs"), std::to_string(child)).ok());
    auto found = FindMemoryCgroup(child);
    REQUIRE(found.ok());
    CHECK(found->version == 1);
    CHECK(found->path == cgroup.path);
    int ooms = 0;
    auto watch = OomWatch::ForProcess(loop->get(), child, [&] { ++ooms; });
    REQUIRE(watch.ok());
    REQUIRE(write(go[1], "x", 1) == 1);
    close(go[1]);
    RunUntil(**loop, [&] { return ooms > 0; }, absl::Seconds(10));
    CHECK(ooms >= 1);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);

    // The group goes away after its process: the watch notices and reports nothing more.
    RunFor(**loop, absl::Milliseconds(200));  // notifications still queued
    int before = ooms;
    REQUIRE(rmdir(cgroup.path.c_str()) == 0);
    RunUntil(**loop, [&] { return !(*watch)->active(); }, absl::Seconds(2));
    CHECK(!(*watch)->active());
    CHECK(ooms == before);
  }

  SECTION("a normal exit followed by removal") {
    V1Cgroup cgroup(64 << 20);
    int go[2];
    REQUIRE(pipe(go) == 0);
    pid_t child = ForkWorker(go[0], /*allocate=*/false);
    close(go[0]);
    REQUIRE(WriteFile(JoinPath(cgroup.path, "cgroup.procs"), std::to_string(child)).ok());
    int ooms = 0;
    auto watch = OomWatch::ForCgroup(loop->get(), {1, cgroup.path}, [&] { ++ooms; });
    REQUIRE(watch.ok());
    REQUIRE(write(go[1], "x", 1) == 1);
    close(go[1]);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    REQUIRE(rmdir(cgroup.path.c_str()) == 0);
    RunUntil(**loop, [&] { return !(*watch)->active(); }, absl::Seconds(2));
    CHECK(!(*watch)->active());  // the removal was seen…
    CHECK(ooms == 0);            // …and not taken for an OOM
  }
}
