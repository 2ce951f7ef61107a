// The cgroup manager on the real kernel: needs root and a writable /sys/fs/cgroup, skipped
// otherwise. Makes /liman-unit-<pid>[-bpf] cgroups and removes them even when a check fails.
#include <fcntl.h>
#include <linux/bpf.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <functional>

#include "common/file_util.h"
#include "common/status.h"
#include "runtime/cgroup_entry.h"
#include "runtime/cgroups/device_rules.h"
#include "runtime/cgroups/fs_util.h"
#include "runtime/cgroups/manager.h"

using namespace liman;
using namespace liman::cgroups;

namespace {

constexpr char kMountRoot[] = "/sys/fs/cgroup";

// Why the real-kernel tests cannot run here, or empty.
std::string SkipReason() {
  if (geteuid() != 0) return "not root";
  if (!DetectLayout(kMountRoot).ok()) return "no cgroup hierarchy mounted at /sys/fs/cgroup";
  if (access(kMountRoot, W_OK) != 0) return "/sys/fs/cgroup is not writable";
  return "";
}

// A child that enters the manager's cgroup by itself, as the runtime's processes do
// (runtime/cgroup_entry.h), then runs `body` once the parent writes a byte to its pipe, and
// _exits with its result. The constructor returns once the child is in the cgroup.
struct Child {
  pid_t pid = -1;
  int go = -1;
  bool born_inside = false;  // ForkIntoCgroup placed it in cgroup2
  Child(const Manager& manager, std::function<int()> body) {
    absl::StatusOr<SelfJoin> join = manager.OpenSelfJoin();
    INFO(join.status().message());
    REQUIRE(join.ok());
    int go_pipe[2], entered[2];
    REQUIRE(pipe2(go_pipe, O_CLOEXEC) == 0);
    REQUIRE(pipe2(entered, O_CLOEXEC) == 0);
    pid = runtime::ForkIntoCgroup(*join, &born_inside);
    REQUIRE(pid >= 0);
    if (pid == 0) {
      char c;
      close(go_pipe[1]);
      close(entered[0]);
      runtime::ChildError error;
      if (!runtime::EnterCgroup(*join, born_inside, &error)) _exit(101);
      if (write(entered[1], "x", 1) != 1) _exit(102);
      close(entered[1]);
      if (read(go_pipe[0], &c, 1) != 1) _exit(100);
      _exit(body());
    }
    close(go_pipe[0]);
    close(entered[1]);
    go = go_pipe[1];
    char byte;
    bool in_cgroup = read(entered[0], &byte, 1) == 1;
    close(entered[0]);
    if (!in_cgroup) Kill();
    REQUIRE(in_cgroup);
  }
  void Start() {
    REQUIRE(write(go, "x", 1) == 1);
    close(go);
    go = -1;
  }
  int Wait() {
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  void Kill() {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    pid = -1;
  }
  ~Child() {
    if (go >= 0) close(go);
  }
};

// Undoes everything on scope exit, also when a REQUIRE throws: thaw (a frozen task cannot die),
// kill the children, remove the cgroups, and disable controllers the test enabled at a cgroup2
// root if nothing else there uses them now.
struct Cleanup {
  Manager* manager = nullptr;
  std::vector<Child*> children;
  std::string v2_root, subtree_before;
  ~Cleanup() {
    if (manager) (void)manager->Thaw();
    for (Child* child : children) child->Kill();
    if (manager) {
      absl::Status status = manager->Destroy();
      if (!status.ok()) WARN("cleanup: " << status.message());
    }
    if (v2_root.empty()) return;
    auto now = ReadKnob(v2_root, "cgroup.subtree_control");
    auto entries = ListDir(v2_root);
    if (!now.ok() || !entries.ok()) return;
    for (const std::string& name : *entries)
      if (PathExists(JoinPath(JoinPath(v2_root, name), "cgroup.procs"))) return;  // other cgroups exist
    for (std::string_view controller : SplitFields(*now))
      if (subtree_before.find(std::string(controller)) == std::string::npos)
        (void)WriteKnob(v2_root, "cgroup.subtree_control", fmt::format("-{}", controller));
  }
};

std::vector<oci::DeviceCgroupRule> NullAndZeroOnly() {
  oci::DeviceCgroupRule deny_all;
  deny_all.allow = false;
  deny_all.access = "rwm";
  std::vector<oci::DeviceCgroupRule> rules = {deny_all};
  for (int minor : {3, 5}) {  // /dev/null, /dev/zero
    oci::DeviceCgroupRule rule;
    rule.allow = true;
    rule.type = "c";
    rule.major = 1;
    rule.minor = minor;
    rule.access = "rwm";
    rules.push_back(rule);
  }
  return rules;
}

// In the child: /dev/null must open, /dev/full (c 1:7) must be refused with EPERM.
int CheckDeviceAccess() {
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (fd < 0) return 1;
  close(fd);
  fd = open("/dev/full", O_RDWR | O_CLOEXEC);
  if (fd >= 0) return 2;
  return errno == EPERM ? 0 : 3;
}

// How many device programs are attached directly to the cgroup at `path`.
int AttachedDevicePrograms(const std::string& path) {
  int dirfd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return -1;
  uint32_t ids[16];
  bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.query.target_fd = static_cast<uint32_t>(dirfd);
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = reinterpret_cast<uintptr_t>(ids);
  attr.query.prog_cnt = 16;
  long rc = syscall(__NR_bpf, BPF_PROG_QUERY, &attr, sizeof attr);
  close(dirfd);
  return rc == 0 ? static_cast<int>(attr.query.prog_cnt) : -1;
}

std::string V2Root(Layout layout) {
  if (layout == Layout::kUnified) return kMountRoot;
  if (layout == Layout::kHybrid) return std::string(kMountRoot) + "/unified";
  return "";
}

}  // namespace

TEST_CASE("real kernel: create, limit, join, freeze, stats and destroy on the host layout", "[root]") {
  if (std::string reason = SkipReason(); !reason.empty()) {
    WARN("skipped: " << reason);
    return;
  }
  Layout layout = *DetectLayout(kMountRoot);
  ManagerOptions options;
  options.cgroups_path = fmt::format("/liman-unit-{}", getpid());
  options.container_id = "unit";
  auto made = NewManager(options);
  REQUIRE(made.ok());
  Manager& manager = **made;
  Cleanup cleanup;
  cleanup.v2_root = V2Root(layout);
  if (!cleanup.v2_root.empty())
    cleanup.subtree_before = ReadKnob(cleanup.v2_root, "cgroup.subtree_control").value_or("");
  cleanup.manager = &manager;
  REQUIRE(manager.Create().ok());

  oci::Resources r;
  r.pids_limit = 64;
  r.memory.emplace();
  r.memory->limit = 64 << 20;
  r.cpu.emplace();
  r.cpu->shares = 512;
  r.cpu->quota = 20000;
  r.cpu->period = 100000;
  r.cpu->cpus = "0";
  r.devices = NullAndZeroOnly();
  for (const Hierarchy& h : manager.Hierarchies())
    if (h.options == "memory" && PathExists(h.host_path + "/memory.memsw.limit_in_bytes")) r.memory->swap = 128 << 20;
  bool hugetlb = false;
  for (const Hierarchy& h : manager.Hierarchies())
    if (PathExists(h.host_path + "/hugetlb.2MB.max") || PathExists(h.host_path + "/hugetlb.2MB.limit_in_bytes"))
      hugetlb = true;
  if (hugetlb) r.hugepage_limits = {{"2MB", 0}};
  absl::Status applied = manager.Apply(r);
  INFO(applied.message());
  REQUIRE(applied.ok());

  // Read the kernel's view back.
  for (const Hierarchy& h : manager.Hierarchies()) {
    INFO(h.host_path);
    CHECK(PathExists(h.host_path));
    if (layout == Layout::kUnified) {
      CHECK(*ReadKnob(h.host_path, "pids.max") == "64");
      CHECK(*ReadKnob(h.host_path, "memory.max") == "67108864");
      CHECK(*ReadKnob(h.host_path, "cpu.max") == "20000 100000");
      CHECK(*ReadKnob(h.host_path, "cpu.weight") == "20");
      continue;
    }
    if (h.options == "pids") CHECK(*ReadKnob(h.host_path, "pids.max") == "64");
    if (h.options == "memory") {
      CHECK(*ReadKnob(h.host_path, "memory.limit_in_bytes") == "67108864");
      if (r.memory->swap) CHECK(*ReadKnob(h.host_path, "memory.memsw.limit_in_bytes") == "134217728");
    }
    if (h.options.find("cpu") == 0 && h.options != "cpuset" && h.options != "cpuacct") {
      CHECK(*ReadKnob(h.host_path, "cpu.shares") == "512");
      CHECK(*ReadKnob(h.host_path, "cpu.cfs_quota_us") == "20000");
    }
    if (h.options == "cpuset") {
      CHECK(*ReadKnob(h.host_path, "cpuset.cpus") == "0");
      CHECK(!ReadKnob(h.host_path, "cpuset.mems")->empty());  // seeded from the parent
    }
    if (h.options == "devices") CHECK(*ReadKnob(h.host_path, "devices.list") == "c 1:3 rwm\nc 1:5 rwm");
    if (h.fs_type == "cgroup2" && hugetlb) CHECK(*ReadKnob(h.host_path, "hugetlb.2MB.max") == "0");
  }
  // Re-applying the same device rules is a no-op on v1 (no instant of deny-all).
  REQUIRE(manager.Apply(r).ok());

  Child sleeper(manager, [] {
    for (;;) pause();
    return 0;
  });
  cleanup.children.push_back(&sleeper);
  sleeper.Start();
  auto pids = manager.Pids();
  REQUIRE(pids.ok());
  CHECK(*pids == std::vector<pid_t>{sleeper.pid});

  REQUIRE(manager.Freeze().ok());
  CHECK(*manager.GetFreezerState() == FreezerState::kFrozen);
  REQUIRE(manager.Thaw().ok());
  CHECK(*manager.GetFreezerState() == FreezerState::kThawed);

  auto stats = manager.GetStats();
  REQUIRE(stats.ok());
  CHECK(stats->pids.current == 1);
  CHECK(stats->pids.limit == 64);
  CHECK(stats->memory.limit == 64u << 20);
  nlohmann::json j = StatsToJson(*stats);
  CHECK(j["pids"]["limit"] == 64);

  auto oom = manager.OpenOomNotifier();
  REQUIRE(oom.ok());
  CHECK(*oom >= 0);
  if (*oom >= 0) close(*oom);

  Child prober(manager, CheckDeviceAccess);
  cleanup.children.push_back(&prober);
  prober.Start();
  CHECK(prober.Wait() == 0);

  // A saved manager (another liman-runtime invocation) can tear it all down.
  auto loaded = LoadManager(manager.Save());
  REQUIRE(loaded.ok());
  sleeper.Kill();
  REQUIRE((*loaded)->Destroy().ok());
  for (const Hierarchy& h : manager.Hierarchies()) CHECK(!PathExists(h.host_path));
}

TEST_CASE("real kernel: the v2 eBPF device filter is enforced", "[root]") {
  if (std::string reason = SkipReason(); !reason.empty()) {
    WARN("skipped: " << reason);
    return;
  }
  std::string v2_root = V2Root(*DetectLayout(kMountRoot));
  if (v2_root.empty()) {
    WARN("skipped: no cgroup2 hierarchy on this host");
    return;
  }
  ManagerOptions options;
  options.mount_root = v2_root;  // the cgroup2 hierarchy on its own: a unified-layout manager
  options.cgroups_path = fmt::format("/liman-unit-{}-bpf", getpid());
  auto made = NewManager(options);
  REQUIRE(made.ok());
  Manager& manager = **made;
  REQUIRE(manager.layout() == Layout::kUnified);
  Cleanup cleanup;
  cleanup.v2_root = v2_root;
  cleanup.subtree_before = ReadKnob(v2_root, "cgroup.subtree_control").value_or("");
  cleanup.manager = &manager;
  REQUIRE(manager.Create().ok());
  {
    // The verifier accepts the other shapes of block too: deny lists (partial-access checks) and
    // device numbers above INT32_MAX (32-bit jumps).
    oci::Resources other;
    other.devices = {oci::DeviceCgroupRule{true, "a", std::nullopt, std::nullopt, "rwm"},
                     oci::DeviceCgroupRule{false, "c", 4000000000, 4000000001, "w"},
                     oci::DeviceCgroupRule{false, "b", 8, std::nullopt, "rw"}};
    absl::Status status = manager.Apply(other);
    INFO(status.message());
    REQUIRE(status.ok());
  }
  oci::Resources r;
  r.devices = NullAndZeroOnly();
  absl::Status applied = manager.Apply(r);
  INFO(applied.message());
  REQUIRE(applied.ok());
  std::string path = manager.Hierarchies()[0].host_path;
  CHECK(AttachedDevicePrograms(path) == 1);
  // Applying again replaces the program instead of stacking a second one; no rules: untouched.
  REQUIRE(manager.Apply(r).ok());
  CHECK(AttachedDevicePrograms(path) == 1);
  REQUIRE(manager.Apply(oci::Resources{}).ok());
  CHECK(AttachedDevicePrograms(path) == 1);

  Child prober(manager, CheckDeviceAccess);
  cleanup.children.push_back(&prober);
  prober.Start();
  CHECK(prober.Wait() == 0);

  // And the v2 freezer on a live process.
  Child sleeper(manager, [] {
    for (;;) pause();
    return 0;
  });
  cleanup.children.push_back(&sleeper);
  sleeper.Start();
  REQUIRE(manager.Freeze().ok());
  CHECK(*manager.GetFreezerState() == FreezerState::kFrozen);
  REQUIRE(manager.Thaw().ok());
  CHECK(*manager.GetFreezerState() == FreezerState::kThawed);
  sleeper.Kill();
  REQUIRE(manager.Destroy().ok());
  CHECK(!PathExists(path));
}

namespace {

// A child that entered by itself must be listed in every hierarchy's cgroup.procs, while this
// process stays where it was.
void CheckSelfJoin(Manager& manager) {
  auto own_before = ReadFile("/proc/self/cgroup");
  REQUIRE(own_before.ok());
  Child child(manager, [] {
    for (;;) pause();
    return 0;
  });
  std::vector<std::string> missing;
  for (const Hierarchy& h : manager.Hierarchies()) {
    auto procs = ReadKnob(h.host_path, "cgroup.procs");
    if (!procs.ok() || *procs != std::to_string(child.pid)) missing.push_back(h.host_path);
  }
  child.Kill();
  CHECK(child.born_inside == manager.OpenSelfJoin()->cgroup2_dir.valid());  // Linux 5.7 or later
  INFO(fmt::format("{}", fmt::join(missing, ", ")));
  CHECK(missing.empty());
  CHECK(*ReadFile("/proc/self/cgroup") == *own_before);
}

}  // namespace

TEST_CASE("real kernel: a new process enters the container's cgroups by itself", "[root]") {
  if (std::string reason = SkipReason(); !reason.empty()) {
    WARN("skipped: " << reason);
    return;
  }
  Layout layout = *DetectLayout(kMountRoot);
  std::string v2_root = V2Root(layout);
  std::vector<std::string> mount_roots = {kMountRoot};
  if (layout == Layout::kHybrid) mount_roots.push_back(v2_root);  // the cgroup2 part alone, as on a unified host
  for (const std::string& mount_root : mount_roots) {
    DYNAMIC_SECTION(mount_root) {
      ManagerOptions options;
      options.mount_root = mount_root;
      options.cgroups_path = fmt::format("/liman-unit-{}-self", getpid());
      auto made = NewManager(options);
      REQUIRE(made.ok());
      Manager& manager = **made;
      Cleanup cleanup;
      cleanup.v2_root = v2_root;
      if (!v2_root.empty()) cleanup.subtree_before = ReadKnob(v2_root, "cgroup.subtree_control").value_or("");
      cleanup.manager = &manager;
      REQUIRE(manager.Create().ok());
      CheckSelfJoin(manager);
    }
  }
}
