#include "common/read_only_view.h"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/file_util.h"
#include "common/tests/temp_dir.h"
#include "common/unique_fd.h"

using namespace liman;

TEST_CASE("the overlay view of a binary reads the same bytes and cannot be written", "[read_only_view]") {
  if (geteuid() != 0) {
    WARN("skipped: not root: overlayfs needs CAP_SYS_ADMIN");
    return;
  }
  test_support::TempDir binaries("liman-view-bin"), empty("liman-view-empty");
  std::string binary = JoinPath(binaries.path(), "tool");
  const std::string original = "#!/bin/sh\necho original\n";
  REQUIRE(WriteFileAtomic(binary, original, 0755).ok());
  // A file of the same name in the lower layer below must not mask the binary.
  REQUIRE(WriteFileAtomic(JoinPath(empty.path(), "tool"), "masked", 0755).ok());

  auto view = OpenReadOnlyOverlayView(binary, empty.path());
  REQUIRE(view.ok());
  struct statfs fs;
  REQUIRE(fstatfs(view->get(), &fs) == 0);
  CHECK(fs.f_type == OVERLAYFS_SUPER_MAGIC);
  CHECK((fs.f_flags & ST_RDONLY) != 0);
  CHECK(OnReadOnlyOverlay(view->get()));
  char bytes[64] = {};
  CHECK(pread(view->get(), bytes, sizeof bytes - 1, 0) == static_cast<ssize_t>(original.size()));
  CHECK(std::string(bytes) == original);
  // What a container does with /proc/<pid>/exe: reopen the magic link for writing.
  std::string magic = "/proc/self/fd/" + std::to_string(view->get());
  CHECK(open(magic.c_str(), O_WRONLY | O_CLOEXEC) == -1);
  CHECK(errno == EROFS);
  CHECK(open(magic.c_str(), O_RDWR | O_TRUNC | O_CLOEXEC) == -1);
  CHECK(*ReadFile(binary) == original);
  UniqueFd plain(open(binary.c_str(), O_RDONLY | O_CLOEXEC));
  CHECK_FALSE(OnReadOnlyOverlay(plain.get()));
}

TEST_CASE("an overlay view over nested directories fails and says why", "[read_only_view]") {
  if (geteuid() != 0) {
    WARN("skipped: not root: overlayfs needs CAP_SYS_ADMIN");
    return;
  }
  test_support::TempDir binaries("liman-view-bin");
  std::string binary = JoinPath(binaries.path(), "tool");
  REQUIRE(WriteFileAtomic(binary, "x", 0755).ok());
  REQUIRE(MkdirAll(JoinPath(binaries.path(), "inner")).ok());
  auto nested = OpenReadOnlyOverlayView(binary, JoinPath(binaries.path(), "inner"));
  REQUIRE_FALSE(nested.ok());
  CHECK(std::string(nested.status().message()).find("overlay lowerdir=") != std::string::npos);
  auto relative = OpenReadOnlyOverlayView("tool", binaries.path());
  REQUIRE_FALSE(relative.ok());
  CHECK(std::string(relative.status().message()).find("\"tool\"") != std::string::npos);
}
