// cgroup v2 manager against a fixture directory: checks the exact values written.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/file_util.h"
#include "common/cgroup_layout.h"
#include "common/status.h"
#include "runtime/cgroup_entry.h"
#include "runtime/cgroups/manager.h"
#include "runtime/cgroups/v2/cpu.h"
#include "runtime/cgroups/v2/io.h"
#include "runtime/cgroups/v2/memory.h"
#include "runtime/tests/cgroup_fixture.h"

using namespace liman;
using namespace liman::cgroups;
using namespace liman::cgroups::testing;
using nlohmann::json;

namespace {

constexpr char kControllers[] = "cpuset cpu io memory hugetlb pids";

// A unified host: cgroup2 at <tmp>/cgroup, a proc root whose pid 4242 lives in
// /user.slice/session-1.scope, and the container directory /liman/ctr1 with empty knobs.
struct V2Fixture {
  TempDir tmp;
  std::string root = tmp / "cgroup";
  std::string proc = tmp / "proc";
  std::string leaf = root + "/liman/ctr1";

  V2Fixture() {
    Put(proc + "/self/mountinfo",
        "25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        "30 25 0:26 / " +
            root + " rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n");
    Put(proc + "/4242/cgroup", "0::/user.slice/session-1.scope\n");
    for (const std::string& dir : {root, root + "/liman"}) {
      Put(dir + "/cgroup.controllers", std::string(kControllers) + "\n");
      Put(dir + "/cgroup.subtree_control", "");
    }
    Put(leaf + "/cgroup.controllers", std::string(kControllers) + "\n");
    Put(leaf + "/cgroup.subtree_control", "");
    for (const char* knob : {"cgroup.procs", "cgroup.freeze", "memory.max", "memory.low", "memory.swap.max",
                             "cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle", "cpuset.cpus", "cpuset.mems",
                             "pids.max", "io.weight", "io.max", "hugetlb.2MB.max", "hugetlb.1GB.max", "memory.high"})
      Put(leaf + "/" + knob, "");
  }

  std::unique_ptr<Manager> Make(const std::string& cgroups_path, const std::string& id = "ctr1") {
    ManagerOptions options;
    options.cgroups_path = cgroups_path;
    options.container_id = id;
    options.mount_root = root;
    options.proc_root = proc;
    options.relative_to_pid = 4242;
    auto manager = NewManager(options);
    REQUIRE(manager.ok());
    return std::move(*manager);
  }
};

// Straight from a config.json's linux.resources, through the spec parser.
oci::Resources FullResources() {
  auto resources = oci::ParseResources(R"({
    "memory": {"limit": 1073741824, "swap": 1610612736, "reservation": 536870912},
    "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"},
    "pids": {"limit": -1},
    "blockIO": {"weight": 500,
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2097152},
                                           {"major": 8, "minor": 16, "rate": 4096}],
                "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}]},
    "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}],
    "unified": {"memory.high": "900000000"}
  })");
  REQUIRE(resources.ok());
  return *resources;
}

}  // namespace

TEST_CASE("DetectLayout tells unified, hybrid and legacy apart from mountinfo") {
  TempDir tmp;
  std::string root = tmp / "cg";
  auto detect = [&](const std::string& mountinfo) {
    Put(tmp / "proc/self/mountinfo", mountinfo);
    return DetectLayout(root, tmp / "proc");
  };
  std::string v1 = "32 31 0:29 / " + root + "/memory rw - cgroup cgroup rw,memory\n";
  std::string unified = "41 31 0:38 / " + root + "/unified rw - cgroup2 cgroup2 rw\n";
  CHECK(*detect("30 1 0:26 / " + root + " rw - cgroup2 cgroup2 rw,nsdelegate\n") == Layout::kUnified);
  CHECK(*detect(v1 + unified) == Layout::kHybrid);
  CHECK(*detect(v1) == Layout::kLegacy);
  auto none = detect("25 1 8:1 / / rw - ext4 /dev/sda1 rw\n");
  REQUIRE(!none.ok());
  CHECK(none.status().code() == absl::StatusCode::kNotFound);
  // A cgroup mount elsewhere is not ours.
  CHECK(!detect("32 31 0:29 / /elsewhere/memory rw - cgroup cgroup rw,memory\n").ok());
}

TEST_CASE("cgroupsPath resolution: absolute, relative to the caller, container id, escapes") {
  V2Fixture f;
  CHECK(f.Make("/liman/ctr1")->Hierarchies()[0].host_path == f.root + "/liman/ctr1");
  CHECK(f.Make("machine/ctr")->Hierarchies()[0].host_path == f.root + "/user.slice/session-1.scope/machine/ctr");
  CHECK(f.Make("", "abc")->Hierarchies()[0].host_path == f.root + "/user.slice/session-1.scope/abc");
  CHECK(f.Make("/a//./b/../c")->Hierarchies()[0].host_path == f.root + "/a/c");
  CHECK(f.Make("x/../y")->Hierarchies()[0].host_path == f.root + "/user.slice/session-1.scope/y");
  for (const char* bad : {"../escape", "/a/../../etc", "/", "a/..", "."}) {
    ManagerOptions options;
    options.cgroups_path = bad;
    options.container_id = "ctr1";
    options.mount_root = f.root;
    options.proc_root = f.proc;
    options.relative_to_pid = 4242;
    auto manager = NewManager(options);
    INFO(bad);
    REQUIRE(!manager.ok());
    CHECK(manager.status().code() == absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("v2 Create enables controllers in every ancestor but not in the leaf") {
  V2Fixture f;
  Put(f.root + "/cgroup.subtree_control", "cpu memory\n");  // some already enabled
  auto manager = f.Make("/liman/ctr1");
  WriteLog log;
  REQUIRE(manager->Create().ok());
  CHECK(log.Relative(f.root) == Strings{"cgroup.subtree_control=+cpuset +io +hugetlb +pids",
                                        "liman/cgroup.subtree_control=+cpuset +cpu +io +memory +hugetlb +pids"});
  CHECK(Get(f.leaf + "/cgroup.subtree_control") == "");
  CHECK(manager->layout() == Layout::kUnified);
}

TEST_CASE("v2 Apply writes runc's conversions") {
  V2Fixture f;
  auto manager = f.Make("/liman/ctr1");
  WriteLog log;
  REQUIRE(manager->Apply(FullResources()).ok());
  CHECK(log.Relative(f.leaf) == Strings{
                                    "pids.max=max",
                                    "memory.swap.max=536870912",  // 1.5 GiB - 1 GiB
                                    "memory.max=1073741824",
                                    "memory.low=536870912",
                                    "io.weight=4950",  // 1 + (500-10)*9999/990
                                    "io.max=8:0 rbps=1048576 wbps=2097152 riops=100",
                                    "io.max=8:16 wbps=4096",
                                    "cpu.weight=39",  // 1 + (1024-2)*9999/262142
                                    "cpu.max=50000 100000",
                                    "cpuset.cpus=0-1",
                                    "cpuset.mems=0",
                                    "hugetlb.2MB.max=209715200",
                                    "memory.high=900000000",
                                });
  CHECK(Get(f.leaf + "/cpu.max") == "50000 100000");
  CHECK(Get(f.leaf + "/memory.swap.max") == "536870912");
}

TEST_CASE("v2 value conversions at the edges") {
  CHECK(v2::CpuWeightForShares(2) == 1);
  CHECK(v2::CpuWeightForShares(262144) == 10000);
  CHECK(v2::CpuWeightForShares(1) == 1);  // clamped, no unsigned wrap-around
  CHECK(v2::CpuWeightForShares(512) == 20);
  CHECK(v2::IoWeightForBlkioWeight(10) == 1);
  CHECK(v2::IoWeightForBlkioWeight(1000) == 10000);
  CHECK(*v2::SwapMaxForSpec(0, 100) == 0);    // swap unset
  CHECK(*v2::SwapMaxForSpec(-1, 100) == -1);  // unlimited
  CHECK(*v2::SwapMaxForSpec(0, -1) == -1);    // unlimited memory: unlimited swap too
  CHECK(*v2::SwapMaxForSpec(300, 100) == 200);
  CHECK(*v2::SwapMaxForSpec(100, 100) == 0);  // no swap at all
  CHECK(!v2::SwapMaxForSpec(50, 100).ok());   // memory+swap below memory
  CHECK(!v2::SwapMaxForSpec(50, 0).ok());     // swap without a memory limit
}

TEST_CASE("v2 memory: swap equal to the limit disables swap; quota alone and negative quota") {
  V2Fixture f;
  auto manager = f.Make("/liman/ctr1");
  WriteLog log;
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 1000;
  r.memory->swap = 1000;
  r.cpu.emplace();
  r.cpu->quota = -1;
  r.cpu->period = 250000;
  r.pids_limit = 100;
  REQUIRE(manager->Apply(r).ok());
  CHECK(log.Relative(f.leaf) == Strings{"pids.max=100", "memory.swap.max=0", "memory.max=1000", "cpu.max=max 250000"});
  log.Clear();
  r = {};
  r.cpu.emplace();
  r.cpu->quota = 20000;
  r.memory.emplace();
  r.memory->limit = -1;
  REQUIRE(manager->Apply(r).ok());
  CHECK(log.Relative(f.leaf) == Strings{"memory.swap.max=max", "memory.max=max", "cpu.max=20000"});
}

TEST_CASE("v2 Apply errors name the file, the value and the cause") {
  V2Fixture f;
  auto manager = f.Make("/liman/ctr1");
  REQUIRE(unlink((f.leaf + "/pids.max").c_str()) == 0);
  oci::Resources r;
  r.pids_limit = 10;
  absl::Status status = manager->Apply(r);
  CHECK(status.message() == "write \"10\" to \"" + f.leaf + "/pids.max\": no such file or directory");
  CHECK(StatusErrno(status) == ENOENT);

  // A controller that is not enabled for the cgroup is named as the cause.
  Put(f.leaf + "/cgroup.controllers", "memory pids\n");
  r = {};
  r.unified = {{"rdma.max", "mlx4_0 hca_handle=2"}};
  status = manager->Apply(r);
  CHECK(status.message() ==
        "linux.resources.unified: write \"mlx4_0 hca_handle=2\" to \"" + f.leaf +
            "/rdma.max\": no such file or directory (the \"rdma\" controller is not enabled for \"" + f.leaf +
            "\"; its cgroup.controllers is \"memory pids\")");

  r = {};
  r.unified = {{"../cgroup.procs", "1"}};
  CHECK(manager->Apply(r).code() == absl::StatusCode::kInvalidArgument);

  r = {};
  r.cpu.emplace();
  r.cpu->realtime_runtime = 950000;
  CHECK(manager->Apply(r).code() == absl::StatusCode::kInvalidArgument);

  r = {};
  r.hugepage_limits = {{"64KB", 1}};
  status = manager->Apply(r);
  CHECK(status.message() == "hugepage size \"64KB\" is not supported here (sizes: 1GB, 2MB)");
}

TEST_CASE("v2 stats read every controller and convert to runc's events JSON") {
  V2Fixture f;
  Put(f.leaf + "/memory.stat", "anon 1000\nfile 2000\nkernel 300\n");
  Put(f.leaf + "/memory.current", "4096\n");
  Put(f.leaf + "/memory.max", "max\n");
  Put(f.leaf + "/memory.peak", "8192\n");
  Put(f.leaf + "/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
  Put(f.leaf + "/memory.swap.current", "100\n");
  Put(f.leaf + "/memory.swap.max", "max\n");
  Put(f.leaf + "/cpu.stat",
      "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 2\nthrottled_usec 7\n");
  Put(f.leaf + "/pids.current", "3\n");
  Put(f.leaf + "/pids.max", "max\n");
  Put(f.leaf + "/io.stat", "8:0 rbytes=1024 wbytes=2048 rios=1 wios=2 dbytes=0 dios=0\n");
  Put(f.leaf + "/hugetlb.2MB.current", "2097152\n");
  Put(f.leaf + "/hugetlb.2MB.events", "max 4\n");
  Put(f.leaf + "/hugetlb.1GB.current", "0\n");
  Put(f.leaf + "/hugetlb.1GB.events", "max 0\n");
  Put(f.leaf + "/hugetlb.2MB.rsvd.max", "max\n");  // not a page size of its own

  auto stats = f.Make("/liman/ctr1")->GetStats();
  REQUIRE(stats.ok());
  CHECK(stats->memory.usage == 4096);
  CHECK(stats->memory.limit == UINT64_MAX);
  CHECK(stats->memory.failcnt == 3);
  CHECK(stats->memory.swap_usage == 4196);  // swap + memory, as v1 reports
  CHECK(stats->cpu.usage_total_ns == 1500000);
  CHECK(stats->pids.limit == 0);
  REQUIRE(stats->hugetlb.size() == 2);

  json expected = json::parse(R"({
    "cpu": {"usage": {"total": 1500000, "kernel": 500000, "user": 1000000},
            "throttling": {"periods": 10, "throttledPeriods": 2, "throttledTime": 7000}},
    "memory": {"cache": 2000,
               "usage": {"limit": 18446744073709551615, "usage": 4096, "max": 8192, "failcnt": 3},
               "swap": {"limit": 18446744073709551615, "usage": 4196, "failcnt": 0},
               "raw": {"anon": 1000, "file": 2000, "kernel": 300}},
    "pids": {"current": 3},
    "blkio": {"ioServiceBytesRecursive": [{"major": 8, "op": "Read", "value": 1024},
                                          {"major": 8, "op": "Write", "value": 2048},
                                          {"major": 8, "op": "Discard"}],
              "ioServicedRecursive": [{"major": 8, "op": "Read", "value": 1},
                                      {"major": 8, "op": "Write", "value": 2},
                                      {"major": 8, "op": "Discard"}]},
    "hugetlb": {"1GB": {"failcnt": 0}, "2MB": {"usage": 2097152, "failcnt": 4}}
  })");
  CHECK(StatsToJson(*stats).dump() == expected.dump());
}

TEST_CASE("v2 freezer writes cgroup.freeze and reads cgroup.events") {
  V2Fixture f;
  auto manager = f.Make("/liman/ctr1");
  Put(f.leaf + "/cgroup.freeze", "0\n");
  Put(f.leaf + "/cgroup.events", "populated 1\nfrozen 0\n");
  CHECK(*manager->GetFreezerState() == FreezerState::kThawed);
  Put(f.leaf + "/cgroup.events", "populated 1\nfrozen 1\n");  // the "kernel" reports frozen
  REQUIRE(manager->Freeze().ok());
  CHECK(Get(f.leaf + "/cgroup.freeze") == "1");
  CHECK(*manager->GetFreezerState() == FreezerState::kFrozen);
  Put(f.leaf + "/cgroup.events", "populated 1\nfrozen 0\n");
  CHECK(*manager->GetFreezerState() == FreezerState::kFreezing);  // freeze=1, not yet frozen
  REQUIRE(manager->Thaw().ok());
  CHECK(Get(f.leaf + "/cgroup.freeze") == "0");
  CHECK(*manager->GetFreezerState() == FreezerState::kThawed);
}

TEST_CASE("v2 Pids reads cgroup.procs recursively; OpenSelfJoin is the leaf, entered through cgroup.procs") {
  V2Fixture f;
  auto manager = f.Make("/liman/ctr1");
  Put(f.leaf + "/cgroup.procs", "10\n2\n");
  Put(f.leaf + "/sub/cgroup.procs", "7\n");
  Put(f.leaf + "/sub/deeper/cgroup.procs", "2\n33\n");
  CHECK(*manager->Pids() == std::vector<pid_t>{2, 7, 10, 33});
  auto join = manager->OpenSelfJoin();
  REQUIRE(join.ok());
  CHECK(join->tasks_files.empty());
  CHECK(join->cgroup2_dir.valid());
  CHECK(join->cgroup2_procs.path == f.leaf + "/cgroup.procs");
  runtime::ChildError error;
  REQUIRE(runtime::EnterCgroup(*join, /*born_inside=*/true, &error));
  CHECK(Get(f.leaf + "/cgroup.procs") == "10\n2\n");  // born there: nothing to write
  join->cgroup2_procs.fd.reset(open(join->cgroup2_procs.path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  REQUIRE(runtime::EnterCgroup(*join, /*born_inside=*/false, &error));
  CHECK(Get(f.leaf + "/cgroup.procs") == "0");  // "0": the writer itself (cgroups(7))
  Put(f.leaf + "/cgroup.procs", "12 x\n");
  CHECK(!manager->Pids().ok());
}

TEST_CASE("v2 OOM notifier is an fd on memory.events") {
  V2Fixture f;
  auto manager = f.Make("/liman/ctr1");
  CHECK(*manager->OpenOomNotifier() == -1);  // no memory controller files
  Put(f.leaf + "/memory.events", "oom_kill 0\n");
  auto fd = manager->OpenOomNotifier();
  REQUIRE(fd.ok());
  REQUIRE(*fd >= 0);
  struct stat a, b;
  REQUIRE(fstat(*fd, &a) == 0);
  REQUIRE(stat((f.leaf + "/memory.events").c_str(), &b) == 0);
  CHECK(a.st_ino == b.st_ino);
  close(*fd);
}

TEST_CASE("v2 Save and LoadManager round-trip") {
  V2Fixture f;
  auto manager = f.Make("/liman/ctr1");
  json saved = manager->Save();
  CHECK(saved["layout"] == "unified");
  auto loaded = LoadManager(json::parse(saved.dump()));
  REQUIRE(loaded.ok());
  CHECK((*loaded)->layout() == Layout::kUnified);
  CHECK((*loaded)->Save() == saved);
  auto hierarchies = (*loaded)->Hierarchies();
  REQUIRE(hierarchies.size() == 1);
  CHECK(hierarchies[0].fs_type == "cgroup2");
  CHECK(hierarchies[0].host_path == f.leaf);
  WriteLog log;
  oci::Resources r;
  r.pids_limit = 5;
  REQUIRE((*loaded)->Apply(r).ok());
  CHECK(log.Relative(f.leaf) == Strings{"pids.max=5"});
  CHECK(!LoadManager(json{{"layout", "weird"}}).ok());
  CHECK(!LoadManager(json{{"layout", "unified"}}).ok());
  CHECK(!LoadManager(json::array()).ok());
}
