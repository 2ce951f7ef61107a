// limand's cgroup parent, made below every hierarchy of a fixture host.
#include "engine/daemon/cgroup_parent.h"

#include <catch2/catch.hpp>
#include <string>

#include "common/file_util.h"
#include "common/tests/temp_dir.h"
#include "fmt/format.h"

namespace liman::engine {
namespace {

void Write(const std::string& path, const std::string& text) {
  REQUIRE(MkdirAll(path.substr(0, path.rfind('/')), 0755).ok());
  REQUIRE(WriteFileAtomic(path, text).ok());
}

TEST_CASE("the cgroup parent is made below every v1 hierarchy and the cgroup2 one, and kept") {
  test_support::TempDir temp("liman-cgroup-parent-test");
  const std::string& root = temp.path();
  std::string mounts = JoinPath(root, "sys/fs/cgroup");
  std::string proc = JoinPath(root, "proc");
  // A hybrid host: two v1 hierarchies (one joint), a named one, cgroup2 at unified/; a cgroup
  // mount elsewhere that is not the host's.
  Write(JoinPath(proc, "self/mountinfo"),
        fmt::format("30 22 0:26 / {0} rw - tmpfs tmpfs ro\n"
                    "31 30 0:27 / {0}/unified rw - cgroup2 cgroup2 rw\n"
                    "32 30 0:28 / {0}/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
                    "35 30 0:31 / {0}/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
                    "36 30 0:32 / {0}/memory rw - cgroup cgroup rw,memory\n"
                    "37 22 0:33 / {1}/elsewhere rw - cgroup cgroup rw,pids\n",
                    mounts, root));
  for (const char* dir : {"unified", "systemd", "cpu,cpuacct", "memory"})
    REQUIRE(MkdirAll(JoinPath(mounts, dir), 0755).ok());

  REQUIRE(MakeCgroupParent("/tag/liman", mounts, proc).ok());
  for (const char* dir : {"unified", "systemd", "cpu,cpuacct", "memory"})
    CHECK(PathExists(JoinPath(mounts, std::string(dir) + "/tag/liman")));
  CHECK(!PathExists(JoinPath(root, "elsewhere/tag")));
  // Again: existing directories are fine.
  CHECK(MakeCgroupParent("/tag/liman", mounts, proc).ok());
  // A relative parent is the runtime's to resolve; a climbing one is refused.
  CHECK(MakeCgroupParent("relative/liman", mounts, proc).ok());
  CHECK(!PathExists(JoinPath(mounts, "memory/relative")));
  CHECK(MakeCgroupParent("/../escape", mounts, proc).code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace liman::engine
