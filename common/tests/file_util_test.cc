#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "common/file_util.h"
#include "common/status.h"

using namespace liman;

namespace {
std::string MakeTempDir() {
  char tmpl[] = "/tmp/liman-test-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}
}  // namespace

TEST_CASE("WriteFileAtomic replaces content and leaves no temporary behind") {
  std::string dir = MakeTempDir();
  std::string path = JoinPath(dir, "state.json");
  REQUIRE(WriteFileAtomic(path, "one").ok());
  REQUIRE(WriteFileAtomic(path, "two", 0600).ok());
  CHECK(*ReadFile(path) == "two");
  CHECK(ListDir(dir)->size() == 1);
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(RemoveAll(dir).ok());
  CHECK(!PathExists(dir));
}

TEST_CASE("ReadFile names the path and the cause") {
  auto result = ReadFile("/nonexistent/liman/config.json");
  REQUIRE(!result.ok());
  CHECK(result.status().message() == "open \"/nonexistent/liman/config.json\": no such file or directory");
}

TEST_CASE("MkdirAll makes parents and refuses a file in the way") {
  std::string dir = MakeTempDir();
  CHECK(MkdirAll(JoinPath(dir, "a/b/c")).ok());
  CHECK(MkdirAll(JoinPath(dir, "a/b/c")).ok());
  REQUIRE(WriteFileAtomic(JoinPath(dir, "f"), "x").ok());
  auto status = MkdirAll(JoinPath(dir, "f"));
  CHECK(StatusErrno(status) == ENOTDIR);
  REQUIRE(symlink("/", JoinPath(dir, "a/link").c_str()) == 0);
  REQUIRE(RemoveAll(dir).ok());  // must not follow the link into /
  CHECK(!PathExists(dir));
  CHECK(PathExists("/etc"));
}

TEST_CASE("JoinPath puts exactly one slash between parts") {
  CHECK(JoinPath("/a/", "/b") == "/a/b");
  CHECK(JoinPath("/", "b") == "/b");
  CHECK(JoinPath("", "b") == "b");
  CHECK(JoinPath("a", "") == "a");
}
