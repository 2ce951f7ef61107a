#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "common/file_util.h"
#include "common/unique_fd.h"
#include "containerd/archive/apply.h"
#include "containerd/archive/diff.h"
#include "containerd/archive/tests/test_util.h"

using namespace liman;
using namespace liman::containerd::archive;
using namespace liman::containerd::archive::testing;

namespace {

// A layer with every kind of entry, whiteouts, an opaque directory, hardlinks and xattrs; whole
// second times, which is what a written layer keeps.
std::vector<TarEntry> RichLayer() {
  TarEntry owned = File("home/u/.profile", "export A=1\n", 0640);
  owned.uid = 1000;
  owned.gid = 100;
  TarEntry capable = File("usr/bin/ping", "ELF", 04755);
  uint32_t cap[5] = {0x02000001, 1u << 13, 0, 0, 0};
  capable.xattrs = {{"security.capability", std::string(reinterpret_cast<const char*>(cap), sizeof cap)},
                    {"user.note", "n"}};
  TarEntry home = Dir("home/u", 0750);
  home.uid = 1000;
  home.gid = 100;
  home.mtime = 1650000000;
  return {Dir("etc"),
          File("etc/hostname", "box\n"),
          File("etc/caf\xc3\xa9", "utf-8 name"),
          File("etc/na\xefve", "latin-1 name"),
          File("etc/" + std::string(180, 'l'), "long name"),
          Whiteout("etc/.wh.motd"),
          Dir("home"),
          home,
          owned,
          Dir("usr"),
          Dir("usr/bin"),
          capable,
          File("usr/bin/tool", std::string(200000, 't'), 0755),
          Hardlink("usr/bin/tool2", "usr/bin/tool"),
          Hardlink("usr/bin/tool3", "usr/bin/tool"),
          Symlink("usr/bin/t", "tool"),
          Dir("var"),
          Dir("var/cache", 0700),
          Whiteout("var/cache/.wh..wh..opq"),
          File("var/cache/fresh", "f"),
          Whiteout(".wh.old_dir"),
          Dir("dev"),
          Node("dev/tty", S_IFCHR, 5, 0),
          Node("dev/sda", S_IFBLK, 8, 0),
          Node("dev/fifo", S_IFIFO)};
}

std::set<std::string> EntryNames(const std::string& tar) {
  std::set<std::string> names;
  ::archive* reader = archive_read_new();
  archive_read_support_format_tar(reader);
  REQUIRE(archive_read_open_memory(reader, tar.data(), tar.size()) == ARCHIVE_OK);
  archive_entry* entry;
  while (archive_read_next_header(reader, &entry) == ARCHIVE_OK) names.insert(archive_entry_pathname(entry));
  archive_read_free(reader);
  return names;
}

}  // namespace

TEST_CASE("WriteLayerFromUpper round-trips an applied layer") {
  for (Compression compression : {Compression::kGzip, Compression::kZstd, Compression::kNone}) {
    INFO("compression " << CompressionName(compression));
    TempDir temp;
    std::string upper = temp.Subdir("upper");
    REQUIRE(ApplyBytes(BuildTar(RichLayer()), Compression::kNone, upper, Overlay()).ok());

    std::string layer;
    auto written = WriteLayerFromUpper(upper, compression, [&](std::string_view bytes) {
      layer.append(bytes);
      return absl::OkStatus();
    });
    REQUIRE(written.ok());
    CHECK(written->digest == Sha256Digest(layer));
    CHECK(written->size == static_cast<int64_t>(layer.size()));
    CHECK(DetectCompression(layer) == compression);

    // Overlay's whiteouts went back to the OCI form.
    std::string tar = compression == Compression::kGzip ? GunzipAll(layer) : std::string();
    if (compression == Compression::kNone) tar = layer;
    if (!tar.empty()) {
      CHECK(written->diff_id == Sha256Digest(tar));
      std::set<std::string> names = EntryNames(tar);
      CHECK(names.count("etc/.wh.motd") == 1);
      CHECK(names.count(".wh.old_dir") == 1);
      CHECK(names.count("var/cache/.wh..wh..opq") == 1);
      CHECK(names.count("etc/motd") == 0);
    }

    // Applying what was written gives the same upper, and its diff_id is what was reported.
    std::string again = temp.Subdir("again");
    auto applied = ApplyBytes(layer, compression, again, Overlay());
    REQUIRE(applied.ok());
    CHECK(applied->diff_id == written->diff_id);
    CHECK(Describe(Snapshot(again)) == Describe(Snapshot(upper)));
  }
}

TEST_CASE("WriteLayerFromUpper of a live overlay: changes made through the mount become the layer") {
  TempDir temp;
  std::string lower = temp.Subdir("lower");
  REQUIRE(ApplyBytes(BuildTar({Dir("etc"), File("etc/motd", "hi"), File("etc/passwd", "root"), Dir("opt"),
                               File("opt/a", "a"), File("opt/b", "b")}),
                     Compression::kNone, lower, Merged())
              .ok());
  std::string upper = temp.Subdir("upper");
  std::string merged = temp.Subdir("merged");
  {
    OverlayMount mount({lower}, upper, temp.Subdir("work"), merged);
    REQUIRE(mount.ok());
    REQUIRE(unlink((merged + "/etc/motd").c_str()) == 0);
    WriteHostFile(merged + "/etc/passwd", "root\nuser\n");
    REQUIRE(RemoveAll(merged + "/opt").ok());
    REQUIRE(mkdir((merged + "/opt").c_str(), 0755) == 0);  // overlayfs makes it opaque
    WriteHostFile(merged + "/opt/c", "c");
  }
  std::string layer;
  auto written = WriteLayerFromUpper(upper, Compression::kGzip, [&](std::string_view bytes) {
    layer.append(bytes);
    return absl::OkStatus();
  });
  REQUIRE(written.ok());
  std::set<std::string> names = EntryNames(GunzipAll(layer));
  CHECK(names.count("etc/.wh.motd") == 1);
  CHECK(names.count("etc/passwd") == 1);
  CHECK(names.count("opt/.wh..wh..opq") == 1);
  CHECK(names.count("opt/c") == 1);

  // lower + the written layer, unpacked as a merged tree, is what the mount showed.
  std::string flat = temp.Subdir("flat");
  REQUIRE(ApplyBytes(BuildTar({Dir("etc"), File("etc/motd", "hi"), File("etc/passwd", "root"), Dir("opt"),
                               File("opt/a", "a"), File("opt/b", "b")}),
                     Compression::kNone, flat, Merged())
              .ok());
  REQUIRE(ApplyBytes(layer, Compression::kGzip, flat, Merged()).ok());
  CHECK(!PathExists(flat + "/etc/motd"));
  CHECK(ReadHostFile(flat + "/etc/passwd") == "root\nuser\n");
  CHECK(!PathExists(flat + "/opt/a"));
  CHECK(ReadHostFile(flat + "/opt/c") == "c");
}

TEST_CASE("WriteLayerFromUpper refuses an upper that depends on its lowers (redirect_dir, metacopy)") {
  TempDir temp;
  std::string upper = temp.Subdir("upper");
  REQUIRE(MkdirAll(upper + "/renamed").ok());
  REQUIRE(setxattr((upper + "/renamed").c_str(), "trusted.overlay.redirect", "/old", 4, 0) == 0);
  auto written = WriteLayerFromUpper(upper, Compression::kGzip, [](std::string_view) { return absl::OkStatus(); });
  REQUIRE(!written.ok());
  CHECK(written.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(written.status().message()).find("renamed") != std::string::npos);
}

TEST_CASE("WriteLayerFromUpper passes on a sink error and names a missing directory") {
  TempDir temp;
  std::string upper = temp.Subdir("upper");
  REQUIRE(ApplyBytes(BuildTar({File("big", std::string(1 << 20, 'b'))}), Compression::kNone, upper, Overlay()).ok());
  auto failed = WriteLayerFromUpper(upper, Compression::kNone,
                                    [](std::string_view) { return absl::UnavailableError("disk full"); });
  REQUIRE(!failed.ok());
  CHECK(failed.status().code() == absl::StatusCode::kUnavailable);
  CHECK(std::string(failed.status().message()).find("disk full") != std::string::npos);
  auto missing = WriteLayerFromUpper(temp / "missing", Compression::kGzip, [](std::string_view) { return absl::OkStatus(); });
  REQUIRE(!missing.ok());
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
}

namespace {

std::vector<TarEntry> BaseTree() {
  return {Dir("etc"),          File("etc/motd", "hello"),     File("etc/passwd", "root"),
          File("etc/same", "unchanged"), File("etc/mode", "m", 0644), Symlink("etc/link", "motd"),
          Dir("opt"),          File("opt/a", "a"),            Dir("opt/sub"),
          File("opt/sub/b", "b"), File("swap", "was a file"), Dir("var"),
          Dir("var/empty")};
}

std::string WriteTreesLayer(const std::string& lower, const std::string& upper, Compression compression) {
  std::string layer;
  auto written = WriteLayerFromTrees(lower, upper, compression, [&](std::string_view bytes) {
    layer.append(bytes);
    return absl::OkStatus();
  });
  REQUIRE(written.ok());
  CHECK(written->digest == Sha256Digest(layer));
  return layer;
}

}  // namespace

TEST_CASE("WriteLayerFromTrees: the changes between two trees, applied to the lower, give the upper") {
  TempDir temp;
  std::string lower = temp.Subdir("lower");
  std::string upper = temp.Subdir("upper");
  REQUIRE(ApplyBytes(BuildTar(BaseTree()), Compression::kNone, lower, Merged()).ok());
  REQUIRE(ApplyBytes(BuildTar(BaseTree()), Compression::kNone, upper, Merged()).ok());

  // Same size and the same whole-second mtime: only the content tells this change apart.
  struct stat before;
  REQUIRE(stat((upper + "/etc/motd").c_str(), &before) == 0);
  WriteHostFile(upper + "/etc/motd", "HELLO");
  struct timespec times[2] = {before.st_atim, before.st_mtim};
  REQUIRE(utimensat(AT_FDCWD, (upper + "/etc/motd").c_str(), times, 0) == 0);
  WriteHostFile(upper + "/etc/passwd", "root\nuser\n");
  REQUIRE(chmod((upper + "/etc/mode").c_str(), 0600) == 0);
  REQUIRE(unlink((upper + "/etc/link").c_str()) == 0);
  REQUIRE(symlink("passwd", (upper + "/etc/link").c_str()) == 0);
  REQUIRE(RemoveAll(upper + "/opt/sub").ok());
  REQUIRE(unlink((upper + "/swap").c_str()) == 0);
  REQUIRE(mkdir((upper + "/swap").c_str(), 0755) == 0);
  WriteHostFile(upper + "/swap/inside", "now a directory");
  REQUIRE(mkdir((upper + "/new").c_str(), 0700) == 0);
  WriteHostFile(upper + "/new/file", "new");

  for (Compression compression : {Compression::kGzip, Compression::kNone}) {
    INFO("compression " << CompressionName(compression));
    std::string layer = WriteTreesLayer(lower, upper, compression);
    std::string tar = compression == Compression::kGzip ? GunzipAll(layer) : layer;
    std::set<std::string> names = EntryNames(tar);
    // Unchanged entries (etc/same, opt/a, var) are left out; directories are written as "dir/".
    CHECK(names == std::set<std::string>{"etc/", "etc/motd", "etc/passwd", "etc/mode", "etc/link", "opt/",
                                         "opt/.wh.sub", "swap/", "swap/inside", "new/", "new/file"});

    std::string flat = temp.Subdir("flat-" + std::string(CompressionName(compression)));
    REQUIRE(ApplyBytes(BuildTar(BaseTree()), Compression::kNone, flat, Merged()).ok());
    REQUIRE(ApplyBytes(layer, compression, flat, Merged()).ok());
    CHECK(Describe(Snapshot(flat, /*with_times=*/false)) == Describe(Snapshot(upper, /*with_times=*/false)));
  }
}

TEST_CASE("WriteLayerFromTrees: identical trees give an empty layer; a missing tree is named") {
  TempDir temp;
  std::string lower = temp.Subdir("lower");
  std::string upper = temp.Subdir("upper");
  REQUIRE(ApplyBytes(BuildTar(BaseTree()), Compression::kNone, lower, Merged()).ok());
  REQUIRE(ApplyBytes(BuildTar(BaseTree()), Compression::kNone, upper, Merged()).ok());
  CHECK(EntryNames(WriteTreesLayer(lower, upper, Compression::kNone)).empty());

  auto missing = WriteLayerFromTrees(lower, upper + "/nope", Compression::kNone,
                                     [](std::string_view) { return absl::OkStatus(); });
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("nope") != std::string_view::npos);
}

TEST_CASE("WriteEntryTar writes one entry under its new name, a directory with its tree, a symlink as itself") {
  TempDir temp;
  std::string root = temp.Subdir("root");
  REQUIRE(ApplyBytes(BuildTar(RichLayer()), Compression::kNone, root, Merged()).ok());
  UniqueFd usr(open((root + "/usr").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(usr);
  auto tar_of = [&](int dir_fd, const std::string& name, const std::string& entry_name) {
    std::string tar;
    absl::Status status = WriteEntryTar(dir_fd, name, entry_name, [&](std::string_view bytes) {
      tar.append(bytes);
      return absl::OkStatus();
    });
    REQUIRE(status.ok());
    return tar;
  };

  // The directory "usr/bin" as "tools": unpacked, it is the same tree under the new name.
  std::string bin = tar_of(usr.get(), "bin", "tools");
  CHECK(EntryNames(bin) == std::set<std::string>{"tools/", "tools/ping", "tools/t", "tools/tool", "tools/tool2", "tools/tool3"});
  std::string copy = temp.Subdir("copy");
  REQUIRE(ApplyBytes(bin, Compression::kNone, copy, Merged()).ok());
  CHECK(Snapshot(copy + "/tools") == Snapshot(root + "/usr/bin"));

  // A symlink is the link itself; a file alone is one entry.
  UniqueFd usr_bin(open((root + "/usr/bin").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  CHECK(EntryNames(tar_of(usr_bin.get(), "t", "t")) == std::set<std::string>{"t"});
  std::string single = temp.Subdir("single");
  REQUIRE(ApplyBytes(tar_of(usr_bin.get(), "t", "t"), Compression::kNone, single, Merged()).ok());
  char target[16] = {};
  CHECK(readlink((single + "/t").c_str(), target, sizeof target - 1) == 4);
  CHECK(EntryNames(tar_of(usr_bin.get(), "tool", "renamed")) == std::set<std::string>{"renamed"});

  // "." names the directory itself: its contents come as "./name".
  CHECK(EntryNames(tar_of(usr_bin.get(), ".", ".")).count("./tool") == 1);

  absl::Status missing = WriteEntryTar(usr.get(), "nothing", "nothing", [&](std::string_view) { return absl::OkStatus(); });
  CHECK(missing.message() == "lstat \"nothing\": no such file or directory");
}
