#include "engine/daemon/copy_path.h"

#include <catch2/catch.hpp>

#include "absl/strings/escaping.h"

using namespace liman::engine;

TEST_CASE("docker cp paths: the last element is the entry unless a trailing / or /. resolves it") {
  struct Case {
    const char* path;
    const char* absolute;
    const char* parent;
    const char* name;
    const char* base;
    bool follow;
  };
  for (const Case& c : {Case{"etc", "/etc", "/", "etc", "etc", false},
                        Case{"/etc/passwd", "/etc/passwd", "/etc", "passwd", "passwd", false},
                        Case{"/etc/", "/etc/", "/", "etc", "etc", true},
                        Case{"/etc/.", "/etc/.", "/etc", ".", ".", true},
                        Case{"/a/./b/../c//d", "/a/c/d", "/a/c", "d", "d", false},
                        Case{"/../../x", "/x", "/", "x", "x", false},
                        Case{"/", "/", "", ".", "/", true},
                        Case{".", "/", "", ".", ".", true}}) {
    CopyPath parsed = ParseCopyPath(c.path);
    INFO(c.path);
    CHECK(parsed.absolute == c.absolute);
    CHECK(parsed.parent == c.parent);
    CHECK(parsed.name == c.name);
    CHECK(parsed.base == c.base);
    CHECK(parsed.follow == c.follow);
  }
}

TEST_CASE("docker cp's stat: Go's FileMode bits and the base64 header") {
  CHECK(GoFileMode(S_IFREG | 0644) == 0644);
  CHECK(GoFileMode(S_IFDIR | 0755) == ((1u << 31) | 0755));
  CHECK(GoFileMode(S_IFLNK | 0777) == ((1u << 27) | 0777));
  CHECK(GoFileMode(S_IFCHR | 0666) == ((1u << 26) | (1u << 21) | 0666));
  CHECK(GoFileMode(S_IFBLK | 0660) == ((1u << 26) | 0660));
  CHECK(GoFileMode(S_IFIFO | 0600) == ((1u << 25) | 0600));
  CHECK(GoFileMode(S_IFREG | S_ISUID | 0755) == ((1u << 23) | 0755));
  CHECK(GoFileMode(S_IFDIR | S_ISVTX | 0777) == ((1u << 31) | (1u << 20) | 0777));

  struct stat st = {};
  st.st_mode = S_IFREG | 0640;
  st.st_size = 12;
  st.st_mtim.tv_sec = 1700000000;
  st.st_mtim.tv_nsec = 5;
  nlohmann::json stat = CopyPathStat("hostname", st, "");
  CHECK(stat.dump() == R"({"linkTarget":"","mode":416,"mtime":"2023-11-14T22:13:20.000000005Z","name":"hostname","size":12})");
  std::string decoded;
  REQUIRE(absl::Base64Unescape(PathStatHeader(stat), &decoded));
  CHECK(decoded == stat.dump());
}
