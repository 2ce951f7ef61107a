#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <clocale>
#include <string>

#include "common/file_util.h"
#include "containerd/archive/apply.h"
#include "containerd/archive/tests/test_util.h"

using namespace liman;
using namespace liman::containerd::archive;
using namespace liman::containerd::archive::testing;

namespace {

struct stat Lstat(const std::string& path) {
  struct stat st{};
  REQUIRE(lstat(path.c_str(), &st) == 0);
  return st;
}

std::string GetXattr(const std::string& path, const char* name) {
  char value[256];
  ssize_t n = lgetxattr(path.c_str(), name, value, sizeof value);
  return n < 0 ? std::string("<none>") : std::string(value, static_cast<size_t>(n));
}

// VFS_CAP_REVISION_2 file capabilities (linux/capability.h): effective, CAP_NET_BIND_SERVICE.
std::string NetBindCapability() {
  uint32_t words[5] = {0x02000000 | 0x1, 1u << 10, 0, 0, 0};
  return std::string(reinterpret_cast<const char*>(words), sizeof words);
}

std::vector<TarEntry> EveryKind() {
  TarEntry setuid = File("usr/bin/su", "#!/bin/true\n", 04755);
  TarEntry owned = File("home/user/notes", "mine", 0600);
  owned.uid = 1000;
  owned.gid = 1001;
  owned.mtime = 1600000000;
  owned.mtime_nsec = 123456789;
  TarEntry capable = File("usr/bin/ping", "ELF", 0755);
  capable.xattrs = {{"security.capability", NetBindCapability()}, {"user.origin", "test"}, {"trusted.note", "t"}};
  TarEntry tmp = Dir("tmp", 01777);
  tmp.mtime = 1500000000;
  TarEntry home = Dir("home/user", 0700);
  home.uid = 1000;
  home.gid = 1001;
  home.xattrs = {{"user.dir", "yes"}};
  TarEntry link = Symlink("usr/bin/sh", "dash");
  link.uid = 5;
  link.gid = 6;
  link.mtime = 1400000000;
  return {Dir("usr"),
          Dir("usr/bin"),
          setuid,
          capable,
          File("usr/bin/dash", std::string(3 << 20, 'd'), 0755),
          link,
          Hardlink("usr/bin/sh.hard", "usr/bin/dash"),
          Dir("dev"),
          Node("dev/null", S_IFCHR, 1, 3),
          Node("dev/loop0", S_IFBLK, 7, 0),
          Node("dev/pipe", S_IFIFO),
          tmp,
          Dir("home", 0755),
          home,
          owned};
}

}  // namespace

TEST_CASE("ApplyLayer writes every entry kind with owner, mode, times and xattrs") {
  for (ApplyOptions options : {Overlay(), Merged()}) {
    TempDir temp;
    std::string root = temp.Subdir("root");
    std::string tar = BuildTar(EveryKind());
    auto result = ApplyBytes(GzipMember(tar), Compression::kGzip, root, options);
    REQUIRE(result.ok());
    CHECK(result->diff_id == Sha256Digest(tar));
    CHECK(result->tar_size == static_cast<int64_t>(tar.size()));

    struct stat su = Lstat(root + "/usr/bin/su");
    CHECK((su.st_mode & 07777) == 04755);
    CHECK(ReadHostFile(root + "/usr/bin/su") == "#!/bin/true\n");
    CHECK(ReadHostFile(root + "/usr/bin/dash") == std::string(3 << 20, 'd'));
    struct stat notes = Lstat(root + "/home/user/notes");
    CHECK(notes.st_uid == 1000);
    CHECK(notes.st_gid == 1001);
    CHECK((notes.st_mode & 07777) == 0600);
    CHECK(notes.st_mtim.tv_sec == 1600000000);
    CHECK(notes.st_mtim.tv_nsec == 123456789);
    CHECK(GetXattr(root + "/usr/bin/ping", "security.capability") == NetBindCapability());
    CHECK(GetXattr(root + "/usr/bin/ping", "user.origin") == "test");
    CHECK(GetXattr(root + "/usr/bin/ping", "trusted.note") == "t");
    CHECK(GetXattr(root + "/home/user", "user.dir") == "yes");

    struct stat sh = Lstat(root + "/usr/bin/sh");
    CHECK(S_ISLNK(sh.st_mode));
    CHECK(sh.st_uid == 5);
    CHECK(sh.st_mtim.tv_sec == 1400000000);
    char target[64] = {};
    CHECK(readlink((root + "/usr/bin/sh").c_str(), target, sizeof target - 1) == 4);
    CHECK(std::string(target) == "dash");
    CHECK(Lstat(root + "/usr/bin/sh.hard").st_ino == Lstat(root + "/usr/bin/dash").st_ino);
    CHECK(Lstat(root + "/usr/bin/dash").st_nlink == 2);

    struct stat null = Lstat(root + "/dev/null");
    CHECK(S_ISCHR(null.st_mode));
    CHECK(null.st_rdev == makedev(1, 3));
    struct stat loop = Lstat(root + "/dev/loop0");
    CHECK(S_ISBLK(loop.st_mode));
    CHECK(loop.st_rdev == makedev(7, 0));
    CHECK(S_ISFIFO(Lstat(root + "/dev/pipe").st_mode));

    // Directory modes and times hold although entries were written into them afterwards.
    struct stat tmp = Lstat(root + "/tmp");
    CHECK((tmp.st_mode & 07777) == 01777);
    CHECK(tmp.st_mtim.tv_sec == 1500000000);
    CHECK(Lstat(root + "/usr/bin").st_mtim.tv_sec == 1700000000);
    struct stat home = Lstat(root + "/home/user");
    CHECK(home.st_uid == 1000);
    CHECK((home.st_mode & 07777) == 0700);
  }
}

TEST_CASE("ApplyLayer reads GNU long names and long link targets") {
  TempDir temp;
  std::string root = temp.Subdir("root");
  std::string deep = "d/" + std::string(120, 'a') + "/" + std::string(90, 'b');
  std::string long_target = std::string(150, 'x');
  std::vector<TarEntry> entries = {File(deep, "deep"), Symlink("link", long_target), Hardlink("hard", deep)};
  for (TarFormat format : {TarFormat::kGnu, TarFormat::kPax}) {
    std::string tar = BuildTar(entries, format);
    auto result = ApplyBytes(tar, Compression::kNone, root, Overlay());
    REQUIRE(result.ok());
    CHECK(ReadHostFile(root + "/" + deep) == "deep");
    char target[256] = {};
    CHECK(readlink((root + "/link").c_str(), target, sizeof target - 1) == 150);
    CHECK(Lstat(root + "/hard").st_ino == Lstat(root + "/" + deep).st_ino);
  }
}

TEST_CASE("diff_id is the sha256 of the raw tar for every compression, however the source is cut") {
  std::vector<TarEntry> entries = EveryKind();
  for (int i = 0; i < 50; ++i) entries.push_back(File("many/file" + std::to_string(i), std::string(i * 997, 'a' + i % 26)));
  std::string tar = BuildTar(entries);
  std::string half = tar.substr(0, tar.size() / 2);
  std::string pigz_like = GzipMember(half) + GzipMember(tar.substr(half.size()));
  struct Case {
    const char* name;
    std::string layer;
    Compression compression;
  };
  for (const Case& c : {Case{"none", tar, Compression::kNone}, Case{"gzip", GzipMember(tar), Compression::kGzip},
                        Case{"gzip members", pigz_like, Compression::kGzip},
                        Case{"zstd", ZstdFrame(tar), Compression::kZstd},
                        Case{"gzip declared as tar", GzipMember(tar), Compression::kNone}}) {
    for (size_t max_read : {size_t{333}, SIZE_MAX}) {
      INFO(c.name << " max_read " << max_read);
      TempDir temp;
      auto result = ApplyBytes(c.layer, c.compression, temp.Subdir("root"), Overlay(), max_read);
      REQUIRE(result.ok());
      CHECK(result->diff_id == Sha256Digest(tar));
      CHECK(result->tar_size == static_cast<int64_t>(tar.size()));
      CHECK(ReadHostFile(temp / "root/many/file49") == std::string(49 * 997, 'a' + 49 % 26));
    }
  }
}

TEST_CASE("ApplyLayer without read-ahead gives the same tree") {
  std::string tar = BuildTar(EveryKind());
  TempDir temp;
  ApplyOptions single = Overlay();
  single.read_ahead = false;
  auto threaded = ApplyBytes(tar, Compression::kNone, temp.Subdir("a"), Overlay());
  auto unthreaded = ApplyBytes(tar, Compression::kNone, temp.Subdir("b"), single);
  REQUIRE(threaded.ok());
  REQUIRE(unthreaded.ok());
  CHECK(threaded->diff_id == unthreaded->diff_id);
  CHECK(Describe(Snapshot(temp / "a")) == Describe(Snapshot(temp / "b")));
}

TEST_CASE("An empty stream and a tar of only end blocks are empty layers") {
  TempDir temp;
  auto empty = ApplyBytes("", Compression::kNone, temp.Subdir("a"), Overlay());
  REQUIRE(empty.ok());
  CHECK(empty->diff_id == Sha256Digest(""));
  std::string zeros(1024, '\0');  // what Docker's empty layer holds
  auto blocks = ApplyBytes(GzipMember(zeros), Compression::kGzip, temp.Subdir("b"), Overlay());
  REQUIRE(blocks.ok());
  CHECK(blocks->diff_id == Sha256Digest(zeros));
  CHECK(Snapshot(temp / "b").empty());
}

TEST_CASE("Corrupt or truncated layers fail with kDataLoss") {
  std::string tar = BuildTar({File("a", std::string(1 << 20, 'a')), File("b", std::string(1 << 20, 'b'))});
  std::string gz = GzipMember(tar);
  TempDir temp;
  auto truncated = ApplyBytes(gz.substr(0, gz.size() / 2), Compression::kGzip, temp.Subdir("a"), Overlay());
  REQUIRE(!truncated.ok());
  CHECK(truncated.status().code() == absl::StatusCode::kDataLoss);
  CHECK(std::string(truncated.status().message()).find("gzip") != std::string::npos);
  auto short_tar = ApplyBytes(tar.substr(0, 700000), Compression::kNone, temp.Subdir("b"), Overlay());
  REQUIRE(!short_tar.ok());
  auto garbage = ApplyBytes(GzipMember("this is not a tar archive, not even close to one" + std::string(600, 'x')),
                            Compression::kGzip, temp.Subdir("c"), Overlay());
  REQUIRE(!garbage.ok());
  auto trailing = ApplyBytes(gz + "junk", Compression::kGzip, temp.Subdir("d"), Overlay());
  REQUIRE(!trailing.ok());
  auto wrong_declared = ApplyBytes(tar, Compression::kGzip, temp.Subdir("e"), Overlay());
  REQUIRE(!wrong_declared.ok());
}

TEST_CASE("Entries replace what is at their path") {
  TempDir temp;
  std::string root = temp.Subdir("root");
  REQUIRE(MkdirAll(root + "/was_dir/child").ok());
  WriteHostFile(root + "/was_dir/child/file", "old");
  WriteHostFile(root + "/was_file", "old");
  REQUIRE(MkdirAll(root + "/kept_dir").ok());
  WriteHostFile(root + "/kept_dir/old", "stays");
  WriteHostFile(root + "/target", "original");
  REQUIRE(link((root + "/target").c_str(), (root + "/other_link").c_str()) == 0);
  REQUIRE(symlink("target", (root + "/was_symlink").c_str()) == 0);
  std::string tar = BuildTar({File("was_dir", "now a file"), Dir("was_file", 0750), Dir("kept_dir", 0711),
                              File("other_link", "replaced"), File("was_symlink", "not through the link")});
  REQUIRE(ApplyBytes(tar, Compression::kNone, root, Merged()).ok());
  CHECK(ReadHostFile(root + "/was_dir") == "now a file");
  CHECK(S_ISDIR(Lstat(root + "/was_file").st_mode));
  CHECK((Lstat(root + "/was_file").st_mode & 0777) == 0750);
  CHECK((Lstat(root + "/kept_dir").st_mode & 0777) == 0711);
  CHECK(ReadHostFile(root + "/kept_dir/old") == "stays");
  // A hardlinked file is replaced, not truncated: its other name keeps the old content.
  CHECK(ReadHostFile(root + "/other_link") == "replaced");
  CHECK(ReadHostFile(root + "/target") == "original");
  CHECK(S_ISREG(Lstat(root + "/was_symlink").st_mode));
}

TEST_CASE("Missing parents are created, copying attributes from the lower layers") {
  TempDir temp;
  std::string lower = temp.Subdir("lower");
  REQUIRE(MkdirAll(lower + "/srv/data").ok());
  REQUIRE(chmod((lower + "/srv/data").c_str(), 0710) == 0);
  REQUIRE(chown((lower + "/srv/data").c_str(), 33, 34) == 0);
  struct timespec times[2] = {{1111111111, 0}, {1222222222, 0}};
  REQUIRE(utimensat(AT_FDCWD, (lower + "/srv/data").c_str(), times, 0) == 0);
  std::string tar = BuildTar({File("srv/data/new", "n"), File("opt/tool/bin", "b")});
  std::string upper = temp.Subdir("upper");
  ApplyOptions options = Overlay();
  options.lower_dirs = {lower};
  REQUIRE(ApplyBytes(tar, Compression::kNone, upper, options).ok());
  struct stat data = Lstat(upper + "/srv/data");
  CHECK((data.st_mode & 07777) == 0710);
  CHECK(data.st_uid == 33);
  CHECK(data.st_gid == 34);
  CHECK(data.st_mtim.tv_sec == 1222222222);
  struct stat opt = Lstat(upper + "/opt/tool");
  CHECK((opt.st_mode & 07777) == 0755);
  CHECK(opt.st_uid == 0);
}

TEST_CASE("Names that are not ASCII are kept byte for byte") {
  TempDir temp;
  std::string root = temp.Subdir("root");
  std::string name = "caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac";
  std::string latin1 = "na\xefve";  // not UTF-8 at all
  auto result = ApplyBytes(BuildTar({File(name, "utf8")}), Compression::kNone, root, Overlay());
  REQUIRE(result.ok());
  CHECK(ReadHostFile(root + "/" + name) == "utf8");
  REQUIRE(ApplyBytes(BuildTar({File(latin1, "bytes")}, TarFormat::kGnu), Compression::kNone, root, Overlay()).ok());
  CHECK(ReadHostFile(root + "/" + latin1) == "bytes");
  // Go's writer: a UTF-8 pax path record, unpacked here in the C locale the daemon runs in.
  std::string go_name = "go-\xc3\xbc\xc3\xb1\xc3\xaf";
  REQUIRE(setlocale(LC_ALL, "C.UTF-8") != nullptr);
  std::string go_tar = BuildTar({File(go_name, "go"), Symlink("go-link-\xc3\xa9", go_name)}, TarFormat::kPaxUtf8);
  setlocale(LC_ALL, "C");
  REQUIRE(go_tar.find("path=") != std::string::npos);
  REQUIRE(ApplyBytes(go_tar, Compression::kNone, root, Overlay()).ok());
  CHECK(ReadHostFile(root + "/" + go_name) == "go");
  CHECK(ReadHostFile(root + "/go-link-\xc3\xa9") == "go");
}

TEST_CASE("SyncFilesystem syncs and names a missing directory") {
  TempDir temp;
  CHECK(SyncFilesystem(temp.path()).ok());
  absl::Status missing = SyncFilesystem(temp / "missing");
  REQUIRE(!missing.ok());
  CHECK(missing.code() == absl::StatusCode::kNotFound);
}

TEST_CASE("docker cp's options: whiteout names are files, one owner for all, no directory replaced by a file") {
  TempDir temp;
  std::string root = temp.Subdir("root");
  WriteHostFile(root + "/keep", "kept");
  REQUIRE(MkdirAll(root + "/dir").ok());
  ApplyOptions cp = Merged();
  cp.whiteouts = false;
  cp.owner = std::make_pair(uid_t{0}, gid_t{0});
  cp.no_overwrite_dir_non_dir = true;
  TarEntry owned = File("owned", "x");
  owned.uid = 1234;
  owned.gid = 5678;
  REQUIRE(ApplyBytes(BuildTar({Whiteout(".wh.keep"), owned, File("keep", "replaced")}), Compression::kNone, root, cp).ok());
  CHECK(ReadHostFile(root + "/keep") == "replaced");
  CHECK(ReadHostFile(root + "/.wh.keep").empty());
  CHECK(Lstat(root + "/owned").st_uid == 0);
  CHECK(Lstat(root + "/owned").st_gid == 0);

  auto file_over_dir = ApplyBytes(BuildTar({File("dir", "file")}), Compression::kNone, root, cp);
  CHECK(file_over_dir.status().message() == "entry \"dir\": cannot overwrite directory \"dir\" with non-directory");
  auto dir_over_file = ApplyBytes(BuildTar({Dir("keep")}), Compression::kNone, root, cp);
  CHECK(dir_over_file.status().message() == "entry \"keep/\": cannot overwrite non-directory \"keep\" with directory");
  CHECK(S_ISDIR(Lstat(root + "/dir").st_mode));

  // Without the options, the same tar is a layer: the whiteout deletes, the owner is the tar's.
  REQUIRE(ApplyBytes(BuildTar({Whiteout(".wh.keep"), owned}), Compression::kNone, root, Merged()).ok());
  CHECK(access((root + "/keep").c_str(), F_OK) != 0);
  CHECK(Lstat(root + "/owned").st_uid == 1234);
}
