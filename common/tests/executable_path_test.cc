// Finding programs: the given directories first, then $PATH's absolute entries; only regular
// files that may be executed.
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include "common/executable_path.h"
#include "common/file_util.h"
#include "common/tests/scoped_env.h"
#include "common/tests/temp_dir.h"

namespace liman {
namespace {

using test_support::ScopedEnv;
using test_support::TempDir;

void WriteProgram(const std::string& path, mode_t mode) {
  REQUIRE(ReplaceFile(path, "#!/bin/sh\n", mode).ok());
  REQUIRE(chmod(path.c_str(), mode) == 0);
}

TEST_CASE("FindExecutable: the given directories, then $PATH; executable regular files only") {
  TempDir dir;
  std::string first = dir.Subdir("first"), on_path = dir.Subdir("on-path"), other = dir.Subdir("other");
  WriteProgram(on_path + "/tool", 0755);
  WriteProgram(other + "/plain", 0644);
  REQUIRE(MkdirAll(other + "/dir-named-tool/tool", 0755).ok());
  ScopedEnv path("PATH", "relative:" + other + ":" + other + "/dir-named-tool:" + on_path);

  CHECK(FindExecutable("tool") == on_path + "/tool");
  CHECK_FALSE(FindExecutable("plain").has_value());  // not executable
  CHECK_FALSE(FindExecutable("missing").has_value());
  WriteProgram(first + "/tool", 0755);
  CHECK(FindExecutable("tool", {first}) == first + "/tool");
  CHECK(IsExecutableFile(on_path + "/tool"));
  CHECK_FALSE(IsExecutableFile(other + "/plain"));
  CHECK_FALSE(IsExecutableFile(other));
}

TEST_CASE("FindExecutable skips $PATH's relative entries") {
  TempDir dir;
  WriteProgram(dir / "tool", 0755);
  REQUIRE(chdir(dir.path().c_str()) == 0);
  ScopedEnv path("PATH", ".:");
  CHECK_FALSE(FindExecutable("tool").has_value());
  REQUIRE(chdir("/") == 0);
}

}  // namespace
}  // namespace liman
