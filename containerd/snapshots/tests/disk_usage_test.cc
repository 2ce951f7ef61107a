#include "containerd/snapshots/disk_usage.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/file_util.h"
#include "containerd/snapshots/testsuite.h"

namespace liman::containerd::snapshots {
namespace {

int64_t AllocatedBytes(const std::string& path) {
  struct stat st;
  REQUIRE(lstat(path.c_str(), &st) == 0);
  return static_cast<int64_t>(st.st_blocks) * 512;
}

TEST_CASE("DiskUsage counts allocated blocks and distinct inodes") {
  testsuite::TempDir dir("liman-du-");
  std::string root = dir.Subdir("root");

  SnapshotUsage empty = DiskUsage(root).value();
  CHECK(empty.inodes == 1);
  CHECK(empty.size == AllocatedBytes(root));

  std::string sub = dir.Subdir("root/sub");
  REQUIRE(WriteFileAtomic(JoinPath(sub, "file"), std::string(100000, 'x')).ok());
  REQUIRE(link(JoinPath(sub, "file").c_str(), JoinPath(root, "hardlink").c_str()) == 0);
  // A symlink counts as itself, never as what it points to.
  REQUIRE(WriteFileAtomic(JoinPath(dir.path(), "outside"), std::string(500000, 'y')).ok());
  REQUIRE(symlink(JoinPath(dir.path(), "outside").c_str(), JoinPath(root, "symlink").c_str()) == 0);

  SnapshotUsage usage = DiskUsage(root).value();
  CHECK(usage.inodes == 4);  // root, sub, file (twice linked), symlink
  CHECK(usage.size == AllocatedBytes(root) + AllocatedBytes(sub) + AllocatedBytes(JoinPath(sub, "file")) +
                          AllocatedBytes(JoinPath(root, "symlink")));
  CHECK(usage.size >= 100000);
  CHECK(usage.size < 500000);
}

TEST_CASE("DiskUsage of a missing directory is NotFound") {
  testsuite::TempDir dir("liman-du-");
  absl::StatusOr<SnapshotUsage> usage = DiskUsage(JoinPath(dir.path(), "missing"));
  CHECK(usage.status().code() == absl::StatusCode::kNotFound);
  CHECK(usage.status().message().find("missing") != std::string_view::npos);
}

}  // namespace
}  // namespace liman::containerd::snapshots
