// cgroup v1 (legacy and hybrid) manager against fixture directories.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/file_util.h"
#include "common/status.h"
#include "runtime/cgroup_entry.h"
#include "runtime/cgroups/device_rules.h"
#include "runtime/cgroups/manager.h"
#include "runtime/cgroups/v1/blkio.h"
#include "runtime/tests/cgroup_fixture.h"

using namespace liman;
using namespace liman::cgroups;
using namespace liman::cgroups::testing;
using nlohmann::json;

namespace {

// A hybrid host like the one this runtime is developed on: cpu and cpuacct joined here (to
// cover joint mounts), the usual v1 controllers, name=systemd, net_cls+net_prio, and cgroup2 at
// <root>/unified offering only hugetlb. The caller (pid 4242) sits in /user.slice everywhere.
struct V1Fixture {
  TempDir tmp;
  std::string root = tmp / "cgroup";
  std::string proc = tmp / "proc";
  static constexpr const char* kPath = "liman/ctr";

  std::string Dir(const std::string& hierarchy) const { return root + "/" + hierarchy + "/" + kPath; }

  explicit V1Fixture(bool hybrid = true) {
    std::string mountinfo = "31 23 0:28 / " + root + " rw,relatime - tmpfs tmpfs rw,mode=755\n";
    const std::pair<const char*, const char*> hierarchies[] = {{"cpu,cpuacct", "rw,cpu,cpuacct"},
                                                               {"cpuset", "rw,cpuset"},
                                                               {"memory", "rw,memory"},
                                                               {"devices", "rw,devices"},
                                                               {"freezer", "rw,freezer"},
                                                               {"blkio", "rw,blkio"},
                                                               {"pids", "rw,pids"},
                                                               {"systemd", "rw,xattr,name=systemd"},
                                                               {"net_cls,net_prio", "rw,net_cls,net_prio"}};
    int id = 32;
    for (const auto& [name, options] : hierarchies) {
      std::string n = std::to_string(id++);
      mountinfo += n + " 31 0:" + n + " / " + root + "/" + name + " rw,nosuid,nodev,noexec,relatime shared:" + n +
                   " - cgroup cgroup " + options + "\n";
      Put(root + "/" + name + "/cgroup.procs");
      Put(Dir(name) + "/cgroup.procs");
      Put(Dir(name) + "/tasks");
    }
    if (hybrid) {
      mountinfo +=
          "41 31 0:38 / " + root + "/unified rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n";
      for (const std::string& dir : {root + "/unified", root + "/unified/liman"}) {
        Put(dir + "/cgroup.controllers", "hugetlb\n");
        Put(dir + "/cgroup.subtree_control", "");
      }
      Put(Dir("unified") + "/cgroup.procs");
      Put(Dir("unified") + "/hugetlb.2MB.max");
      Put(Dir("unified") + "/hugetlb.1GB.max");
    }
    Put(proc + "/self/mountinfo", mountinfo);
    Put(proc + "/4242/cgroup",
        "11:net_cls,net_prio:/user.slice\n10:name=systemd:/user.slice\n9:pids:/user.slice\n8:blkio:/user.slice\n"
        "7:freezer:/user.slice\n6:devices:/user.slice\n5:memory:/user.slice\n4:cpuset:/user.slice\n"
        "3:cpu,cpuacct:/user.slice\n0::/user.slice\n");
    // cpuset: the root has CPUs and memory nodes, new cgroups start empty.
    Put(root + "/cpuset/cpuset.cpus", "0-3\n");
    Put(root + "/cpuset/cpuset.mems", "0\n");
    for (const std::string& dir : {root + "/cpuset/liman", Dir("cpuset")}) {
      Put(dir + "/cpuset.cpus", "\n");
      Put(dir + "/cpuset.mems", "\n");
    }
    for (const char* knob :
         {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.swappiness",
          "memory.oom_control", "memory.kmem.tcp.limit_in_bytes", "cgroup.event_control"})
      Put(Dir("memory") + "/" + knob);
    Put(Dir("memory") + "/memory.limit_in_bytes", "9223372036854771712\n");
    for (const char* knob :
         {"cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.rt_period_us", "cpu.rt_runtime_us", "cpu.idle"})
      Put(Dir("cpu,cpuacct") + "/" + knob);
    Put(Dir("pids") + "/pids.max");
    Put(Dir("devices") + "/devices.allow");
    Put(Dir("devices") + "/devices.deny");
    Put(Dir("freezer") + "/freezer.state", "THAWED\n");
    for (const char* knob :
         {"blkio.weight", "blkio.weight_device", "blkio.throttle.read_bps_device", "blkio.throttle.write_iops_device"})
      Put(Dir("blkio") + "/" + knob);
    Put(Dir("net_cls,net_prio") + "/net_cls.classid");
    Put(Dir("net_cls,net_prio") + "/net_prio.ifpriomap");
  }

  std::unique_ptr<Manager> Make(const std::string& cgroups_path = "/liman/ctr") {
    ManagerOptions options;
    options.cgroups_path = cgroups_path;
    options.container_id = "ctr";
    options.mount_root = root;
    options.proc_root = proc;
    options.relative_to_pid = 4242;
    auto manager = NewManager(options);
    REQUIRE(manager.ok());
    return std::move(*manager);
  }
};

}  // namespace

TEST_CASE("v1 hierarchies: one per mount, joint mounts once, the unified part last") {
  V1Fixture f;
  auto manager = f.Make();
  CHECK(manager->layout() == Layout::kHybrid);
  std::vector<std::string> shown;
  for (const Hierarchy& h : manager->Hierarchies())
    shown.push_back(h.name + "|" + h.fs_type + "|" + h.options + "|" + h.host_path);
  CHECK(shown == Strings{
                     "cpu,cpuacct|cgroup|cpu,cpuacct|" + f.Dir("cpu,cpuacct"),
                     "cpuset|cgroup|cpuset|" + f.Dir("cpuset"),
                     "memory|cgroup|memory|" + f.Dir("memory"),
                     "devices|cgroup|devices|" + f.Dir("devices"),
                     "freezer|cgroup|freezer|" + f.Dir("freezer"),
                     "blkio|cgroup|blkio|" + f.Dir("blkio"),
                     "pids|cgroup|pids|" + f.Dir("pids"),
                     "systemd|cgroup|name=systemd|" + f.Dir("systemd"),
                     "net_cls,net_prio|cgroup|net_cls,net_prio|" + f.Dir("net_cls,net_prio"),
                     "unified|cgroup2||" + f.Dir("unified"),
                 });
  // Relative paths hang from the caller's cgroup in each hierarchy.
  CHECK(f.Make("sub")->Hierarchies()[2].host_path == f.root + "/memory/user.slice/sub");
  CHECK(f.Make("sub")->Hierarchies().back().host_path == f.root + "/unified/user.slice/sub");
}

TEST_CASE("v1 Create seeds new cpusets from their parents and leaves the unified part's controllers alone") {
  V1Fixture f;
  auto manager = f.Make();
  WriteLog log;
  REQUIRE(manager->Create().ok());
  CHECK(Get(f.root + "/cpuset/liman/cpuset.cpus") == "0-3");
  CHECK(Get(f.root + "/cpuset/liman/cpuset.mems") == "0");
  CHECK(Get(f.Dir("cpuset") + "/cpuset.cpus") == "0-3");
  CHECK(Get(f.Dir("cpuset") + "/cpuset.mems") == "0");
  CHECK(log.To("cgroup.subtree_control").empty());
  CHECK(Get(f.root + "/unified/cgroup.subtree_control") == "");
}

TEST_CASE("v1 memory: limit and memory+swap are written in an order the kernel accepts") {
  V1Fixture f;
  auto manager = f.Make();
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 536870912;
  r.memory->swap = 1073741824;
  r.memory->reservation = 268435456;
  r.memory->swappiness = 10;
  r.memory->disable_oom_killer = true;
  r.memory->kernel = 1000000;  // no memory.kmem.limit_in_bytes here: ignored with a warning
  r.memory->kernel_tcp = 2000000;
  {
    // Lowering from the default (huge) limit: limit first, then memsw.
    WriteLog log;
    REQUIRE(manager->Apply(r).ok());
    CHECK(log.Relative(f.Dir("memory")) == Strings{
                                               "memory.limit_in_bytes=536870912",
                                               "memory.memsw.limit_in_bytes=1073741824",
                                               "memory.soft_limit_in_bytes=268435456",
                                               "memory.kmem.tcp.limit_in_bytes=2000000",
                                               "memory.swappiness=10",
                                               "memory.oom_control=1",
                                           });
  }
  {
    // Raising above the current limit: memsw first.
    Put(f.Dir("memory") + "/memory.limit_in_bytes", "104857600\n");
    oci::Resources up;
    up.memory.emplace();
    up.memory->limit = 536870912;
    up.memory->swap = 1073741824;
    WriteLog log;
    REQUIRE(manager->Apply(up).ok());
    CHECK(log.Relative(f.Dir("memory")) ==
          Strings{"memory.memsw.limit_in_bytes=1073741824", "memory.limit_in_bytes=536870912"});
  }
  {
    // Unlimited memory with swap unset: memsw unlimited too, first.
    oci::Resources unlimited;
    unlimited.memory.emplace();
    unlimited.memory->limit = -1;
    WriteLog log;
    REQUIRE(manager->Apply(unlimited).ok());
    CHECK(log.Relative(f.Dir("memory")) == Strings{"memory.memsw.limit_in_bytes=-1", "memory.limit_in_bytes=-1"});
  }
  oci::Resources bad;
  bad.memory.emplace();
  bad.memory->limit = 2000;
  bad.memory->swap = 1000;
  CHECK(manager->Apply(bad).code() == absl::StatusCode::kInvalidArgument);
  bad.memory->swap = std::nullopt;
  bad.memory->swappiness = 101;
  CHECK(manager->Apply(bad).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("v1 cpu, cpuset, pids, blkio, hugetlb (through cgroup2), net_cls, net_prio") {
  V1Fixture f;
  auto manager = f.Make();
  oci::Resources r;
  r.cpu.emplace();
  r.cpu->shares = 512;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  r.cpu->realtime_period = 1000000;
  r.cpu->realtime_runtime = 950000;
  r.cpu->idle = 0;
  r.cpu->cpus = "1";
  r.cpu->mems = "0";
  r.pids_limit = 0;
  r.block_io.emplace();
  r.block_io->weight = 300;
  r.block_io->weight_device = {{8, 0, 200, std::nullopt}};
  r.block_io->throttle_read_bps_device = {{8, 0, 1048576}};
  r.block_io->throttle_write_iops_device = {{8, 16, 50}};
  r.hugepage_limits = {{"2MB", 4194304}};
  r.network.emplace();
  r.network->class_id = 0x100001;
  r.network->priorities = {{"eth0", 5}, {"lo", 1}};
  WriteLog log;
  REQUIRE(manager->Apply(r).ok());
  CHECK(log.Relative(f.root) == Strings{
                                    "cpu,cpuacct/liman/ctr/cpu.shares=512",
                                    "cpu,cpuacct/liman/ctr/cpu.cfs_period_us=100000",
                                    "cpu,cpuacct/liman/ctr/cpu.cfs_quota_us=50000",
                                    "cpu,cpuacct/liman/ctr/cpu.idle=0",
                                    "cpu,cpuacct/liman/ctr/cpu.rt_period_us=1000000",
                                    "cpu,cpuacct/liman/ctr/cpu.rt_runtime_us=950000",
                                    "cpuset/liman/ctr/cpuset.cpus=1",
                                    "cpuset/liman/ctr/cpuset.mems=0",
                                    "pids/liman/ctr/pids.max=max",
                                    "blkio/liman/ctr/blkio.weight=300",
                                    "blkio/liman/ctr/blkio.weight_device=8:0 200",
                                    "blkio/liman/ctr/blkio.throttle.read_bps_device=8:0 1048576",
                                    "blkio/liman/ctr/blkio.throttle.write_iops_device=8:16 50",
                                    // hugetlb is enabled down the unified tree only now that it is needed.
                                    "unified/cgroup.subtree_control=+hugetlb",
                                    "unified/liman/cgroup.subtree_control=+hugetlb",
                                    "unified/liman/ctr/hugetlb.2MB.max=4194304",
                                    "net_cls,net_prio/liman/ctr/net_cls.classid=1048577",
                                    "net_cls,net_prio/liman/ctr/net_prio.ifpriomap=eth0 5",
                                    "net_cls,net_prio/liman/ctr/net_prio.ifpriomap=lo 1",
                                });
  oci::Resources pids;
  pids.pids_limit = 1024;
  log.Clear();
  REQUIRE(manager->Apply(pids).ok());
  CHECK(Get(f.Dir("pids") + "/pids.max") == "1024");
}

TEST_CASE("v1 devices: deny-all base, then the rules in order") {
  V1Fixture f;
  auto manager = f.Make();
  {
    WriteLog log;
    oci::Resources r;
    r.devices = {MakeDeviceRule(false, "", std::nullopt, std::nullopt, "rwm"), MakeDeviceRule(true, "c", 1, 3, "rwm"),
                 MakeDeviceRule(true, "c", std::nullopt, std::nullopt, "m"), MakeDeviceRule(false, "c", 1, 3, "w"),
                 MakeDeviceRule(true, "b", 8, std::nullopt, "")};
    REQUIRE(manager->Apply(r).ok());
    CHECK(log.Relative(f.Dir("devices")) == Strings{
                                                "devices.deny=a *:* rwm",
                                                "devices.allow=c 1:3 rwm",
                                                "devices.allow=c *:* m",
                                                "devices.deny=c 1:3 w",
                                                "devices.allow=b 8:* rwm",
                                            });
  }
  {
    // Without a leading reset the deny-all base is written first.
    WriteLog log;
    oci::Resources r;
    r.devices = {MakeDeviceRule(true, "c", 1, 5, "rw")};
    REQUIRE(manager->Apply(r).ok());
    CHECK(log.Relative(f.Dir("devices")) == Strings{"devices.deny=a *:* rwm", "devices.allow=c 1:5 rw"});
  }
  {
    // devices.list already showing the resulting allow list: nothing is written.
    Put(f.Dir("devices") + "/devices.list", "c 1:5 rw\nc 1:3 rwm\n");
    WriteLog log;
    oci::Resources r;
    r.devices = {MakeDeviceRule(false, "a", std::nullopt, std::nullopt, "rwm"), MakeDeviceRule(true, "c", 1, 3, "rwm"),
                 MakeDeviceRule(true, "c", 1, 5, "rw")};
    REQUIRE(manager->Apply(r).ok());
    CHECK(log.writes().empty());
  }
  oci::Resources bad;
  bad.devices = {MakeDeviceRule(true, "x", 1, 1, "rwm")};
  CHECK(manager->Apply(bad).code() == absl::StatusCode::kInvalidArgument);
  bad.devices = {MakeDeviceRule(true, "c", 1, 1, "rwq")};
  CHECK(manager->Apply(bad).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("v1 errors: unmounted controllers, unified map, missing hugepage sizes, knob errors") {
  V1Fixture f(/*hybrid=*/false);
  auto manager = f.Make();
  CHECK(manager->layout() == Layout::kLegacy);
  oci::Resources r;
  r.hugepage_limits = {{"2MB", 1}};
  absl::Status status = manager->Apply(r);
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(status.message() ==
        "cannot set linux.resources.hugepageLimits: the \"hugetlb\" cgroup controller is not mounted");
  r = {};
  r.unified = {{"memory.high", "1"}};
  CHECK(manager->Apply(r).code() == absl::StatusCode::kInvalidArgument);
  r = {};
  r.pids_limit = 7;
  REQUIRE(unlink((f.Dir("pids") + "/pids.max").c_str()) == 0);
  status = manager->Apply(r);
  CHECK(status.message() == "write \"7\" to \"" + f.Dir("pids") + "/pids.max\": no such file or directory");
}

TEST_CASE("v1 OpenSelfJoin: every hierarchy's tasks file, and the unified directory to be born in") {
  V1Fixture f;
  auto manager = f.Make();
  auto join = manager->OpenSelfJoin();
  REQUIRE(join.ok());
  std::vector<std::string> expected;
  for (const Hierarchy& h : manager->Hierarchies())
    if (h.fs_type == "cgroup") expected.push_back(h.host_path + "/tasks");
  std::vector<std::string> opened;
  for (const CgroupFile& tasks : join->tasks_files) opened.push_back(tasks.path);
  CHECK(opened == expected);
  CHECK(opened.size() == 9);
  CHECK(join->cgroup2_dir.valid());
  CHECK(join->cgroup2_procs.path == f.Dir("unified") + "/cgroup.procs");
  // Born in the unified cgroup: only the v1 files are written ("0": the writer itself).
  runtime::ChildError error;
  REQUIRE(runtime::EnterCgroup(*join, /*born_inside=*/true, &error));
  for (const std::string& path : expected) CHECK(Get(path) == "0");
  CHECK(Get(f.Dir("unified") + "/cgroup.procs") == "");
  // Not born there (clone3 refused): cgroup.procs too.
  REQUIRE(runtime::EnterCgroup(*join, /*born_inside=*/false, &error));
  CHECK(Get(f.Dir("unified") + "/cgroup.procs") == "0");
  // A hierarchy whose cgroup is gone: the error names the file.
  std::string pids_tasks = f.Dir("pids") + "/tasks";
  join->tasks_files[0].fd.reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
  join->tasks_files[0].path = pids_tasks;
  CHECK(!runtime::EnterCgroup(*join, true, &error));
  CHECK(error.err == EBADF);
  CHECK(std::string(error.message) == "join the container's cgroup: write \"0\" to \"" + pids_tasks + "\"");
}

TEST_CASE("v1 OpenSelfJoin fails naming a missing tasks file") {
  V1Fixture f;
  auto manager = f.Make();
  REQUIRE(unlink((f.Dir("memory") + "/tasks").c_str()) == 0);
  auto join = manager->OpenSelfJoin();
  CHECK(join.status().message() == "open \"" + f.Dir("memory") + "/tasks\" for writing: no such file or directory");
}

TEST_CASE("v1 freezer writes FROZEN/THAWED and waits for the state") {
  V1Fixture f;
  auto manager = f.Make();
  CHECK(*manager->GetFreezerState() == FreezerState::kThawed);
  REQUIRE(manager->Freeze().ok());
  CHECK(Get(f.Dir("freezer") + "/freezer.state") == "FROZEN");
  CHECK(*manager->GetFreezerState() == FreezerState::kFrozen);
  REQUIRE(manager->Thaw().ok());
  CHECK(*manager->GetFreezerState() == FreezerState::kThawed);
  Put(f.Dir("freezer") + "/freezer.state", "FREEZING\n");
  CHECK(*manager->GetFreezerState() == FreezerState::kFreezing);
}

TEST_CASE("v1 stats and their JSON") {
  V1Fixture f;
  std::string mem = f.Dir("memory"), cpu = f.Dir("cpu,cpuacct");
  Put(mem + "/memory.stat", "cache 4096\nrss 8192\ntotal_cache 4096\n");
  Put(mem + "/memory.usage_in_bytes", "12288\n");
  Put(mem + "/memory.max_usage_in_bytes", "20000\n");
  Put(mem + "/memory.failcnt", "0\n");
  Put(mem + "/memory.limit_in_bytes", "9223372036854771712\n");
  Put(mem + "/memory.memsw.usage_in_bytes", "12288\n");
  Put(mem + "/memory.memsw.max_usage_in_bytes", "20001\n");
  Put(mem + "/memory.memsw.failcnt", "2\n");
  Put(mem + "/memory.memsw.limit_in_bytes", "9223372036854771712\n");
  Put(cpu + "/cpuacct.usage", "123456789\n");
  Put(cpu + "/cpuacct.usage_percpu", "100000000 23456789 \n");
  Put(cpu + "/cpuacct.stat", "user 5\nsystem 7\n");
  Put(cpu + "/cpu.stat", "nr_periods 4\nnr_throttled 1\nthrottled_time 999\n");
  Put(f.Dir("pids") + "/pids.current", "2\n");
  Put(f.Dir("pids") + "/pids.max", "64\n");
  Put(f.Dir("blkio") + "/blkio.io_service_bytes_recursive", "Total 0\n");  // CFQ present but idle
  Put(f.Dir("blkio") + "/blkio.throttle.io_service_bytes_recursive",
      "8:0 Read 4096\n8:0 Write 0\n8:0 Total 4096\nTotal 4096\n");
  Put(f.Dir("blkio") + "/blkio.throttle.io_serviced_recursive", "8:0 Read 1\n8:0 Write 0\n8:0 Total 1\nTotal 1\n");
  Put(f.Dir("unified") + "/hugetlb.2MB.current", "0\n");
  Put(f.Dir("unified") + "/hugetlb.2MB.events", "max 0\n");
  Put(f.Dir("unified") + "/hugetlb.1GB.current", "0\n");
  Put(f.Dir("unified") + "/hugetlb.1GB.events", "max 0\n");

  auto stats = f.Make()->GetStats();
  REQUIRE(stats.ok());
  uint64_t tick_ns = 1000000000ULL / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
  CHECK(stats->cpu.usage_user_ns == 5u * tick_ns);
  CHECK(stats->cpu.usage_kernel_ns == 7u * tick_ns);
  json j = StatsToJson(*stats);
  CHECK(j["cpu"]["usage"]["total"] == 123456789);
  CHECK(j["cpu"]["usage"]["percpu"] == json::array({100000000, 23456789}));
  CHECK(j["cpu"]["throttling"] == json::parse(R"({"periods":4,"throttledPeriods":1,"throttledTime":999})"));
  CHECK(j["memory"]["usage"] == json::parse(R"({"limit":9223372036854771712,"usage":12288,"max":20000,"failcnt":0})"));
  CHECK(j["memory"]["swap"] == json::parse(R"({"limit":9223372036854771712,"usage":12288,"max":20001,"failcnt":2})"));
  CHECK(j["memory"]["cache"] == 4096);
  CHECK(j["memory"]["raw"]["rss"] == 8192);
  CHECK(j["pids"] == json::parse(R"({"current":2,"limit":64})"));
  CHECK(j["blkio"]["ioServiceBytesRecursive"] == json::parse(R"([{"major":8,"op":"Read","value":4096},
      {"major":8,"op":"Write"},{"major":8,"op":"Total","value":4096}])"));
  CHECK(j["blkio"]["ioServicedRecursive"].size() == 3);
  CHECK(j["hugetlb"] == json::parse(R"({"1GB":{"failcnt":0},"2MB":{"failcnt":0}})"));
}

TEST_CASE("blkio stat parsing") {
  auto entries = v1::ParseBlkioStat("8:16 Read 10\n8:16 Sync 3\n253:0 77\nTotal 10\n", "f");
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 3);
  CHECK((*entries)[2].major == 253);
  CHECK((*entries)[2].op.empty());
  CHECK((*entries)[2].value == 77);
  CHECK(!v1::ParseBlkioStat("garbage\n", "f").ok());
}

TEST_CASE("v1 OOM notifier registers an eventfd in cgroup.event_control") {
  V1Fixture f;
  auto fd = f.Make()->OpenOomNotifier();
  REQUIRE(fd.ok());
  REQUIRE(*fd >= 0);
  std::string line = Get(f.Dir("memory") + "/cgroup.event_control");
  CHECK(line.rfind(std::to_string(*fd) + " ", 0) == 0);
  CHECK(line.size() > std::to_string(*fd).size() + 1);
  close(*fd);
}

TEST_CASE("v1 Save and LoadManager round-trip (hybrid)") {
  V1Fixture f;
  auto manager = f.Make();
  json saved = manager->Save();
  CHECK(saved["layout"] == "hybrid");
  CHECK(saved["unified"]["controllers"] == json::array({"hugetlb"}));
  auto loaded = LoadManager(json::parse(saved.dump()));
  REQUIRE(loaded.ok());
  CHECK((*loaded)->layout() == Layout::kHybrid);
  CHECK((*loaded)->Save() == saved);
  CHECK((*loaded)->Hierarchies().size() == manager->Hierarchies().size());
  WriteLog log;
  oci::Resources r;
  r.hugepage_limits = {{"1GB", 0}};
  r.pids_limit = 3;
  REQUIRE((*loaded)->Apply(r).ok());
  CHECK(log.Relative(f.root) == Strings{"pids/liman/ctr/pids.max=3", "unified/cgroup.subtree_control=+hugetlb",
                                        "unified/liman/cgroup.subtree_control=+hugetlb",
                                        "unified/liman/ctr/hugetlb.1GB.max=0"});
  json broken = saved;
  broken["hierarchies"][0].erase("path");
  CHECK(!LoadManager(broken).ok());
}

TEST_CASE("v1 Destroy removes what Create made and nothing that was there before") {
  // Legacy, memory and pids only: mkdir in a fixture gives empty directories (no kernel files),
  // so rmdir works on them as it would on cgroupfs.
  TempDir tmp;
  std::string root = tmp / "cg";
  Put(tmp / "proc/self/mountinfo", "32 31 0:29 / " + root +
                                       "/memory rw - cgroup cgroup rw,memory\n"
                                       "33 31 0:30 / " +
                                       root + "/pids rw - cgroup cgroup rw,pids\n");
  REQUIRE(MkdirAll(root + "/memory/keep").ok());
  REQUIRE(MkdirAll(root + "/pids/keep").ok());
  ManagerOptions options;
  options.mount_root = root;
  options.proc_root = tmp / "proc";
  options.cgroups_path = "/keep/new/ctr";
  auto manager = NewManager(options);
  REQUIRE(manager.ok());
  REQUIRE((*manager)->Create().ok());
  CHECK(PathExists(root + "/memory/keep/new/ctr"));
  json saved = (*manager)->Save();
  CHECK(saved["hierarchies"][0]["created"] == json::array({root + "/memory/keep/new", root + "/memory/keep/new/ctr"}));
  // A nested cgroup made inside the container's (by the container itself) goes too.
  REQUIRE(MkdirAll(root + "/pids/keep/new/ctr/inner").ok());

  auto loaded = LoadManager(json::parse(saved.dump()));
  REQUIRE(loaded.ok());
  CHECK((*loaded)->Save() == saved);
  REQUIRE((*loaded)->Destroy().ok());
  CHECK(!PathExists(root + "/memory/keep/new"));
  CHECK(!PathExists(root + "/pids/keep/new"));
  CHECK(PathExists(root + "/memory/keep"));
  CHECK(PathExists(root + "/pids/keep"));
  // Destroying again is fine.
  CHECK((*loaded)->Destroy().ok());

  // A parent Create made but another container now uses stays.
  REQUIRE((*manager)->Create().ok());
  REQUIRE(MkdirAll(root + "/memory/keep/new/other").ok());
  REQUIRE((*manager)->Destroy().ok());
  CHECK(PathExists(root + "/memory/keep/new/other"));
  CHECK(!PathExists(root + "/memory/keep/new/ctr"));
}
