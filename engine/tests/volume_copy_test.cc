// Docker's copy-up into volumes: an empty volume is filled from the image's directory, with
// owners, modes, times, symlinks and special files; paths resolve inside the image's root.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/file_util.h"
#include "common/tests/temp_dir.h"
#include "common/unique_fd.h"
#include "engine/daemon/volume_copy.h"

namespace liman::engine {
namespace {

using test_support::TempDir;

struct stat Lstat(const std::string& path) {
  struct stat st {};
  REQUIRE(lstat(path.c_str(), &st) == 0);
  return st;
}

TEST_CASE("an empty volume is filled from the image's directory with its owners, modes and kinds") {
  TempDir dir;
  std::string root = dir.Subdir("root"), volume = dir.Subdir("volume");
  std::string app = dir.Subdir("root/srv/app/sub");
  app = root + "/srv/app";
  REQUIRE(ReplaceFile(app + "/a", "hello", 0600).ok());
  REQUIRE(ReplaceFile(app + "/sub/b", "deep", 0644).ok());
  REQUIRE(symlink("/etc/passwd", (app + "/abs-link").c_str()) == 0);
  REQUIRE(mkfifo((app + "/fifo").c_str(), 0620) == 0);
  REQUIRE(chmod((app + "/fifo").c_str(), 0620) == 0);  // past the umask
  REQUIRE(mknod((app + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
  REQUIRE(chown((app + "/a").c_str(), 1000, 1001) == 0);
  REQUIRE(lchown((app + "/abs-link").c_str(), 1002, 1002) == 0);
  REQUIRE(chown(app.c_str(), 1000, 1001) == 0);
  REQUIRE(chmod(app.c_str(), 0750) == 0);
  struct timespec old_times[2] = {{1000000000, 0}, {1000000000, 0}};
  REQUIRE(utimensat(AT_FDCWD, (app + "/sub/b").c_str(), old_times, 0) == 0);
  // A symlink in the image that names the directory absolutely: it resolves inside the root.
  REQUIRE(symlink("/srv/app", (root + "/app-link").c_str()) == 0);
  UniqueFd root_fd(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(root_fd);

  REQUIRE(CopyImagePathIntoVolume(root_fd.get(), "/app-link", volume).ok());
  CHECK(ReadFile(volume + "/a").value() == "hello");
  CHECK(ReadFile(volume + "/sub/b").value() == "deep");
  CHECK(Lstat(volume + "/a").st_uid == 1000);
  CHECK(Lstat(volume + "/a").st_gid == 1001);
  CHECK((Lstat(volume + "/a").st_mode & 07777) == 0600);
  CHECK(Lstat(volume + "/sub/b").st_mtim.tv_sec == 1000000000);
  CHECK(S_ISLNK(Lstat(volume + "/abs-link").st_mode));
  CHECK(ReadLink(volume + "/abs-link").value() == "/etc/passwd");
  CHECK(Lstat(volume + "/abs-link").st_uid == 1002);
  CHECK(S_ISFIFO(Lstat(volume + "/fifo").st_mode));
  CHECK((Lstat(volume + "/fifo").st_mode & 07777) == 0620);
  CHECK(S_ISCHR(Lstat(volume + "/null").st_mode));
  CHECK(Lstat(volume + "/null").st_rdev == makedev(1, 3));
  // The volume's own directory as the image's.
  CHECK(Lstat(volume).st_uid == 1000);
  CHECK((Lstat(volume).st_mode & 07777) == 0750);
}

TEST_CASE("a volume with entries, a missing path and a file are left alone") {
  TempDir dir;
  std::string root = dir.Subdir("root"), volume = dir.Subdir("volume");
  dir.Subdir("root/data");
  REQUIRE(ReplaceFile(root + "/data/x", "image", 0644).ok());
  REQUIRE(ReplaceFile(root + "/file", "f", 0644).ok());
  REQUIRE(ReplaceFile(volume + "/mine", "mine", 0644).ok());
  UniqueFd root_fd(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(CopyImagePathIntoVolume(root_fd.get(), "/data", volume).ok());
  CHECK_FALSE(PathExists(volume + "/x"));
  std::string empty = dir.Subdir("empty");
  CHECK(CopyImagePathIntoVolume(root_fd.get(), "/missing", empty).ok());
  CHECK(CopyImagePathIntoVolume(root_fd.get(), "/file", empty).ok());
  CHECK(ListDir(empty).value().empty());
  // ".." cannot climb out of the image's root.
  CHECK(CopyImagePathIntoVolume(root_fd.get(), "/../../..", empty).ok());
  CHECK(PathExists(empty + "/data"));  // the root itself, not the host's
  CHECK_FALSE(PathExists(empty + "/root"));
}

}  // namespace
}  // namespace liman::engine
