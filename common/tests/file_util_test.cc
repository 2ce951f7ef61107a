#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "common/file_util.h"
#include "common/status.h"
#include "common/tests/temp_dir.h"

using namespace liman;

TEST_CASE("WriteFileAtomic replaces content and leaves no temporary behind") {
  test_support::TempDir temp("liman-test");
  std::string dir = temp.path();
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

TEST_CASE("IsMountPoint: a filesystem or a bind mount of the same filesystem, not a directory") {
  test_support::TempDir dir;
  std::string tmpfs = dir.Subdir("tmpfs"), bound = dir.Subdir("bound"), plain = dir.Subdir("plain");
  CHECK_FALSE(IsMountPoint(plain));
  CHECK_FALSE(IsMountPoint(dir / "missing"));
  // Unmounted before the directory goes, whatever fails.
  auto unmount = absl::MakeCleanup([&] {
    (void)umount2(tmpfs.c_str(), MNT_DETACH);
    (void)umount2(bound.c_str(), MNT_DETACH);
  });
  REQUIRE(mount("tmpfs", tmpfs.c_str(), "tmpfs", 0, "size=64k") == 0);
  REQUIRE(mount(plain.c_str(), bound.c_str(), nullptr, MS_BIND, nullptr) == 0);
  CHECK(IsMountPoint(tmpfs));
  CHECK(IsMountPoint(bound));
  CHECK_FALSE(IsMountPoint(plain));
  std::move(unmount).Invoke();
  CHECK_FALSE(IsMountPoint(tmpfs));
  CHECK_FALSE(IsMountPoint(bound));
}

TEST_CASE("ReadFile names the path and the cause") {
  auto result = ReadFile("/nonexistent/liman/config.json");
  REQUIRE(!result.ok());
  CHECK(result.status().message() == "open \"/nonexistent/liman/config.json\": no such file or directory");
}

TEST_CASE("MkdirAll makes parents and refuses a file in the way") {
  test_support::TempDir temp("liman-test");
  std::string dir = temp.path();
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

TEST_CASE("ReadLink returns targets of any length and names the path when it fails") {
  test_support::TempDir dir;
  std::string target = "/" + std::string(300, 'x') + "/" + std::string(700, 'y');
  std::string link = JoinPath(dir.path(), "long");
  REQUIRE(symlink(target.c_str(), link.c_str()) == 0);
  CHECK(*ReadLink(link) == target);
  auto missing = ReadLink(JoinPath(dir.path(), "missing"));
  REQUIRE_FALSE(missing.ok());
  CHECK(StatusErrno(missing.status()) == ENOENT);
  CHECK(std::string(missing.status().message()).find("readlink \"" + dir.path() + "/missing\"") != std::string::npos);
  REQUIRE(WriteFileAtomic(JoinPath(dir.path(), "file"), "x").ok());
  CHECK(StatusErrno(ReadLink(JoinPath(dir.path(), "file")).status()) == EINVAL);
}

TEST_CASE("ListSubdirectories keeps directories only, not files or links to directories") {
  test_support::TempDir dir;
  REQUIRE(MkdirAll(JoinPath(dir.path(), "a/inner")).ok());
  REQUIRE(MkdirAll(JoinPath(dir.path(), "b")).ok());
  REQUIRE(WriteFileAtomic(JoinPath(dir.path(), "file"), "x").ok());
  REQUIRE(symlink(JoinPath(dir.path(), "a").c_str(), JoinPath(dir.path(), "link").c_str()) == 0);
  auto names = ListSubdirectories(dir.path());
  REQUIRE(names.ok());
  std::sort(names->begin(), names->end());
  CHECK(*names == std::vector<std::string>{"a", "b"});
  CHECK(ListDir(dir.path())->size() == 4);
  CHECK(StatusErrno(ListSubdirectories(JoinPath(dir.path(), "none")).status()) == ENOENT);
}

TEST_CASE("CleanAbsolutePath collapses slashes, dots and dot-dots, never above the root") {
  CHECK(CleanAbsolutePath("") == "/");
  CHECK(CleanAbsolutePath("/") == "/");
  CHECK(CleanAbsolutePath("a/./b/../c/") == "/a/c");
  CHECK(CleanAbsolutePath("//x//y") == "/x/y");
  CHECK(CleanAbsolutePath("/../../etc") == "/etc");
}
