#include "common/cgroup_migration_warmup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "absl/cleanup/cleanup.h"
#include "common/file_util.h"
#include "common/memory_cgroup.h"
#include "fmt/format.h"

namespace liman {
namespace {

std::string OwnMemoryCgroup() {
  absl::StatusOr<MemoryCgroup> own = FindMemoryCgroup(getpid());
  REQUIRE(own.ok());
  return own->path;
}

void MoveSelfTo(const std::string& dir) {
  REQUIRE(WriteFile(JoinPath(dir, "cgroup.procs"), std::to_string(getpid())).ok());
}

TEST_CASE("the cgroup-migration warm-up leaves the process in the cgroup it is in now") {
  if (getuid() != 0) {
    WARN("skipped: needs root to make cgroups");
    return;
  }
  absl::StatusOr<MemoryCgroup> found = FindMemoryCgroup(getpid());
  if (!found.ok()) {
    WARN("skipped: no memory cgroup: " << found.status().message());
    return;
  }
  const std::string original = found->path;
  const std::string a = JoinPath(original, fmt::format("liman-warmup-test-{}-a", getpid()));
  const std::string b = JoinPath(original, fmt::format("liman-warmup-test-{}-b", getpid()));
  REQUIRE(mkdir(a.c_str(), 0755) == 0);
  absl::Cleanup remove_a = [&] { rmdir(a.c_str()); };
  REQUIRE(mkdir(b.c_str(), 0755) == 0);
  absl::Cleanup remove_b = [&] { rmdir(b.c_str()); };
  absl::Cleanup move_back = [&] {
    WaitForCgroupMigrationWarmup();
    (void)WriteFile(JoinPath(original, "cgroup.procs"), std::to_string(getpid()));
  };

  MoveSelfTo(a);
  WarmCgroupMigrationLock();
  WaitForCgroupMigrationWarmup();
  CHECK(OwnMemoryCgroup() == a);
  // Moved since the last warm-up: the next one must not take the process back.
  MoveSelfTo(b);
  WarmCgroupMigrationLock();
  WaitForCgroupMigrationWarmup();
  CHECK(OwnMemoryCgroup() == b);
  // Moved while the lock is being kept warm: the writes that follow go to the new cgroup.
  WarmCgroupMigrationLock();
  usleep(20 * 1000);
  MoveSelfTo(a);
  usleep(20 * 1000);
  CHECK(OwnMemoryCgroup() == a);
  WaitForCgroupMigrationWarmup();
  CHECK(OwnMemoryCgroup() == a);
}

}  // namespace
}  // namespace liman
