#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <optional>
#include <string>

#include "common/file_util.h"
#include "common/tests/scoped_env.h"
#include "common/tests/temp_dir.h"
#include "containerd/tasks/shim_binary.h"

using namespace liman;
using namespace liman::containerd::tasks;
using liman::test_support::ScopedEnv;
using liman::test_support::TempDir;

namespace {

void MakeExecutable(const std::string& path) {
  REQUIRE(WriteFileAtomic(path, "#!/bin/sh\n", 0755).ok());
  REQUIRE(chmod(path.c_str(), 0755) == 0);
}


}  // namespace

TEST_CASE("runtime names map to shim binary names as in containerd", "[shim_binary]") {
  CHECK(ShimBinaryName("io.containerd.runc.v2") == "containerd-shim-runc-v2");
  CHECK(ShimBinaryName("io.containerd.liman.v2") == "containerd-shim-liman-v2");
  CHECK(ShimBinaryName("io.containerd.runhcs.v1") == "containerd-shim-runhcs-v1");
  CHECK(ShimBinaryName("runc.v1") == "containerd-shim-runc-v1");
  CHECK(ShimBinaryName("runc") == "");
  CHECK(ShimBinaryName("") == "");
  CHECK(ShimBinaryName("io.containerd..v2") == "");
}

TEST_CASE("shims are found beside the daemon first, then in PATH", "[shim_binary]") {
  TempDir beside, in_path;
  MakeExecutable(JoinPath(in_path.path(), "containerd-shim-test-v2"));
  MakeExecutable(JoinPath(in_path.path(), "containerd-shim-other-v1"));
  MakeExecutable(JoinPath(beside.path(), "containerd-shim-test-v2"));
  ScopedEnv path("PATH", "relative/dir:" + in_path.path());

  absl::StatusOr<std::string> found = ResolveShimBinary("io.containerd.test.v2", {beside.path()});
  REQUIRE(found.ok());
  CHECK(*found == JoinPath(beside.path(), "containerd-shim-test-v2"));
  found = ResolveShimBinary("io.containerd.other.v1", {beside.path()});
  REQUIRE(found.ok());
  CHECK(*found == JoinPath(in_path.path(), "containerd-shim-other-v1"));

  absl::StatusOr<std::string> missing = ResolveShimBinary("io.containerd.nope.v9", {beside.path()});
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(missing.status().message()).find("\"io.containerd.nope.v9\"") != std::string::npos);
  CHECK(std::string(missing.status().message()).find("containerd-shim-nope-v9") != std::string::npos);

  CHECK(ResolveShimBinary("runc", {}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ResolveShimBinary("", {}).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("an absolute runtime path is the shim itself", "[shim_binary]") {
  TempDir dir;
  std::string shim = JoinPath(dir.path(), "my-shim");
  MakeExecutable(shim);
  absl::StatusOr<std::string> found = ResolveShimBinary(shim, {});
  REQUIRE(found.ok());
  CHECK(*found == shim);
  CHECK(ResolveShimBinary(JoinPath(dir.path(), "absent"), {}).status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("the daemon's own directory is that of /proc/self/exe", "[shim_binary]") {
  std::string exe = SelfExecutable();
  REQUIRE(!exe.empty());
  CHECK(exe.starts_with(SelfExecutableDir() + "/"));
}
