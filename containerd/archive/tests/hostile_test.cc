// Tars that try to reach outside the root. Each case checks the outcome (an error naming the
// entry, or the entry landing inside the root where containerd would put it too) AND that the
// directory beside the root, the one a naive extractor would write to, did not change.
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/file_util.h"
#include "containerd/archive/apply.h"
#include "containerd/archive/tests/test_util.h"

using namespace liman;
using namespace liman::containerd::archive;
using namespace liman::containerd::archive::testing;

namespace {

// temp/root is unpacked into; temp/outside holds a victim file and directory.
class Sandbox {
 public:
  Sandbox() : root_(temp_.Subdir("root")), outside_(temp_.Subdir("outside")) {
    WriteHostFile(outside_ + "/victim", "precious");
    REQUIRE(MkdirAll(outside_ + "/dir/inner").ok());
    WriteHostFile(outside_ + "/dir/inner/file", "precious too");
    before_ = Describe(Snapshot(outside_));
  }
  const std::string& root() const { return root_; }
  const std::string& outside() const { return outside_; }

  absl::StatusOr<ApplyResult> Apply(const std::vector<TarEntry>& entries, const ApplyOptions& options) {
    return ApplyBytes(GzipMember(BuildTar(entries)), Compression::kGzip, root_, options);
  }
  void CheckOutsideUnchanged() const {
    CHECK(Describe(Snapshot(outside_)) == before_);
    CHECK(ReadHostFile(outside_ + "/victim") == "precious");
    auto names = ListDir(temp_.path());
    REQUIRE(names.ok());
    CHECK(names->size() == 2);  // root and outside, nothing new beside them
  }

 private:
  TempDir temp_;
  std::string root_;
  std::string outside_;
  std::string before_;
};

void CheckRefused(const absl::StatusOr<ApplyResult>& result, const std::string& entry, const std::string& words) {
  REQUIRE(!result.ok());
  std::string message(result.status().message());
  INFO(message);
  CHECK(message.find("entry \"" + entry + "\"") != std::string::npos);
  CHECK(message.find(words) != std::string::npos);
}

}  // namespace

TEST_CASE("Hostile: ../ names are refused") {
  for (ApplyOptions options : {Overlay(), Merged()}) {
    Sandbox box;
    CheckRefused(box.Apply({File("../outside/victim", "pwned")}, options), "../outside/victim", "escapes the layer root");
    box.CheckOutsideUnchanged();
    Sandbox nested;
    CheckRefused(nested.Apply({Dir("a"), File("a/../../outside/new", "pwned")}, options), "a/../../outside/new",
                 "escapes");
    nested.CheckOutsideUnchanged();
  }
}

TEST_CASE("Hostile: absolute names are taken relative to the root, as containerd does") {
  Sandbox box;
  std::string absolute = box.outside() + "/victim";  // e.g. /tmp/liman-archive-test-X/outside/victim
  REQUIRE(box.Apply({File(absolute, "inside")}, Overlay()).ok());
  CHECK(ReadHostFile(box.root() + absolute) == "inside");
  box.CheckOutsideUnchanged();
}

TEST_CASE("Hostile: a symlinked parent pointing outside does not lead outside") {
  for (const std::string& target : {std::string("ABSOLUTE"), std::string("../../../../../../outside")}) {
    for (ApplyOptions options : {Overlay(), Merged()}) {
      Sandbox box;
      std::string link_target = target == "ABSOLUTE" ? box.outside() : target;
      INFO("symlink target " << link_target);
      // Resolved inside the root the target does not exist: refused, outside untouched.
      CheckRefused(box.Apply({Symlink("escape", link_target), File("escape/victim", "pwned")}, options),
                   "escape/victim", "symlink whose target does not exist in the root");
      box.CheckOutsideUnchanged();
      Sandbox deeper;
      CheckRefused(deeper.Apply({Symlink("escape", link_target), File("escape/dir/inner/file", "pwned")}, options),
                   "escape/dir/inner/file", "symlink");
      deeper.CheckOutsideUnchanged();
    }
  }
}

TEST_CASE("Hostile: a symlink to / followed by writes through it stays in the root") {
  Sandbox box;
  // `etc -> /` then `etc/liman-canary`: containerd resolves this to <root>/liman-canary.
  REQUIRE(box.Apply({Symlink("etc", "/"), File("etc/liman-archive-canary", "inside")}, Overlay()).ok());
  CHECK(ReadHostFile(box.root() + "/liman-archive-canary") == "inside");
  CHECK(!PathExists("/liman-archive-canary"));
  box.CheckOutsideUnchanged();
}

TEST_CASE("Hostile: a file entry after a symlink of the same name replaces the symlink") {
  Sandbox box;
  std::string victim = box.outside() + "/victim";
  REQUIRE(box.Apply({Symlink("x", victim), File("x", "pwned?"), Symlink("y", victim), Hardlink("y", "x"),
                     Symlink("z", box.outside() + "/dir"), Dir("z", 0700), File("z/inner", "in the root")},
                    Overlay())
              .ok());
  struct stat st{};
  REQUIRE(lstat((box.root() + "/x").c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK(ReadHostFile(box.root() + "/x") == "pwned?");
  CHECK(ReadHostFile(box.root() + "/z/inner") == "in the root");
  box.CheckOutsideUnchanged();
}

TEST_CASE("Hostile: hardlinks to targets outside are refused") {
  for (ApplyOptions options : {Overlay(), Merged()}) {
    Sandbox box;
    CheckRefused(box.Apply({Hardlink("h", "../outside/victim")}, options), "h", "escapes the layer root");
    box.CheckOutsideUnchanged();
    Sandbox via_symlink;
    CheckRefused(via_symlink.Apply({Symlink("s", via_symlink.outside()), Hardlink("h", "s/victim")}, options), "h",
                 "hardlink target");
    via_symlink.CheckOutsideUnchanged();
    struct stat st{};
    REQUIRE(stat((via_symlink.outside() + "/victim").c_str(), &st) == 0);
    CHECK(st.st_nlink == 1);
    // A hardlink to a symlink links the symlink itself, which stays harmless inside the root.
    Sandbox to_symlink;
    REQUIRE(to_symlink.Apply({Symlink("s", to_symlink.outside() + "/victim"), Hardlink("h", "s"), File("h", "x")},
                             options)
                .ok());
    to_symlink.CheckOutsideUnchanged();
  }
}

TEST_CASE("Hostile: whiteouts cannot delete or hide anything outside") {
  for (ApplyOptions options : {Overlay(), Merged()}) {
    Sandbox dotdot;
    CheckRefused(dotdot.Apply({Whiteout("a/.wh..."), Whiteout("b")}, options), "a/.wh...", "invalid whiteout name");
    dotdot.CheckOutsideUnchanged();
    Sandbox climbing;
    CheckRefused(climbing.Apply({Whiteout("../outside/.wh.victim")}, options), "../outside/.wh.victim", "escapes");
    climbing.CheckOutsideUnchanged();
    Sandbox empty_name;
    CheckRefused(empty_name.Apply({Whiteout("dir/.wh.")}, options), "dir/.wh.", "invalid whiteout name");
    empty_name.CheckOutsideUnchanged();
    // Through a symlinked parent: resolved inside the root, where there is nothing to delete
    // (merged) or no directory to mark (overlay: refused).
    Sandbox via_symlink;
    auto result = via_symlink.Apply({Symlink("s", via_symlink.outside()), Whiteout("s/.wh.victim"),
                                     Whiteout("s/dir/.wh..wh..opq")},
                                    options);
    if (options.overlay_whiteouts)
      CheckRefused(result, "s/.wh.victim", "symlink whose target does not exist in the root");
    else
      CHECK(result.ok());
    via_symlink.CheckOutsideUnchanged();
  }
}

TEST_CASE("Hostile: a device, fifo or file in the middle of a path is not a directory") {
  for (ApplyOptions options : {Overlay(), Merged()}) {
    Sandbox device;
    CheckRefused(device.Apply({Node("null", S_IFCHR, 1, 3), File("null/x", "x")}, options), "null/x",
                 "not a directory");
    device.CheckOutsideUnchanged();
    Sandbox fifo;
    CheckRefused(fifo.Apply({Node("p", S_IFIFO), Dir("p/d")}, options), "p/d/", "not a directory");
    fifo.CheckOutsideUnchanged();
    Sandbox file;
    CheckRefused(file.Apply({File("f", "x"), Symlink("f/l", "/")}, options), "f/l", "not a directory");
    file.CheckOutsideUnchanged();
  }
}

TEST_CASE("Hostile: overlay's own xattrs from a tar are dropped") {
  Sandbox box;
  TarEntry dir = Dir("d");
  dir.xattrs = {{"trusted.overlay.redirect", "/etc"}, {"trusted.overlay.opaque", "y"}, {"user.fine", "1"}};
  REQUIRE(box.Apply({dir}, Overlay()).ok());
  char value[16];
  CHECK(lgetxattr((box.root() + "/d").c_str(), "trusted.overlay.redirect", value, sizeof value) < 0);
  CHECK(lgetxattr((box.root() + "/d").c_str(), "trusted.overlay.opaque", value, sizeof value) < 0);
  CHECK(lgetxattr((box.root() + "/d").c_str(), "user.fine", value, sizeof value) == 1);
  box.CheckOutsideUnchanged();
}
