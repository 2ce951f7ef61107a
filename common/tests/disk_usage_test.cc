#include "common/disk_usage.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/file_util.h"
#include "common/tests/temp_dir.h"

namespace liman {
namespace {

std::string Subdir(const std::string& parent, const std::string& name) {
  std::string path = JoinPath(parent, name);
  REQUIRE(mkdir(path.c_str(), 0755) == 0);
  return path;
}

int64_t AllocatedBytes(const std::string& path) {
  struct stat st;
  REQUIRE(lstat(path.c_str(), &st) == 0);
  return static_cast<int64_t>(st.st_blocks) * 512;
}

TEST_CASE("DiskUsage counts allocated blocks and distinct inodes") {
  test_support::TempDir temp("liman-du");
  std::string dir = temp.path();
  std::string root = Subdir(dir, "root");

  DiskUsage empty = MeasureDiskUsage(root).value();
  CHECK(empty.inodes == 1);
  CHECK(empty.size == AllocatedBytes(root));

  std::string sub = Subdir(root, "sub");
  REQUIRE(WriteFileAtomic(JoinPath(sub, "file"), std::string(100000, 'x')).ok());
  REQUIRE(link(JoinPath(sub, "file").c_str(), JoinPath(root, "hardlink").c_str()) == 0);
  // A symlink counts as itself, never as what it points to.
  REQUIRE(WriteFileAtomic(JoinPath(dir, "outside"), std::string(500000, 'y')).ok());
  REQUIRE(symlink(JoinPath(dir, "outside").c_str(), JoinPath(root, "symlink").c_str()) == 0);

  DiskUsage usage = MeasureDiskUsage(root).value();
  CHECK(usage.inodes == 4);  // root, sub, file (twice linked), symlink
  CHECK(usage.size == AllocatedBytes(root) + AllocatedBytes(sub) + AllocatedBytes(JoinPath(sub, "file")) +
                          AllocatedBytes(JoinPath(root, "symlink")));
  CHECK(usage.size >= 100000);
  CHECK(usage.size < 500000);
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("DiskUsage of a missing directory is NotFound") {
  test_support::TempDir temp("liman-du");
  std::string dir = temp.path();
  absl::StatusOr<DiskUsage> usage = MeasureDiskUsage(JoinPath(dir, "missing"));
  CHECK(usage.status().code() == absl::StatusCode::kNotFound);
  CHECK(usage.status().message().find("missing") != std::string_view::npos);
  REQUIRE(RemoveAll(dir).ok());
}

}  // namespace
}  // namespace liman
