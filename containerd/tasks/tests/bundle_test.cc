#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "common/file_util.h"
#include "common/mount.h"
#include "common/tests/temp_dir.h"
#include "containerd/tasks/bundle.h"

using namespace liman;
using namespace liman::containerd::tasks;

namespace {

// A temporary directory whose bundle's rootfs may be mounted: unmounted before the removal.
class BundleDir : public liman::test_support::TempDir {
 public:
  BundleDir() : TempDir("liman-bundle") {}
  ~BundleDir() { (void)UnmountAll(JoinPath(path(), "state/ns/c1/rootfs")); }
};

mode_t ModeOf(const std::string& path) {
  struct stat st;
  REQUIRE(lstat(path.c_str(), &st) == 0);
  return st.st_mode;
}

}  // namespace

TEST_CASE("a bundle is laid out as containerd lays it out", "[bundle]") {
  BundleDir dir;
  BundleRoots roots{JoinPath(dir.path(), "state"), JoinPath(dir.path(), "root")};
  absl::StatusOr<Bundle> bundle = CreateBundle(roots, "ns", "c1", R"({"ociVersion":"1.0.2"})");
  REQUIRE(bundle.ok());
  CHECK(bundle->path == JoinPath(dir.path(), "state/ns/c1"));
  CHECK((ModeOf(bundle->path) & 07777) == 0700);
  CHECK((ModeOf(JoinPath(dir.path(), "state/ns")) & 07777) == 0711);
  CHECK((ModeOf(JoinPath(bundle->path, "rootfs")) & 07777) == 0711);
  CHECK(*ReadFile(JoinPath(bundle->path, "config.json")) == R"({"ociVersion":"1.0.2"})");
  CHECK(S_ISLNK(ModeOf(JoinPath(bundle->path, "work"))));
  CHECK(S_ISDIR(ModeOf(JoinPath(dir.path(), "root/ns/c1"))));

  absl::StatusOr<Bundle> again = CreateBundle(roots, "ns", "c1", "{}");
  CHECK(again.status().code() == absl::StatusCode::kAlreadyExists);

  // A mount left on rootfs is undone; bundle and work directory go.
  REQUIRE(MountAll({{"tmpfs", "tmpfs", "", {"size=1m"}}}, JoinPath(bundle->path, "rootfs")).ok());
  REQUIRE(DeleteBundle(bundle->path).ok());
  CHECK(!PathExists(bundle->path));
  CHECK(!PathExists(JoinPath(dir.path(), "root/ns/c1")));
  CHECK(!PathExists(JoinPath(dir.path(), "state/ns/.c1")));
  CHECK(DeleteBundle(bundle->path).ok());  // already gone: fine
}

TEST_CASE("user-namespaced specs get a bundle their root group can enter", "[bundle]") {
  BundleDir dir;
  BundleRoots roots{JoinPath(dir.path(), "state"), ""};
  absl::StatusOr<Bundle> bundle = CreateBundle(
      roots, "ns", "c2",
      R"({"linux":{"gidMappings":[{"containerID":1,"hostID":5000,"size":1},{"containerID":0,"hostID":100000,"size":65536}]}})");
  REQUIRE(bundle.ok());
  struct stat st;
  REQUIRE(stat(bundle->path.c_str(), &st) == 0);
  CHECK(st.st_gid == 100000);
  CHECK((st.st_mode & 07777) == 0710);
  CHECK(!PathExists(JoinPath(bundle->path, "work")));
  REQUIRE(DeleteBundle(bundle->path).ok());
}

TEST_CASE("bad ids and specs leave nothing behind", "[bundle]") {
  BundleDir dir;
  BundleRoots roots{JoinPath(dir.path(), "state"), ""};
  CHECK(CreateBundle(roots, "ns", "../x", "{}").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(CreateBundle(roots, "ns", "", "{}").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(CreateBundle(roots, "bad ns", "c", "{}").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(CreateBundle(roots, "ns", "c3", "not json").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(!PathExists(JoinPath(dir.path(), "state/ns/c3")));
}
