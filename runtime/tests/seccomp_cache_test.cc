#include "runtime/seccomp_cache.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "runtime/tests/cgroup_fixture.h"

using namespace liman;
using namespace liman::runtime;
using liman::cgroups::testing::TempDir;

namespace {

oci::Seccomp DenyMkdirWith(unsigned errno_ret) {
  oci::Seccomp seccomp;
  seccomp.default_action = "SCMP_ACT_ALLOW";
  oci::SeccompSyscall call;
  call.names = {"mkdir", "mkdirat"};
  call.action = "SCMP_ACT_ERRNO";
  call.errno_ret = errno_ret;
  seccomp.syscalls.push_back(call);
  return seccomp;
}

std::vector<std::string> CacheFiles(const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> names = ListDir(dir);
  REQUIRE(names.ok());
  return *names;
}

bool SameFilter(const SeccompProgram& a, const SeccompProgram& b) {
  return a.flags == b.flags && a.uses_notify == b.uses_notify && a.filter.size() == b.filter.size() &&
         memcmp(a.filter.data(), b.filter.data(), a.filter.size() * sizeof(sock_filter)) == 0;
}

}  // namespace

TEST_CASE("SeccompCacheKey tells profiles apart down to an argument", "[seccomp]") {
  oci::Seccomp base = DenyMkdirWith(1);
  CHECK(SeccompCacheKey(base) == SeccompCacheKey(DenyMkdirWith(1)));
  CHECK(SeccompCacheKey(base) != SeccompCacheKey(DenyMkdirWith(2)));
  oci::Seccomp with_arg = base;
  with_arg.syscalls[0].args.push_back({0, 5, 0, "SCMP_CMP_EQ"});
  oci::Seccomp other_arg = base;
  other_arg.syscalls[0].args.push_back({0, 6, 0, "SCMP_CMP_EQ"});
  CHECK(SeccompCacheKey(with_arg) != SeccompCacheKey(other_arg));
  // Moving a name from one list to the next is a different profile, not the same bytes.
  oci::Seccomp split = base;
  split.syscalls[0].names = {"mkdir"};
  split.syscalls.push_back(split.syscalls[0]);
  split.syscalls[1].names = {"mkdirat"};
  CHECK(SeccompCacheKey(split) != SeccompCacheKey(base));
}

TEST_CASE("SeccompCache compiles once and serves the stored program for that profile only", "[seccomp]") {
  TempDir tmp;
  std::string dir = tmp / "cache";
  SeccompCache cache(dir);

  absl::StatusOr<SeccompProgram> first = cache.Compile(DenyMkdirWith(1));
  REQUIRE(first.ok());
  absl::StatusOr<SeccompProgram> direct = CompileSeccomp(DenyMkdirWith(1));
  REQUIRE(direct.ok());
  CHECK(SameFilter(*first, *direct));
  std::vector<std::string> files = CacheFiles(dir);
  REQUIRE(files.size() == 1);
  std::string path = JoinPath(dir, files[0]);

  // Rewrite the stored program's last instruction: the next lookup must return the file's
  // program, which shows it was read, not compiled again.
  absl::StatusOr<std::string> stored = ReadFile(path);
  REQUIRE(stored.ok());
  std::string altered = *stored;
  sock_filter last;
  memcpy(&last, altered.data() + altered.size() - sizeof last, sizeof last);
  last.k ^= 0x5a5a;
  memcpy(altered.data() + altered.size() - sizeof last, &last, sizeof last);
  REQUIRE(WriteFileAtomic(path, altered, 0600).ok());
  absl::StatusOr<SeccompProgram> served = cache.Compile(DenyMkdirWith(1));
  REQUIRE(served.ok());
  CHECK_FALSE(SameFilter(*served, *direct));
  CHECK(served->filter.back().k == last.k);

  // Another profile never gets that program.
  absl::StatusOr<SeccompProgram> other = cache.Compile(DenyMkdirWith(2));
  REQUIRE(other.ok());
  absl::StatusOr<SeccompProgram> other_direct = CompileSeccomp(DenyMkdirWith(2));
  REQUIRE(other_direct.ok());
  CHECK(SameFilter(*other, *other_direct));

  // A torn file is a miss: compiled again and replaced.
  REQUIRE(WriteFileAtomic(path, stored->substr(0, stored->size() - 3), 0600).ok());
  absl::StatusOr<SeccompProgram> again = cache.Compile(DenyMkdirWith(1));
  REQUIRE(again.ok());
  CHECK(SameFilter(*again, *direct));
  absl::StatusOr<std::string> rewritten = ReadFile(path);
  REQUIRE(rewritten.ok());
  CHECK(*rewritten == *stored);
}

TEST_CASE("SeccompCache keeps at most kMaxEntries programs and passes compile errors on", "[seccomp]") {
  TempDir tmp;
  SeccompCache cache(tmp.path());
  for (unsigned i = 1; i <= SeccompCache::kMaxEntries + 3; ++i) REQUIRE(cache.Compile(DenyMkdirWith(i)).ok());
  CHECK(CacheFiles(tmp.path()).size() == SeccompCache::kMaxEntries);

  oci::Seccomp bad = DenyMkdirWith(1);
  bad.syscalls[0].action = "SCMP_ACT_BOGUS";
  absl::StatusOr<SeccompProgram> refused = cache.Compile(bad);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(std::string(refused.status().message()), Catch::Contains("SCMP_ACT_BOGUS"));

  // No directory: every call compiles.
  absl::StatusOr<SeccompProgram> uncached = SeccompCache("").Compile(DenyMkdirWith(1));
  REQUIRE(uncached.ok());
}
