// docker run --init: which host binary becomes the container's /sbin/docker-init.
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include "common/file_util.h"
#include "common/tests/scoped_env.h"
#include "common/tests/temp_dir.h"
#include "engine/daemon/init_binary.h"

namespace liman::engine {
namespace {

using test_support::ScopedEnv;
using test_support::TempDir;

void WriteProgram(const std::string& path) {
  REQUIRE(ReplaceFile(path, "#!/bin/sh\n", 0755).ok());
  REQUIRE(chmod(path.c_str(), 0755) == 0);
}

TEST_CASE("an absolute --init-path is used as it is, if it can be executed") {
  TempDir dir;
  WriteProgram(dir / "my-init");
  CHECK(LookupInitPath(dir / "my-init").value() == dir / "my-init");
  absl::StatusOr<std::string> missing = LookupInitPath(dir / "nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() == "init binary \"" + (dir / "nope") + "\": not an executable file");
}

TEST_CASE("an init name is looked up in $PATH; the default falls back to tini-static") {
  TempDir dir;
  ScopedEnv path("PATH", dir.path());
  absl::StatusOr<std::string> none = LookupInitPath("liman-test-init");
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().message().find("init binary \"liman-test-init\" not found") != std::string_view::npos);
  WriteProgram(dir / "liman-test-init");
  CHECK(LookupInitPath("liman-test-init").value() == dir / "liman-test-init");
  // Debian's tini package has no docker-init (docker.io links it): its static tini serves.
  WriteProgram(dir / "tini-static");
  absl::StatusOr<std::string> fallback = LookupInitPath("");
  REQUIRE(fallback.ok());
  CHECK((*fallback == dir / "tini-static" || fallback->ends_with("/docker-init")));
  // A name that was asked for has no fallback.
  CHECK_FALSE(LookupInitPath("tini-missing").ok());
}

}  // namespace
}  // namespace liman::engine
