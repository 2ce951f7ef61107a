#include <sys/stat.h>
#include <sys/xattr.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/file_util.h"
#include "containerd/archive/apply.h"
#include "containerd/archive/tests/test_util.h"

using namespace liman;
using namespace liman::containerd::archive;
using namespace liman::containerd::archive::testing;

namespace {

// The tree a lower layer left: what the whiteouts below delete, hide or keep.
void MakeLower(const std::string& lower) {
  REQUIRE(MkdirAll(lower + "/a").ok());
  REQUIRE(chmod((lower + "/a").c_str(), 0751) == 0);
  WriteHostFile(lower + "/a/b", "deleted");
  WriteHostFile(lower + "/a/keep", "kept");
  REQUIRE(MkdirAll(lower + "/d/sub").ok());
  WriteHostFile(lower + "/d/x", "hidden");
  WriteHostFile(lower + "/d/sub/z", "hidden");
  REQUIRE(MkdirAll(lower + "/gone_dir/deeper").ok());
  WriteHostFile(lower + "/gone_dir/deeper/f", "deleted");
}

std::string WhiteoutLayer() {
  return BuildTar({Whiteout("a/.wh.b"), Whiteout(".wh.gone_dir"), Dir("d"), Dir("d/sub"), File("d/sub/new2", "2"),
                   Whiteout("d/.wh..wh..opq"), File("d/new", "1"),
                   // AUFS bookkeeping some old images carry: not content.
                   Dir(".wh..wh.plnk"), File(".wh..wh.plnk/123.456", "aufs")});
}

std::string XattrOf(const std::string& path, const char* name) {
  char value[16];
  ssize_t n = lgetxattr(path.c_str(), name, value, sizeof value);
  return n < 0 ? "<none>" : std::string(value, static_cast<size_t>(n));
}

}  // namespace

TEST_CASE("Merged tree: whiteouts delete, an opaque marker clears what the layer did not bring") {
  TempDir temp;
  std::string root = temp.Subdir("root");
  MakeLower(root);
  REQUIRE(ApplyBytes(WhiteoutLayer(), Compression::kNone, root, Merged()).ok());
  CHECK(!PathExists(root + "/a/b"));
  CHECK(ReadHostFile(root + "/a/keep") == "kept");
  CHECK(!PathExists(root + "/gone_dir"));
  CHECK(!PathExists(root + "/d/x"));
  CHECK(!PathExists(root + "/d/sub/z"));  // d/sub came with the layer, its old content did not
  CHECK(ReadHostFile(root + "/d/sub/new2") == "2");
  CHECK(ReadHostFile(root + "/d/new") == "1");
  CHECK(!PathExists(root + "/.wh..wh.plnk"));
  CHECK(!PathExists(root + "/a/.wh.b"));
}

TEST_CASE("Overlay upper: whiteouts take overlayfs' form and a real overlay mount hides the files") {
  TempDir temp;
  std::string lower = temp.Subdir("lower");
  MakeLower(lower);
  std::string upper = temp.Subdir("upper");
  ApplyOptions options = Overlay();
  options.lower_dirs = {lower};
  REQUIRE(ApplyBytes(WhiteoutLayer(), Compression::kNone, upper, options).ok());

  struct stat st{};
  REQUIRE(lstat((upper + "/a/b").c_str(), &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK(st.st_rdev == 0);
  REQUIRE(lstat((upper + "/gone_dir").c_str(), &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK(XattrOf(upper + "/d", "trusted.overlay.opaque") == "y");
  CHECK(XattrOf(upper + "/a", "trusted.overlay.opaque") == "<none>");
  CHECK(!PathExists(upper + "/.wh..wh.plnk"));
  // "a" was not in the layer: created with the lower's mode, so the merged view keeps it.
  REQUIRE(lstat((upper + "/a").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0751);

  std::string merged = temp.Subdir("merged");
  OverlayMount mount({lower}, upper, temp.Subdir("work"), merged);
  REQUIRE(mount.ok());
  CHECK(!PathExists(merged + "/a/b"));
  CHECK(ReadHostFile(merged + "/a/keep") == "kept");
  CHECK(!PathExists(merged + "/gone_dir"));
  CHECK(!PathExists(merged + "/d/x"));
  CHECK(!PathExists(merged + "/d/sub/z"));
  CHECK(ReadHostFile(merged + "/d/sub/new2") == "2");
  CHECK(ReadHostFile(merged + "/d/new") == "1");

  // The same layer applied to a merged copy of the lower gives the tree overlayfs shows.
  std::string flat = temp.Subdir("flat");
  MakeLower(flat);
  REQUIRE(ApplyBytes(WhiteoutLayer(), Compression::kNone, flat, Merged()).ok());
  CHECK(Describe(Snapshot(merged, /*with_times=*/false)) == Describe(Snapshot(flat, /*with_times=*/false)));
}

TEST_CASE("Overlay upper: a whiteout replaces what the same layer put there and keeps its owner and time") {
  TempDir temp;
  std::string upper = temp.Subdir("upper");
  TarEntry whiteout = Whiteout("etc/.wh.motd");
  whiteout.uid = 7;
  whiteout.mtime = 1234567890;
  REQUIRE(ApplyBytes(BuildTar({Dir("etc"), File("etc/motd", "x"), whiteout}), Compression::kNone, upper, Overlay()).ok());
  struct stat st{};
  REQUIRE(lstat((upper + "/etc/motd").c_str(), &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK(st.st_uid == 7);
  CHECK(st.st_mtim.tv_sec == 1234567890);
}
