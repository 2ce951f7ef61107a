// Parsing of mountinfo and /proc/<pid>/cgroup, and the mapping of cgroup paths onto directories.
#include "common/cgroup_layout.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace liman::cgroups;
using Strings = std::vector<std::string>;

TEST_CASE("mountinfo parsing decodes escapes and v1 controllers") {
  auto mounts = FindCgroupMountsIn(
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
      "40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd,release_agent=/x\n"
      "41 31 0:38 / /sys/fs/cgroup/odd\\040name rw - cgroup cgroup rw,pids\n",
      "/sys/fs/cgroup");
  REQUIRE(mounts.ok());
  REQUIRE(mounts->v1.size() == 3);
  CHECK(mounts->v1[0].controllers == Strings{"cpu", "cpuacct"});
  CHECK(mounts->v1[1].controllers == Strings{"name=systemd"});
  CHECK(mounts->v1[2].mountpoint == "/sys/fs/cgroup/odd name");
  CHECK(mounts->layout == Layout::kLegacy);

  auto malformed = ParseMountInfo("32 31 0:29 / /sys/fs/cgroup/cpu rw\n");
  REQUIRE(!malformed.ok());
  CHECK(malformed.status().message() == "parse mountinfo: malformed line \"32 31 0:29 / /sys/fs/cgroup/cpu rw\"");
}

TEST_CASE("CgroupMountsIn finds cgroup mounts wherever they are, other filesystems left out") {
  auto entries = ParseMountInfo(
      "22 1 0:21 / / rw - ext4 /dev/sda1 rw\n"
      "31 30 0:27 / /elsewhere/v2/ rw - cgroup2 cgroup2 rw,nsdelegate\n"
      "36 30 0:32 /sub /mnt/mem rw - cgroup cgroup rw,memory\n");
  REQUIRE(entries.ok());
  std::vector<CgroupMount> mounts = CgroupMountsIn(*entries);
  REQUIRE(mounts.size() == 2);
  CHECK(mounts[0].v2);
  CHECK(mounts[0].mountpoint == "/elsewhere/v2");
  CHECK(mounts[0].controllers.empty());
  CHECK(!mounts[1].v2);
  CHECK(mounts[1].root == "/sub");
  CHECK(mounts[1].controllers == Strings{"memory"});
}

TEST_CASE("/proc/<pid>/cgroup lines: ids, controllers, paths with colons; bad lines are errors") {
  auto entries = ParseProcCgroup("12:cpu,cpuacct:/a\n1:name=systemd:/b\n0::/c:with:colons\n");
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 3);
  CHECK((*entries)[0].id == 12);
  CHECK((*entries)[0].controllers == Strings{"cpu", "cpuacct"});
  CHECK((*entries)[2].id == 0);
  CHECK((*entries)[2].controllers.empty());
  CHECK((*entries)[2].path == "/c:with:colons");
  for (const char* bad : {"x:memory:/a", "-1:memory:/a", "4 memory /a", ":memory:/a"}) {
    INFO(bad);
    CHECK(ParseProcCgroup(bad).status().code() == absl::StatusCode::kInvalidArgument);
  }

  CgroupMount memory{"/sys/fs/cgroup/memory", "/", false, {"memory"}};
  CgroupMount unified{"/sys/fs/cgroup/unified", "/", true, {}};
  auto own = ParseProcCgroup("9:memory:/m\n0::/u\n");
  REQUIRE(own.ok());
  CHECK(*OwnCgroup(memory, *own) == "/m");
  CHECK(*OwnCgroup(unified, *own) == "/u");
  CgroupMount pids{"/sys/fs/cgroup/pids", "/", false, {"pids"}};
  CHECK(OwnCgroup(pids, *own).status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("relative paths account for a bind-mounted sub-tree (mountinfo root)") {
  CgroupMount mount{"/sys/fs/cgroup", "/docker/abc", true, {}};
  CHECK(*CgroupDir(mount, "/docker/abc/inner") == "/sys/fs/cgroup/inner");
  CHECK(*CgroupDir(mount, "/docker/abc") == "/sys/fs/cgroup");
  CHECK(CgroupDir(mount, "/docker/abcd").status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(*ContainerDir(mount, "ctr", "/docker/abc/inner") == "/sys/fs/cgroup/inner/ctr");
  CHECK(*ContainerDir(mount, "/ctr", "/ignored") == "/sys/fs/cgroup/ctr");
  CHECK(!ContainerDir(mount, "ctr", "/other").ok());
}
